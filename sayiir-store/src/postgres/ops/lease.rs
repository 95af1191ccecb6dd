//! Leases: claim, renew, release, and releasing a worker's leases when it stops.
//!
//! A claim is one statement: it picks the due instances with `FOR UPDATE SKIP LOCKED` (rows
//! another transaction is writing or claiming are skipped, never waited for) and leases them,
//! each under its next lease generation. Rows are re-checked after they are locked, so two
//! claims never take the same instance. Renewals and releases name each lease by its instance
//! and generation.

use std::collections::HashSet;
use std::sync::LazyLock;

use sqlx::PgConnection;
use sqlx::postgres::{PgPool, PgRow};

use crate::postgres::decode::{self, get, key_arrays, record_cols, status_from_db};
use crate::postgres::fail::{Fail, invalid};
use crate::postgres::wake::notify;
use crate::types::claimable_block_sql;
use crate::{BlockKind, Claim, ClaimRequest, Claimed, Status, Timestamp, WorkerId};

/// The claim: `$1` is now, `$2`..`$4` the known keys, `$5` the limit, `$6` the owner, `$7`
/// the lease's expiry, `$8` the code of a version mismatch (which it clears). Its condition on
/// the block is the due index's predicate, word for word ([`claimable_block_sql`]).
///
/// Claim order is by rank, `due_at - head_start_ms`, then id, among the due instances. `h` is
/// the distinct head starts of `sayiir_instances_ahead` (the claimable instances with one), by
/// a loose walk of that index: one probe per value and one more (a store without priorities:
/// one probe of an empty index). `plain` walks the due index for the instances without a head
/// start, as before priorities; `ahead`, per head start `v`, walks `sayiir_instances_ahead`
/// from `(v, -inf)` to `(v, now)`: the due instances of head start `v` in due order, which is
/// their rank order. Each walk locks its first `$5` rows it can (`SKIP LOCKED`: rows another
/// transaction holds are passed over, never waited for); `due` keeps the first `$5` of their
/// union by `(rank, id)`, which are the first `$5` claimable instances: the walks split them
/// into disjoint sets, each yields its set's first rows in `(rank, id)` order, and a row among
/// the first `$5` overall is among the first `$5` of its set. The rows a walk locked that
/// `due` does not keep stay locked until the statement ends (another claim meanwhile passes
/// over them). No walk reads an instance that is not due.
static CLAIM: LazyLock<String> = LazyLock::new(|| {
    let row = format!(
        "namespace = $9 AND status = 0 AND due_at IS NOT NULL AND {claimable}",
        claimable = claimable_block_sql()
    );
    let ahead =
        format!("SELECT head_start_ms FROM sayiir_instances WHERE {row} AND head_start_ms <> 0");
    let common = "due_at <= $1 AND (lease_owner IS NULL OR lease_until <= $1) \
         AND (workflow, definition_hash, fingerprint) IN \
           (SELECT * FROM UNNEST($2::text[], $3::bytea[], $4::bytea[]))";
    format!(
        concat!(
            "WITH RECURSIVE h(v) AS (\
               SELECT ({ahead} ORDER BY head_start_ms LIMIT 1) \
               UNION ALL \
               SELECT ({ahead} AND head_start_ms > h.v ORDER BY head_start_ms LIMIT 1) \
               FROM h WHERE h.v IS NOT NULL), \
             plain AS (SELECT id AS due_id, lease_owner AS previous_owner, \
               due_at AS claim_rank FROM sayiir_instances \
               WHERE {row} AND {common} AND head_start_ms = 0 \
               ORDER BY due_at, id LIMIT $5 FOR UPDATE SKIP LOCKED), \
             ahead AS (SELECT a.* FROM h CROSS JOIN LATERAL \
               (SELECT id AS due_id, lease_owner AS previous_owner, \
                 due_at - head_start_ms AS claim_rank FROM sayiir_instances \
                 WHERE {row} AND head_start_ms <> 0 AND head_start_ms = h.v AND {common} \
                 ORDER BY due_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) a \
               WHERE h.v IS NOT NULL), \
             due AS (SELECT * FROM plain UNION ALL SELECT * FROM ahead \
               ORDER BY claim_rank, due_id LIMIT $5) \
             UPDATE sayiir_instances SET lease_owner = $6, lease_until = $7, \
               lease_generation = lease_generation + 1, \
               blocked_kind = CASE WHEN blocked_kind = $8 THEN NULL ELSE blocked_kind END, \
               blocked_reason = CASE WHEN blocked_kind = $8 THEN NULL ELSE blocked_reason END, \
               blocked_at = CASE WHEN blocked_kind = $8 THEN NULL ELSE blocked_at END \
             FROM due WHERE id = due.due_id RETURNING ",
            record_cols!(),
            ", due.previous_owner IS NOT NULL AS took_over"
        ),
        ahead = ahead,
        row = row,
        common = common,
    )
});

