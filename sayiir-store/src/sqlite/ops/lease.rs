//! Leases: claim, renew, release, and dropping leases wholesale for worker (un)registration.

use rusqlite::types::Value;
use rusqlite::{Connection, TransactionBehavior};

use crate::sqlite::decode::{self, RECORD_COLS, key_values, record_cols};
use crate::sqlite::fail::{Fail, invalid};
use crate::types::claimable_block_sql;
use crate::{
    BlockKind, Claim, ClaimRequest, Claimed, LeaseHolder, Timestamp, WorkerId, WorkflowKey,
};

/// Parameters for the `VALUES` list of [`key_values`].
pub(in crate::sqlite) fn key_params(known: &[WorkflowKey]) -> Vec<Value> {
    known
        .iter()
        .flat_map(|k| {
            [
                Value::Text(k.workflow.clone()),
                Value::Blob(k.hash.0.to_vec()),
                Value::Blob(k.fingerprint.0.to_vec()),
            ]
        })
        .collect()
}

/// SQLite's `LIMIT` for a count; `-1` (no limit) past `i64::MAX`.
pub(in crate::sqlite) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(-1)
}

/// The SQL condition "a claim may take it as far as its block goes", as the due index's
/// predicate has it (see [`claimable_block_sql`]).
pub(in crate::sqlite) fn claimable_block() -> String {
    claimable_block_sql()
}

/// The query of [`claim`]: `?1` is now, `?2` the limit, then the keys of `known`. The rowid
/// follows the record's columns (at [`ROWID`]).
fn claim_sql(known: &[WorkflowKey]) -> String {
    format!(
        concat!(
            "SELECT ",
            record_cols!(),
            ", rowid FROM sayiir_instances INDEXED BY sayiir_instances_due \
             WHERE status = 0 AND due_at IS NOT NULL AND due_at <= ?1 \
             AND {claimable} \
             AND (lease_owner IS NULL OR lease_until <= ?1) \
             AND (workflow, definition_hash, fingerprint) IN ({keys}) \
             ORDER BY due_at, id LIMIT ?2"
        ),
        claimable = claimable_block(),
        keys = key_values(known, 3),
    )
}

/// The `EXPLAIN QUERY PLAN` lines (details) of [`claim`]'s query for `known`.
pub(in crate::sqlite) fn claim_plan(
    conn: &Connection,
    known: &[WorkflowKey],
) -> Result<Vec<String>, Fail> {
    let mut params = vec![Value::Integer(0), Value::Integer(1)];
    params.extend(key_params(known));
    super::read::explain(conn, &claim_sql(known), params)
}

/// Index of the rowid in [`claim_sql`]'s rows.
const ROWID: usize = RECORD_COLS;

