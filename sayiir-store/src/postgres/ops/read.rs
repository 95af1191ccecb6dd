//! Queries. Each is one statement, so it sees one snapshot.

use std::num::NonZeroUsize;

use sqlx::postgres::{PgPool, PgRow};
use sqlx::{AssertSqlSafe, PgConnection};

use super::lease::claimable_codes;
use crate::postgres::decode::{self, key_arrays, record_cols, sql_limit, summary_cols};
use crate::postgres::fail::Fail;
use crate::types::code_list;
use crate::{
    Backlog, BlockKind, HistoryEntry, InstanceId, InstanceRecord, InstanceSummary, ListQuery,
    Listing, StoreError, Timestamp, WorkflowKey,
};

const LOAD: &str = concat!(
    "SELECT ",
    record_cols!(),
    " FROM sayiir_instances WHERE id = $1"
);

fn found(row: Option<PgRow>, id: &InstanceId) -> Result<InstanceRecord, Fail> {
    match row {
        Some(row) => decode::record(&row),
        None => Err(Fail::Store(StoreError::NotFound { id: id.clone() })),
    }
}

/// The head of `id`.
pub(in crate::postgres) async fn load(
    pool: &PgPool,
    id: &InstanceId,
) -> Result<InstanceRecord, Fail> {
    let row = sqlx::query(LOAD)
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?;
    found(row, id)
}

