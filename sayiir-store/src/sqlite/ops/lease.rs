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

/// The condition "a claim may take it as far as its state and block go" of both due indexes
/// (without the head-start term of `sayiir_instances_ahead`).
fn claimable_row() -> String {
    format!(
        "status = 0 AND due_at IS NOT NULL AND {}",
        claimable_block()
    )
}

/// The distinct head starts of the instances of namespace `?1` in `sayiir_instances_ahead`
/// (the claimable instances that have one), smallest first: one probe of the index per value and one more
/// (a store without priorities: one probe of an empty index). Not-yet-due instances count
/// too (the walks of [`claim_sql`] then find nothing for their value at the first step).
fn head_starts_sql() -> String {
    let ahead = format!(
        "SELECT head_start_ms FROM sayiir_instances INDEXED BY sayiir_instances_ahead \
         WHERE namespace = ?1 AND {row} AND head_start_ms <> 0",
        row = claimable_row()
    );
    format!(
        "WITH RECURSIVE h(v) AS (\
           SELECT ({ahead} ORDER BY head_start_ms LIMIT 1) \
           UNION ALL \
           SELECT ({ahead} AND head_start_ms > h.v ORDER BY head_start_ms LIMIT 1) \
           FROM h WHERE h.v IS NOT NULL) \
         SELECT v FROM h WHERE v IS NOT NULL"
    )
}