/// Leases up to `req.limit` runnable instances, earliest due first (then by id), each under
/// its next lease generation. A row that does not decode is blocked
/// ([`BlockKind::CorruptRow`], its other columns untouched) in the same transaction, and the
/// claim looks further for the places it took.
pub(in crate::sqlite) fn claim(
    conn: &mut Connection,
    req: ClaimRequest,
) -> Result<Vec<Claimed>, Fail> {
    if req.known.is_empty() || req.limit == 0 {
        return Ok(Vec::new());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sql = claim_sql(&req.known);
    let mut claimed = Vec::new();
    loop {
        let want = req.limit - claimed.len();
        let mut params = vec![Value::Integer(req.now.0), Value::Integer(sql_limit(want))];
        params.extend(key_params(&req.known));
        let (mut good, mut damaged, mut read) = (Vec::new(), Vec::new(), 0);
        {
            let mut stmt = tx.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
            while let Some(row) = rows.next()? {
                read += 1;
                match decode::record(row) {
                    Ok(r) => good.push(r),
                    Err(e) => match decode::damage(&e) {
                        Some(detail) => {
                            let rowid: i64 = row.get(ROWID)?;
                            damaged.push((rowid, format!("the row does not decode: {detail}")));
                        }
                        None => return Err(e),
                    },
                }
            }
        }
        // Leased and blocked before the next round, so that it does not meet them again. The
        // block columns are written apart, and only to clear a version mismatch (a request is
        // kept for the claimer), so that a claim touches no index of blocks.
        let mut lease = tx.prepare_cached(
            "UPDATE sayiir_instances SET lease_owner = ?2, lease_until = ?3, \
             lease_generation = lease_generation + 1 WHERE id = ?1 \
             RETURNING lease_generation",
        )?;
        let mut unblock = tx.prepare_cached(
            "UPDATE sayiir_instances SET blocked_kind = NULL, blocked_reason = NULL, \
             blocked_at = NULL WHERE id = ?1",
        )?;
        for mut record in good {
            let id = record.id.as_str();
            let raw: i64 = lease.query_row(
                rusqlite::params![id, req.owner.0, req.lease_until.0],
                |row| row.get(0),
            )?;
            let generation = u64::try_from(raw)
                .map_err(|_| invalid(id, format!("negative lease generation {raw}")))?;
            if record
                .blocked
                .as_ref()
                .is_some_and(|b| b.kind == BlockKind::VersionMismatch)
            {
                unblock.execute([id])?;
                record.blocked = None;
            }
            // Read before the claim: a lease not released.
            let took_over = record.lease.is_some();
            record.lease = Some(LeaseHolder {
                owner: req.owner.clone(),
                until: req.lease_until,
                generation,
            });
            claimed.push(Claimed {
                record,
                generation,
                took_over,
            });
        }
        let mut block = tx.prepare_cached(
            "UPDATE sayiir_instances SET blocked_kind = ?2, blocked_reason = ?3, \
             blocked_at = ?4 WHERE rowid = ?1",
        )?;
        for (rowid, reason) in &damaged {
            block.execute(rusqlite::params![
                rowid,
                BlockKind::CorruptRow.code(),
                reason,
                req.now.0
            ])?;
        }
        if damaged.is_empty() || read < want {
            break;
        }
    }
    tx.commit()?;
    Ok(claimed)
}

/// A lease generation as stored; one that does not fit matches no row.
fn generation_to_db(generation: u64) -> i64 {
    i64::try_from(generation).unwrap_or(-1)
}

/// Extends `owner`'s leases by `claims`; returns the claims whose lease it does not hold.
pub(in crate::sqlite) fn renew(
    conn: &mut Connection,
    owner: &WorkerId,
    claims: &[Claim],
    until: Timestamp,
) -> Result<Vec<Claim>, Fail> {
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut lost = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE sayiir_instances SET lease_until = ?3 \
             WHERE id = ?1 AND lease_owner = ?2 AND lease_generation = ?4",
        )?;
        for c in claims {
            let generation = generation_to_db(c.generation);
            if stmt.execute(rusqlite::params![
                c.id.as_str(),
                owner.0,
                until.0,
                generation
            ])? == 0
            {
                lost.push(c.clone());
            }
        }
    }
    tx.commit()?;
    Ok(lost)
}

/// Drops `owner`'s leases by `claims`.
pub(in crate::sqlite) fn release(
    conn: &mut Connection,
    owner: &WorkerId,
    claims: &[Claim],
) -> Result<(), Fail> {
    if claims.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE sayiir_instances SET lease_owner = NULL, lease_until = NULL \
             WHERE id = ?1 AND lease_owner = ?2 AND lease_generation = ?3",
        )?;
        for c in claims {
            let generation = generation_to_db(c.generation);
            stmt.execute(rusqlite::params![c.id.as_str(), owner.0, generation])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Drops every lease `owner` holds.
pub(in crate::sqlite) fn release_owner(
    conn: &mut Connection,
    owner: &WorkerId,
) -> Result<(), Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "UPDATE sayiir_instances SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?1",
    )?
    .execute([owner.0.as_str()])?;
    tx.commit()?;
    Ok(())
}

/// Drops every lease in the database (their holders are dead processes).
pub(in crate::sqlite) fn release_all(conn: &mut Connection) -> Result<usize, Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n = tx
        .prepare_cached(
            "UPDATE sayiir_instances SET lease_owner = NULL, lease_until = NULL \
             WHERE lease_owner IS NOT NULL OR lease_until IS NOT NULL",
        )?
        .execute([])?;
    tx.commit()?;
    Ok(n)
}