/// The head of `id`, read on `conn` (inside a transaction).
pub(in crate::postgres) async fn load_in(
    conn: &mut PgConnection,
    id: &InstanceId,
) -> Result<InstanceRecord, Fail> {
    let row = sqlx::query(LOAD)
        .bind(id.as_str())
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

/// Instances matching `query`, ordered by id (byte order: the column's collation is "C"), and
/// the matching rows that do not decode.
pub(in crate::postgres) async fn list(pool: &PgPool, query: &ListQuery) -> Result<Listing, Fail> {
    let mut listing = Listing::default();
    if query.id_prefix.as_ref().is_some_and(|p| p.contains('\0')) {
        // No id holds a NUL (PostgreSQL's text cannot), and it cannot be sent as text.
        return Ok(listing);
    }
    let mut after = query.after.as_ref().map(|a| a.as_str().to_owned());
    loop {
        let want = query.limit.map(|n| n.get() - listing.instances.len());
        let rows = list_round(pool, query, after.as_deref(), want).await?;
        let mut damaged = false;
        for row in &rows {
            match decode::summary(row) {
                Ok(s) => listing.instances.push(s),
                Err(e) => match decode::damage(&e) {
                    Some(detail) => {
                        listing
                            .damaged
                            .push(decode::damaged(row, detail.to_owned()));
                        damaged = true;
                    }
                    None => return Err(e),
                },
            }
        }
        // Another round only when damaged rows took places under the limit and more rows may
        // follow; it continues after the last row read, whatever its id holds.
        if !damaged || want.is_none_or(|n| rows.len() < n) {
            break;
        }
        after = match rows.last() {
            Some(row) => Some(decode::get::<String>(row, "id", "<unreadable id>")?),
            None => break,
        };
    }
    Ok(listing)
}

/// One round of [`list`]: rows after `after` (the query's cursor, or the last row of the
/// previous round), at most `want`.
async fn list_round(
    pool: &PgPool,
    query: &ListQuery,
    after: Option<&str>,
    want: Option<usize>,
) -> Result<Vec<PgRow>, Fail> {
    // Only placeholders are formatted into the text, never values.
    let mut sql = String::from(concat!(
        "SELECT ",
        summary_cols!(),
        " FROM sayiir_instances WHERE TRUE"
    ));
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if after.is_some() {
        sql.push_str(&format!(" AND id > ${}", next()));
    }
    if query.workflow.is_some() {
        sql.push_str(&format!(" AND workflow = ${}", next()));
    }
    if query.version.is_some() {
        sql.push_str(&format!(" AND version = ${}", next()));
    }
    if query.status.is_some() {
        sql.push_str(&format!(" AND status = ${}", next()));
    }
    if query.state_id.is_some() {
        sql.push_str(&format!(" AND state_id = ${}", next()));
    }
    match query.blocked {
        Some(true) => sql.push_str(" AND blocked_kind IS NOT NULL"),
        Some(false) => sql.push_str(" AND blocked_kind IS NULL"),
        None => {}
    }
    // Block kinds are codes the store defines, written as literals so that the planner sees
    // which partial index holds the rows.
    if let Some(kinds) = &query.block_kinds {
        if query.attention_only() {
            // As written in the index `sayiir_instances_attention` (migration 0006).
            sql.push_str(&format!(
                " AND blocked_kind NOT IN ({})",
                code_list(|k| !k.needs_attention())
            ));
        } else if kinds.is_empty() {
            sql.push_str(" AND FALSE");
        } else {
            let codes: Vec<String> = kinds.iter().map(|k| k.code().to_string()).collect();
            sql.push_str(&format!(" AND blocked_kind IN ({})", codes.join(", ")));
        }
    }
    let ranges = [
        ("created_at", &query.created),
        ("updated_at", &query.updated),
    ];
    for (column, range) in ranges {
        if range.from.is_some() {
            sql.push_str(&format!(" AND {column} >= ${}", next()));
        }
        if range.until.is_some() {
            sql.push_str(&format!(" AND {column} < ${}", next()));
        }
    }
    // A range of the primary key (the id column's collation is "C": byte order), not LIKE.
    let bounds = query.id_bounds();
    if let Some((_, upper)) = &bounds {
        sql.push_str(&format!(" AND id >= ${}", next()));
        if upper.is_some() {
            sql.push_str(&format!(" AND id < ${}", next()));
        }
    }
    // `LIMIT NULL` is no limit.
    sql.push_str(&format!(" ORDER BY id LIMIT ${}", next()));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    if let Some(after) = after {
        q = q.bind(after);
    }
    if let Some(workflow) = &query.workflow {
        q = q.bind(workflow.as_str());
    }
    if let Some(version) = query.version {
        q = q.bind(i64::from(version));
    }
    if let Some(status) = query.status {
        q = q.bind(status.code());
    }
    if let Some(state_id) = &query.state_id {
        q = q.bind(state_id.as_str());
    }
    for (_, range) in ranges {
        if let Some(from) = range.from {
            q = q.bind(from.0);
        }
        if let Some(until) = range.until {
            q = q.bind(until.0);
        }
    }
    if let Some((prefix, upper)) = bounds {
        q = q.bind(prefix);
        if let Some(upper) = upper {
            q = q.bind(upper);
        }
    }
    let limit = want.map(|w| i64::try_from(w).unwrap_or(i64::MAX));
    Ok(q.bind(limit).fetch_all(pool).await?)
}

/// History entries of `id` with `seq > after`, in order, at most `limit` (`None`: all).
pub(in crate::postgres) async fn history(
    pool: &PgPool,
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
         WHERE i.id = $1 ORDER BY h.seq",
    )
    .bind(id.as_str())
    .bind(after)
    .bind(limit.map(sql_limit))
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

/// The earliest time an instance of `known` becomes claimable: its due time, or its lease
/// expiry when it is leased and that is later.
pub(in crate::postgres) async fn next_due(
    pool: &PgPool,
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
    let row = sqlx::query(
        "SELECT LEAST( \
           (SELECT due_at FROM sayiir_instances \
            WHERE status = 0 AND due_at IS NOT NULL \
            AND (lease_owner IS NULL OR lease_until <= due_at) \
            AND (blocked_kind IS NULL OR blocked_kind = ANY($1::bigint[])) \
            AND (workflow, definition_hash, fingerprint) IN \
              (SELECT * FROM UNNEST($2::text[], $3::bytea[], $4::bytea[])) \
            ORDER BY due_at LIMIT 1), \
           (SELECT MIN(lease_until) FROM sayiir_instances \
            WHERE lease_owner IS NOT NULL AND lease_until > due_at \
            AND status = 0 AND due_at IS NOT NULL \
            AND (blocked_kind IS NULL OR blocked_kind = ANY($1::bigint[])) \
            AND (workflow, definition_hash, fingerprint) IN \
              (SELECT * FROM UNNEST($2::text[], $3::bytea[], $4::bytea[])))) \
         AS next",
    )
    .bind(claimable_codes())
    .bind(&workflows)
    .bind(&hashes)
    .bind(&fingerprints)
    .fetch_one(pool)
    .await?;
    let next: Option<i64> = decode::get(&row, "next", "<next_due>")?;
    Ok(next.map(Timestamp))
}

/// The instances due at `now` that no live lease holds and no block other than a request
/// keeps out of claims: their number and earliest due time, from the due index up to `now`.
pub(in crate::postgres) async fn backlog(pool: &PgPool, now: Timestamp) -> Result<Backlog, Fail> {
    let requests: Vec<i64> = BlockKind::ALL
        .iter()
        .filter(|k| k.is_request())
        .map(|k| k.code())
        .collect();
    let row = sqlx::query(
        "SELECT count(*) AS due, min(due_at) AS oldest FROM sayiir_instances \
         WHERE status = 0 AND due_at IS NOT NULL AND due_at <= $1 \
         AND (blocked_kind IS NULL OR blocked_kind = ANY($2::bigint[])) \
         AND (lease_owner IS NULL OR lease_until <= $1)",
    )
    .bind(now.0)
    .bind(requests)
    .fetch_one(pool)
    .await?;
    let due: i64 = decode::get(&row, "due", "<backlog>")?;
    let oldest: Option<i64> = decode::get(&row, "oldest", "<backlog>")?;
    Ok(Backlog {
        due: u64::try_from(due).unwrap_or(0),
        oldest_due: oldest.map(Timestamp),
    })
}

/// Running, unblocked instances of the `served` workflows whose `(workflow, hash, fingerprint)`
/// is not in `known`, ordered by id. Rows that do not decode are left out: claims block them
/// and listings report them.
pub(in crate::postgres) async fn find_version_mismatches(
    pool: &PgPool,
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
        " FROM sayiir_instances WHERE status = 0 AND blocked_kind IS NULL \
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
    .fetch_all(pool)
    .await?;
    decodable(&rows)
}