/// The `EXPLAIN (ANALYZE, BUFFERS)` lines of a claim of `req` (it leases what it claims: the
/// statement runs; tests give it a lease that is over at once).
pub(in crate::postgres) async fn claim_plan(
    pool: &PgPool,
    ns: &str,
    req: &ClaimRequest,
) -> Result<Vec<String>, Fail> {
    let (workflows, hashes, fingerprints) = key_arrays(&req.known);
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, BUFFERS) {}",
        CLAIM.as_str()
    )))
    .bind(req.now.0)
    .bind(&workflows)
    .bind(&hashes)
    .bind(&fingerprints)
    .bind(i64::try_from(req.limit).unwrap_or(i64::MAX))
    .bind(&req.owner.0)
    .bind(req.lease_until.0)
    .bind(BlockKind::VersionMismatch.code())
    .bind(ns)
    .fetch_all(pool)
    .await?;
    let mut plan = Vec::with_capacity(rows.len());
    for row in &rows {
        plan.push(sqlx::Row::try_get::<String, _>(row, 0)?);
    }
    Ok(plan)
}

/// Leases up to `req.limit` runnable instances, earliest rank first (due time less head start,
/// then id: see [`CLAIM`]), each under
/// its next lease generation; a version-mismatch block is cleared, a request kept. A row that
/// does not decode is blocked
/// ([`BlockKind::CorruptRow`], its lease dropped, its other columns untouched) by a second
/// statement, and the claim looks further for the places it took.
pub(in crate::postgres) async fn claim(
    pool: &PgPool,
    ns: &str,
    req: ClaimRequest,
) -> Result<Vec<Claimed>, Fail> {
    if req.known.is_empty() || req.limit == 0 {
        return Ok(Vec::new());
    }
    let (workflows, hashes, fingerprints) = key_arrays(&req.known);
    let mut claimed = Vec::new();
    loop {
        let want = req.limit - claimed.len();
        let rows = sqlx::query(CLAIM.as_str())
            .bind(req.now.0)
            .bind(&workflows)
            .bind(&hashes)
            .bind(&fingerprints)
            .bind(i64::try_from(want).unwrap_or(i64::MAX))
            .bind(&req.owner.0)
            .bind(req.lease_until.0)
            .bind(BlockKind::VersionMismatch.code())
            .bind(ns)
            .fetch_all(pool)
            .await?;
        let (mut ids, mut reasons) = (Vec::new(), Vec::new());
        for row in &rows {
            match decode::record(row) {
                Ok(record) => {
                    // The row decodes with its lease: this claim's.
                    let Some(generation) = record.lease.as_ref().map(|l| l.generation) else {
                        return Err(invalid(record.id.as_str(), "claimed without a lease owner"));
                    };
                    let took_over: bool = get(row, "took_over", record.id.as_str())?;
                    claimed.push(Claimed {
                        record,
                        generation,
                        took_over,
                    });
                }
                Err(e) => match decode::damage(&e) {
                    Some(detail) => {
                        ids.push(get::<String>(row, "id", "<unreadable id>")?);
                        reasons.push(format!("the row does not decode: {detail}"));
                    }
                    None => return Err(e),
                },
            }
        }
        if ids.is_empty() {
            break;
        }
        block_damaged(pool, &req, &ids, &reasons).await?;
        if rows.len() < want {
            break;
        }
    }
    // `RETURNING` has no order: claim order, by rank then id.
    claimed.sort_by_cached_key(|c| {
        let r = &c.record;
        let rank = r.due_at.map(|d| d.0.saturating_sub(r.head_start_ms));
        (rank, r.id.clone())
    });
    Ok(claimed)
}

/// Blocks the rows `ids` (as stored) that a claim of `req` leased but cannot decode, with
/// `reasons`, and drops the lease it took on them.
async fn block_damaged(
    pool: &PgPool,
    req: &ClaimRequest,
    ids: &[String],
    reasons: &[String],
) -> Result<(), Fail> {
    sqlx::query(
        "UPDATE sayiir_instances SET blocked_kind = $3, blocked_reason = d.reason, \
           blocked_at = $4, lease_owner = NULL, lease_until = NULL \
         FROM UNNEST($1::text[], $2::text[]) AS d(id, reason) \
         WHERE sayiir_instances.id = d.id AND lease_owner = $5",
    )
    .bind(ids)
    .bind(reasons)
    .bind(BlockKind::CorruptRow.code())
    .bind(req.now.0)
    .bind(&req.owner.0)
    .execute(pool)
    .await?;
    Ok(())
}