/// The head starts of [`head_starts_sql`], as stored: a value that is not an integer (a
/// damaged row) is walked like the others, so that the claim meets its row, fails to decode it
/// and blocks it ([`BlockKind::CorruptRow`]), instead of failing every claim.
fn head_starts(conn: &Connection, ns: &str) -> Result<Vec<Value>, Fail> {
    let mut stmt = conn.prepare_cached(&head_starts_sql())?;
    let rows = stmt.query_map([ns], |row| row.get::<_, Value>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The most walks of `sayiir_instances_ahead` one claim merges (SQLite allows 500 terms in a
/// compound `SELECT`). Past it (more distinct head starts than that among the claimable
/// instances: many priority levels started under several priority steps), the claim reads
/// every due instance and sorts them by rank: correct, and as slow as the backlog is long.
const MAX_WALKS: usize = 64;

/// The query of [`claim`]: `?1` is now, `?2` the limit, then the keys of `known`, then the
/// namespace (at [`ns_param`]), then the `ahead` head starts. The rowid and the rank follow the record's columns (at [`ROWID`]).
///
/// Without head starts it is one walk of the due index in claim order (as before priorities).
/// With some, it is that walk for the instances without one (`head_start_ms = 0`) and, per
/// head start `h`, a walk of `sayiir_instances_ahead` from `(h, -inf)` to `(h, now)`: the due
/// instances of head start `h`, in due order, which is their rank order (`due_at - h`). Each
/// walk takes its first `?2` rows; the claim takes the first `?2` of their union by
/// `(rank, id)`. That is the first `?2` of all claimable instances: the walks split them (by
/// head start) into disjoint sets, each walk yields its set's first rows in `(rank, id)` order
/// (the plain one's rank is its due time), and a row among the first `?2` overall is among the
/// first `?2` of its own set. No walk reads an instance that is not due.
fn claim_sql(known: &[WorkflowKey], ahead: usize) -> String {
    let keys = key_values(known, 3);
    let common = format!(
        "AND namespace = ?{ns} AND due_at <= ?1 AND (lease_owner IS NULL OR lease_until <= ?1) \
         AND (workflow, definition_hash, fingerprint) IN ({keys})",
        ns = ns_param(known),
    );
    let row = claimable_row();
    if ahead > MAX_WALKS {
        return format!(
            concat!(
                "SELECT ",
                record_cols!(),
                ", rowid, due_at - head_start_ms AS claim_rank FROM sayiir_instances \
                 INDEXED BY sayiir_instances_due WHERE {row} {common} \
                 ORDER BY claim_rank, id LIMIT ?2"
            ),
            row = row,
            common = common,
        );
    }
    if ahead == 0 {
        return format!(
            concat!(
                "SELECT ",
                record_cols!(),
                ", rowid, due_at AS claim_rank FROM sayiir_instances \
                 INDEXED BY sayiir_instances_due WHERE {row} {common} \
                 ORDER BY due_at, id LIMIT ?2"
            ),
            row = row,
            common = common,
        );
    }
    let mut sql = format!(
        concat!(
            "SELECT * FROM (SELECT ",
            record_cols!(),
            ", rowid, due_at AS claim_rank FROM sayiir_instances \
             INDEXED BY sayiir_instances_due WHERE {row} {common} AND head_start_ms = 0 \
             ORDER BY due_at, id LIMIT ?2)"
        ),
        row = row,
        common = common,
    );
    let first = ns_param(known) + 1;
    for i in 0..ahead {
        sql.push_str(&format!(
            concat!(
                " UNION ALL SELECT * FROM (SELECT ",
                record_cols!(),
                ", rowid, due_at - head_start_ms AS claim_rank FROM sayiir_instances \
                 INDEXED BY sayiir_instances_ahead WHERE {row} AND head_start_ms <> 0 \
                 AND head_start_ms = ?{h} {common} ORDER BY due_at, id LIMIT ?2)"
            ),
            row = row,
            h = first + i,
            common = common,
        ));
    }
    sql.push_str(" ORDER BY claim_rank, id LIMIT ?2");
    sql
}

/// The first query of a claim: [`claim_sql`] without head starts (the due index's walk, as
/// before priorities) with one more column, `ahead`: 1 if `sayiir_instances_ahead` holds a
/// row, NULL if not (subqueries SQLite runs once per execution: a search of that index for a
/// head start above 0, then, if none, one below 0; a value that is not a number is above). When
/// it is NULL on the rows returned, no claimable instance has a head start and the rows are the
/// claim's; otherwise (or when it returned nothing) the claim probes the head starts and runs
/// the merged query. A store without priorities claims with this one statement.
fn first_sql(known: &[WorkflowKey]) -> String {
    claim_sql(known, 0).replacen(
        ", rowid, due_at AS claim_rank FROM",
        &format!(
            ", rowid, due_at AS claim_rank, coalesce(({probe} > 0 LIMIT 1), \
             ({probe} < 0 LIMIT 1)) AS ahead FROM",
            probe = format!(
                "SELECT 1 FROM sayiir_instances INDEXED BY sayiir_instances_ahead \
                 WHERE namespace = ?{} AND {} AND head_start_ms <> 0 AND head_start_ms",
                ns_param(known),
                claimable_row()
            ),
        ),
        1,
    )
}

/// The number of the namespace's parameter in [`claim_sql`]: after the keys.
fn ns_param(known: &[WorkflowKey]) -> usize {
    3 + 3 * known.len()
}

/// The parameters of [`claim_sql`].
fn claim_params(
    now: i64,
    limit: i64,
    known: &[WorkflowKey],
    ns: &str,
    ahead: &[Value],
) -> Vec<Value> {
    let mut params = vec![Value::Integer(now), Value::Integer(limit)];
    params.extend(key_params(known));
    params.push(Value::Text(ns.to_owned()));
    if ahead.len() <= MAX_WALKS {
        params.extend(ahead.iter().cloned());
    }
    params
}

/// The `EXPLAIN QUERY PLAN` lines (details) of [`claim`]'s query for `known`, with the
/// head starts `ahead` (none: the query of a store without priorities).
pub(in crate::sqlite) fn claim_plan(
    conn: &Connection,
    ns: &str,
    known: &[WorkflowKey],
    ahead: &[i64],
) -> Result<Vec<String>, Fail> {
    let ahead: Vec<Value> = ahead.iter().map(|&h| Value::Integer(h)).collect();
    let sql = if ahead.is_empty() {
        first_sql(known)
    } else {
        claim_sql(known, ahead.len())
    };
    super::read::explain(conn, &sql, claim_params(0, 1, known, ns, &ahead))
}

/// The `EXPLAIN QUERY PLAN` lines (details) of the probe of the head starts.
pub(in crate::sqlite) fn head_starts_plan(
    conn: &Connection,
    ns: &str,
) -> Result<Vec<String>, Fail> {
    super::read::explain(conn, &head_starts_sql(), vec![Value::Text(ns.to_owned())])
}

/// Index of the rowid in [`claim_sql`]'s rows (the rank follows, then [`first_sql`]'s
/// `ahead`).
const ROWID: usize = RECORD_COLS;

/// The rows of one query of a claim.
struct Found {
    /// The rows that decode.
    good: Vec<crate::InstanceRecord>,
    /// The rows that do not: rowid and reason.
    damaged: Vec<(i64, String)>,
    /// How many rows the query returned.
    read: usize,
    /// Whether a row said (column `ahead` of [`first_sql`]) that some claimable instance has
    /// a head start.
    ahead: bool,
}

/// Runs one query of a claim (`sql`, with `params`) and sorts its rows into records and
/// damaged rows.
fn read_rows(tx: &Connection, sql: &str, params: Vec<Value>) -> Result<Found, Fail> {
    let mut found = Found {
        good: Vec::new(),
        damaged: Vec::new(),
        read: 0,
        ahead: false,
    };
    let mut stmt = tx.prepare_cached(sql)?;
    let probed = stmt.column_count() > ROWID + 2;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    while let Some(row) = rows.next()? {
        found.read += 1;
        if probed && row.get::<_, Option<i64>>(ROWID + 2)?.is_some() {
            found.ahead = true;
        }
        match decode::record(row) {
            Ok(r) => found.good.push(r),
            Err(e) => match decode::damage(&e) {
                Some(detail) => {
                    let rowid: i64 = row.get(ROWID)?;
                    found
                        .damaged
                        .push((rowid, format!("the row does not decode: {detail}")));
                }
                None => return Err(e),
            },
        }
    }
    Ok(found)
}

/// Leases up to `req.limit` runnable instances, earliest rank first (the due time less the
/// head start, then id: see [`claim_sql`]), each under
/// its next lease generation. A row that does not decode is blocked
/// ([`BlockKind::CorruptRow`], its other columns untouched) in the same transaction, and the
/// claim looks further for the places it took.
pub(in crate::sqlite) fn claim(
    conn: &mut Connection,
    ns: &str,
    req: ClaimRequest,
) -> Result<Vec<Claimed>, Fail> {
    if req.known.is_empty() || req.limit == 0 {
        return Ok(Vec::new());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The head starts of the claimable instances, once probed (see [`first_sql`]).
    let mut ahead: Option<Vec<Value>> = None;
    let mut claimed = Vec::new();
    let mut counts = super::counts::Deltas::default();
    loop {
        let want = req.limit - claimed.len();
        let limit = sql_limit(want);
        let found = match &ahead {
            Some(ahead) => {
                let params = claim_params(req.now.0, limit, &req.known, ns, ahead);
                read_rows(&tx, &claim_sql(&req.known, ahead.len()), params)?
            }
            None => {
                let params = claim_params(req.now.0, limit, &req.known, ns, &[]);
                let found = read_rows(&tx, &first_sql(&req.known), params)?;
                if found.read > 0 && !found.ahead {
                    found
                } else {
                    let probed = head_starts(&tx, ns)?;
                    let again = !probed.is_empty();
                    ahead = Some(probed);
                    if again {
                        continue;
                    }
                    found
                }
            }
        };
        let Found {
            good,
            damaged,
            read,
            ..
        } = found;
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
                counts.around(&tx, id, || Ok(unblock.execute([id])?))?;
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
            let before = super::counts::key_of_rowid(&tx, *rowid)?;
            block.execute(rusqlite::params![
                rowid,
                BlockKind::CorruptRow.code(),
                reason,
                req.now.0
            ])?;
            counts.moved(before, super::counts::key_of_rowid(&tx, *rowid)?);
        }
        if damaged.is_empty() || read < want {
            break;
        }
    }
    counts.apply(&tx)?;
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
    ns: &str,
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
             WHERE id = ?1 AND lease_owner = ?2 AND lease_generation = ?4 AND namespace = ?5",
        )?;
        for c in claims {
            let generation = generation_to_db(c.generation);
            if stmt.execute(rusqlite::params![
                c.id.as_str(),
                owner.0,
                until.0,
                generation,
                ns
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
    ns: &str,
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
             WHERE id = ?1 AND lease_owner = ?2 AND lease_generation = ?3 AND namespace = ?4",
        )?;
        for c in claims {
            let generation = generation_to_db(c.generation);
            stmt.execute(rusqlite::params![c.id.as_str(), owner.0, generation, ns])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Drops every lease `owner` holds in namespace `ns`.
pub(in crate::sqlite) fn release_owner(
    conn: &mut Connection,
    ns: &str,
    owner: &WorkerId,
) -> Result<(), Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "UPDATE sayiir_instances SET lease_owner = NULL, lease_until = NULL \
         WHERE lease_owner = ?1 AND namespace = ?2",
    )?
    .execute([owner.0.as_str(), ns])?;
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
