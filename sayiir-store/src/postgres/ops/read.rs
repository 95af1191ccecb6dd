//! Queries. Each is one statement, so it sees one snapshot.

use std::num::NonZeroUsize;
use std::sync::LazyLock;

use sqlx::PgConnection;
use sqlx::postgres::{PgPool, PgRow};

use crate::postgres::decode::{self, key_arrays, record_cols, sql_limit, summary_cols};
use crate::postgres::fail::Fail;
use crate::types::{claimable_block_sql, code_list};
use crate::{
    Backlog, BlockKind, HistoryEntry, InstanceId, InstanceRecord, InstanceSummary, StoreError,
    Timestamp, WorkflowKey,
};

const LOAD: &str = concat!(
    "SELECT ",
    record_cols!(),
    " FROM sayiir_instances WHERE id = $1 AND namespace = $2"
);

fn found(row: Option<PgRow>, id: &InstanceId) -> Result<InstanceRecord, Fail> {
    match row {
        Some(row) => decode::record(&row),
        None => Err(Fail::Store(StoreError::NotFound { id: id.clone() })),
    }
}

/// The head of `id` in namespace `ns`.
pub(in crate::postgres) async fn load(
    pool: &PgPool,
    ns: &str,
    id: &InstanceId,
) -> Result<InstanceRecord, Fail> {
    let row = sqlx::query(LOAD)
        .bind(id.as_str())
        .bind(ns)
        .fetch_optional(pool)
        .await?;
    found(row, id)
}

/// The head of `id` in namespace `ns`, read on `conn` (inside a transaction).
pub(in crate::postgres) async fn load_in(
    conn: &mut PgConnection,
    ns: &str,
    id: &InstanceId,
) -> Result<InstanceRecord, Fail> {
    let row = sqlx::query(LOAD)
        .bind(id.as_str())
        .bind(ns)
        .fetch_optional(conn)
        .await?;
    found(row, id)
}

/// The rows that decode; the others are left out.
fn decodable(rows: &[PgRow]) -> Result<Vec<InstanceSummary>, Fail> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        match decode::summary(row) {
            Ok(s) => out.push(s),
            Err(e) if decode::damage(&e).is_some() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// History entries of `id` with `seq > after`, in order, at most `limit` (`None`: all).
pub(in crate::postgres) async fn history(
    pool: &PgPool,
    ns: &str,
    id: &InstanceId,
    after: Option<u64>,
    limit: Option<NonZeroUsize>,
) -> Result<Vec<HistoryEntry>, Fail> {
    // `seq > -1` selects everything; an `after` past `i64::MAX` selects nothing.
    let after = after.map_or(-1, |a| i64::try_from(a).unwrap_or(i64::MAX));
    // One statement, so that the existence check and the entries are one snapshot: no row for
    // an unknown instance, one row of NULLs for an instance without matching entries.
    let rows = sqlx::query(
        "SELECT h.seq, h.at, h.kind, h.payload FROM sayiir_instances i \
         LEFT JOIN LATERAL (SELECT seq, at, kind, payload FROM sayiir_history \
           WHERE instance_id = i.id AND seq > $2 ORDER BY seq LIMIT $3) h ON TRUE \
         WHERE i.id = $1 AND i.namespace = $4 ORDER BY h.seq",
    )
    .bind(id.as_str())
    .bind(after)
    .bind(limit.map(sql_limit))
    .bind(ns)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Err(Fail::Store(StoreError::NotFound { id: id.clone() }));
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(entry) = decode::history_entry(row, id.as_str())? {
            out.push(entry);
        }
    }
    Ok(out)
}

/// The query of [`next_due`]: `$1`..`$3` are the known keys, `$4` the namespace. Its condition on the block is the
/// due index's predicate, word for word ([`claimable_block_sql`]).
static NEXT_DUE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT LEAST( \
           (SELECT due_at FROM sayiir_instances \
            WHERE namespace = $4 AND status = 0 AND due_at IS NOT NULL AND {claimable} \
            AND (lease_owner IS NULL OR lease_until <= due_at) \
            AND (workflow, definition_hash, fingerprint) IN \
              (SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::bytea[])) \
            ORDER BY due_at LIMIT 1), \
           (SELECT MIN(lease_until) FROM sayiir_instances \
            WHERE namespace = $4 AND lease_owner IS NOT NULL AND lease_until > due_at \
            AND status = 0 AND due_at IS NOT NULL AND {claimable} \
            AND (workflow, definition_hash, fingerprint) IN \
              (SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::bytea[])))) \
         AS next",
        claimable = claimable_block_sql(),
    )
});