/// `claims` as two parallel arrays (ids, generations) for `UNNEST`. A generation that does not
/// fit in a `BIGINT` matches no row.
fn claim_arrays(claims: &[Claim]) -> (Vec<&str>, Vec<i64>) {
    claims
        .iter()
        .map(|c| (c.id.as_str(), i64::try_from(c.generation).unwrap_or(-1)))
        .unzip()
}

/// Extends `owner`'s leases by `claims`; returns the claims whose lease it does not hold.
pub(in crate::postgres) async fn renew(
    pool: &PgPool,
    ns: &str,
    owner: &WorkerId,
    claims: &[Claim],
    until: Timestamp,
) -> Result<Vec<Claim>, Fail> {
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let (ids, generations) = claim_arrays(claims);
    let rows = sqlx::query(
        "WITH held AS (SELECT i.id AS held_id FROM sayiir_instances i \
           JOIN UNNEST($1::text[], $4::bigint[]) AS c(id, generation) \
             ON i.id = c.id AND i.lease_generation = c.generation \
           WHERE i.lease_owner = $2 AND i.namespace = $5 ORDER BY i.id FOR UPDATE OF i) \
         UPDATE sayiir_instances SET lease_until = $3 FROM held WHERE id = held.held_id \
         RETURNING id, lease_generation",
    )
    .bind(&ids)
    .bind(&owner.0)
    .bind(until.0)
    .bind(&generations)
    .bind(ns)
    .fetch_all(pool)
    .await?;
    let mut renewed = HashSet::with_capacity(rows.len());
    for row in &rows {
        let id: String = get(row, "id", "<unreadable id>")?;
        let generation: i64 = get(row, "lease_generation", &id)?;
        renewed.insert((id, generation));
    }
    Ok(claims
        .iter()
        .zip(generations)
        .filter(|(c, g)| !renewed.contains(&(c.id.as_str().to_owned(), *g)))
        .map(|(c, _)| c.clone())
        .collect())
}

/// Wakes idle workers (on `conn`'s transaction) if one of the instances whose lease was just
/// dropped (`rows` of `id, status, due_at`) is running and has a due time: it is claimable now
/// or at that time.
async fn wake_if_due(conn: &mut PgConnection, rows: Vec<PgRow>) -> Result<(), Fail> {
    let mut due = false;
    for row in &rows {
        let id: String = get(row, "id", "<unreadable id>")?;
        let status = status_from_db(get(row, "status", &id)?, &id)?;
        let due_at: Option<i64> = get(row, "due_at", &id)?;
        due |= status == Status::Running && due_at.is_some();
    }
    if due {
        notify(conn).await?;
    }
    Ok(())
}

/// Drops `owner`'s leases by `claims`.
pub(in crate::postgres) async fn release(
    pool: &PgPool,
    ns: &str,
    owner: &WorkerId,
    claims: &[Claim],
) -> Result<(), Fail> {
    if claims.is_empty() {
        return Ok(());
    }
    let (ids, generations) = claim_arrays(claims);
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(
        "WITH held AS (SELECT i.id AS held_id FROM sayiir_instances i \
           JOIN UNNEST($1::text[], $3::bigint[]) AS c(id, generation) \
             ON i.id = c.id AND i.lease_generation = c.generation \
           WHERE i.lease_owner = $2 AND i.namespace = $4 ORDER BY i.id FOR UPDATE OF i) \
         UPDATE sayiir_instances SET lease_owner = NULL, lease_until = NULL \
         FROM held WHERE id = held.held_id RETURNING id, status, due_at",
    )
    .bind(&ids)
    .bind(&owner.0)
    .bind(&generations)
    .bind(ns)
    .fetch_all(&mut *tx)
    .await?;
    wake_if_due(&mut tx, rows).await?;
    tx.commit().await?;
    Ok(())
}

/// Drops every lease `owner` holds.
pub(in crate::postgres) async fn release_owner(
    pool: &PgPool,
    ns: &str,
    owner: &WorkerId,
) -> Result<(), Fail> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(
        "WITH held AS (SELECT id AS held_id FROM sayiir_instances \
           WHERE lease_owner = $1 AND namespace = $2 ORDER BY id FOR UPDATE) \
         UPDATE sayiir_instances SET lease_owner = NULL, lease_until = NULL \
         FROM held WHERE id = held.held_id RETURNING id, status, due_at",
    )
    .bind(&owner.0)
    .bind(ns)
    .fetch_all(&mut *tx)
    .await?;
    wake_if_due(&mut tx, rows).await?;
    tx.commit().await?;
    Ok(())
}