/// The earliest time an instance of `known` becomes claimable: its due time, or its lease
/// expiry when it is leased and that is later.
pub(in crate::postgres) async fn next_due(
    pool: &PgPool,
    ns: &str,
    known: &[WorkflowKey],
) -> Result<Option<Timestamp>, Fail> {
    if known.is_empty() {
        return Ok(None);
    }
    let (workflows, hashes, fingerprints) = key_arrays(known);
    // An instance is next due at its due time, or when its live lease ends if that is later:
    // the earliest free due time (a walk of the due index that stops at its first row) and the
    // earliest end of a lease past its due time (over the leased rows only), not one pass over
    // every due instance. LEAST ignores NULLs.
    let row = sqlx::query(NEXT_DUE.as_str())
        .bind(&workflows)
        .bind(&hashes)
        .bind(&fingerprints)
        .bind(ns)
        .fetch_one(pool)
        .await?;
    let next: Option<i64> = decode::get(&row, "next", "<next_due>")?;
    Ok(next.map(Timestamp))
}

/// The query of [`backlog`]: `$1` is now, `$2` the namespace. It walks the due index (whose predicate it writes
/// word for word, [`claimable_block_sql`]) up to `now`, and leaves out the version mismatches
/// and the live leases.
static BACKLOG: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT count(*) AS due, min(due_at) AS oldest FROM sayiir_instances \
         WHERE namespace = $2 AND status = 0 AND due_at IS NOT NULL AND {claimable} \
         AND due_at <= $1 \
         AND (blocked_kind IS NULL OR blocked_kind IN ({requests})) \
         AND (lease_owner IS NULL OR lease_until <= $1)",
        claimable = claimable_block_sql(),
        requests = code_list(BlockKind::is_request),
    )
});

/// The count of the instances that need attention, and of the parked among them: the
/// partial index `sayiir_instances_attention` (migration 0006), whose predicate it writes as
/// it is there.
static ATTENTION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT count(*) AS attention, count(*) FILTER (WHERE blocked_kind = {parked}) AS parked \
         FROM sayiir_instances WHERE namespace = $1 AND blocked_kind NOT IN ({others})",
        parked = BlockKind::Parked.code(),
        others = code_list(|k| !k.needs_attention())
    )
});

/// The instances due at `now` that no live lease holds and no block other than a request
/// keeps out of claims: their number and earliest due time, from the due index up to `now`.
pub(in crate::postgres) async fn backlog(
    pool: &PgPool,
    ns: &str,
    now: Timestamp,
) -> Result<Backlog, Fail> {
    let row = sqlx::query(BACKLOG.as_str())
        .bind(now.0)
        .bind(ns)
        .fetch_one(pool)
        .await?;
    let due: i64 = decode::get(&row, "due", "<backlog>")?;
    let oldest: Option<i64> = decode::get(&row, "oldest", "<backlog>")?;
    let row = sqlx::query(ATTENTION.as_str())
        .bind(ns)
        .fetch_one(pool)
        .await?;
    let attention: i64 = decode::get(&row, "attention", "<backlog>")?;
    let parked: i64 = decode::get(&row, "parked", "<backlog>")?;
    Ok(Backlog {
        due: u64::try_from(due).unwrap_or(0),
        oldest_due: oldest.map(Timestamp),
        needs_attention: u64::try_from(attention).unwrap_or(0),
        parked: u64::try_from(parked).unwrap_or(0),
    })
}

/// The `EXPLAIN (ANALYZE, BUFFERS)` lines of [`backlog`] at `now`.
pub(in crate::postgres) async fn backlog_plan(
    pool: &PgPool,
    ns: &str,
    now: Timestamp,
) -> Result<Vec<String>, Fail> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, BUFFERS) {}",
        BACKLOG.as_str()
    )))
    .bind(now.0)
    .bind(ns)
    .fetch_all(pool)
    .await?;
    let mut plan = Vec::with_capacity(rows.len());
    for row in &rows {
        plan.push(sqlx::Row::try_get::<String, _>(row, 0)?);
    }
    Ok(plan)
}

/// Running, unblocked instances of the `served` workflows whose `(workflow, hash, fingerprint)`
/// is not in `known`, ordered by id. Rows that do not decode are left out: claims block them
/// and listings report them.
pub(in crate::postgres) async fn find_version_mismatches(
    pool: &PgPool,
    ns: &str,
    served: &[String],
    known: &[WorkflowKey],
) -> Result<Vec<InstanceSummary>, Fail> {
    if served.is_empty() {
        return Ok(Vec::new());
    }
    let (workflows, hashes, fingerprints) = key_arrays(known);
    let rows = sqlx::query(concat!(
        "SELECT ",
        summary_cols!(),
        " FROM sayiir_instances WHERE namespace = $5 AND status = 0 AND blocked_kind IS NULL \
         AND workflow = ANY($1) \
         AND NOT EXISTS (SELECT 1 \
           FROM UNNEST($2::text[], $3::bytea[], $4::bytea[]) AS k(workflow, hash, fingerprint) \
           WHERE k.workflow = sayiir_instances.workflow \
           AND k.hash = sayiir_instances.definition_hash \
           AND k.fingerprint = sayiir_instances.fingerprint) \
         ORDER BY id"
    ))
    .bind(served)
    .bind(&workflows)
    .bind(&hashes)
    .bind(&fingerprints)
    .bind(ns)
    .fetch_all(pool)
    .await?;
    decodable(&rows)
}
