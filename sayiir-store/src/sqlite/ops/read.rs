//! Queries, run on the reader connection so that they do not wait for writes (WAL).

use std::num::NonZeroUsize;

use rusqlite::Connection;
use rusqlite::types::{Value, ValueRef};

use super::lease::{claimable_block, key_params, sql_limit};
use crate::sqlite::decode::{self, key_values, record_cols, summary_cols};
use crate::sqlite::fail::Fail;
use crate::types::code_list;
use crate::{
    Backlog, BlockKind, HistoryEntry, InstanceId, InstanceRecord, InstanceSummary, ListQuery,
    Listing, StoreError, Timestamp, WorkflowKey,
};

/// The head of `id`.
pub(in crate::sqlite) fn load(
    conn: &Connection,
    ns: &str,
    id: &InstanceId,
) -> Result<InstanceRecord, Fail> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        record_cols!(),
        " FROM sayiir_instances WHERE id = ?1 AND namespace = ?2"
    ))?;
    let mut rows = stmt.query([id.as_str(), ns])?;
    match rows.next()? {
        Some(row) => decode::record(row),
        None => Err(Fail::Store(StoreError::NotFound { id: id.clone() })),
    }
}

/// Instances matching `query`, ordered by id (byte order, as [`InstanceId`]'s `Ord`), and the
/// matching rows that do not decode.
pub(in crate::sqlite) fn list(
    conn: &mut Connection,
    ns: &str,
    query: &ListQuery,
) -> Result<Listing, Fail> {
    // One read transaction: the rounds below see one snapshot.
    let tx = conn.transaction()?;
    let mut listing = Listing::default();
    let mut after = query
        .after
        .as_ref()
        .map(|a| Value::Text(a.as_str().to_owned()));
    loop {
        let want = query.limit.map(|n| n.get() - listing.instances.len());
        let (sql, params) = list_sql(ns, query, after.take(), want);
        let mut stmt = tx.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let (mut read, mut damaged) = (0, false);
        while let Some(row) = rows.next()? {
            read += 1;
            after = Some(row.get::<_, Value>(0)?);
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
        if !damaged || want.is_none_or(|n| read < n) {
            break;
        }
    }
    drop(tx);
    Ok(listing)
}

/// The query of one round of [`list`]: rows after `after` (the query's cursor, or the last row
/// of the previous round), at most `want`.
fn list_sql(
    ns: &str,
    query: &ListQuery,
    after: Option<Value>,
    want: Option<usize>,
) -> (String, Vec<Value>) {
    let mut sql = String::from(concat!(
        "SELECT ",
        summary_cols!(),
        " FROM sayiir_instances WHERE namespace = ?1"
    ));
    let mut params: Vec<Value> = vec![Value::Text(ns.to_owned())];
    if let Some(after) = after {
        params.push(after);
        sql.push_str(&format!(" AND id > ?{}", params.len()));
    }
    // SQLite has no statistics to choose an index by (the store never runs ANALYZE): with
    // block kinds, whose partial indexes hold the few blocked rows, a unary `+` keeps the
    // other columns from being taken as index keys instead (a walk of every running
    // instance, say, to find the blocked ones).
    let by_block = query.block_kinds.as_ref().is_some_and(|k| !k.is_empty());
    let key = if by_block { "+" } else { "" };
    if let Some(workflow) = &query.workflow {
        params.push(Value::Text(workflow.clone()));
        sql.push_str(&format!(" AND {key}workflow = ?{}", params.len()));
    }
    if let Some(version) = query.version {
        params.push(Value::Integer(i64::from(version)));
        sql.push_str(&format!(" AND {key}version = ?{}", params.len()));
    }
    if let Some(status) = query.status {
        params.push(Value::Integer(status.code()));
        sql.push_str(&format!(" AND {key}status = ?{}", params.len()));
    }
    if let Some(state_id) = &query.state_id {
        params.push(Value::Text(state_id.clone()));
        sql.push_str(&format!(" AND state_id = ?{}", params.len()));
    }
    match query.blocked {
        Some(true) => sql.push_str(" AND blocked_kind IS NOT NULL"),
        Some(false) => sql.push_str(" AND blocked_kind IS NULL"),
        None => {}
    }
    if let Some(kinds) = &query.block_kinds {
        if query.attention_only() {
            // As written in the index `sayiir_instances_attention` (migration 0007, rebuilt by 0012).
            sql.push_str(&format!(
                " AND blocked_kind NOT IN ({})",
                code_list(|k| !k.needs_attention())
            ));
        } else if kinds.is_empty() {
            sql.push_str(" AND 0");
        } else {
            let codes: Vec<String> = kinds.iter().map(|k| k.code().to_string()).collect();
            sql.push_str(&format!(" AND blocked_kind IN ({})", codes.join(", ")));
        }
    }
    for (column, range) in [
        ("created_at", &query.created),
        ("updated_at", &query.updated),
    ] {
        if let Some(from) = range.from {
            params.push(Value::Integer(from.0));
            sql.push_str(&format!(" AND {key}{column} >= ?{}", params.len()));
        }
        if let Some(until) = range.until {
            params.push(Value::Integer(until.0));
            sql.push_str(&format!(" AND {key}{column} < ?{}", params.len()));
        }
    }
    if let Some((prefix, upper)) = query.id_bounds() {
        // A range of the primary key (ids compare byte by byte: BINARY collation), not LIKE.
        params.push(Value::Text(prefix.to_owned()));
        sql.push_str(&format!(" AND id >= ?{}", params.len()));
        if let Some(upper) = upper {
            params.push(Value::Text(upper));
            sql.push_str(&format!(" AND id < ?{}", params.len()));
        }
    }
    params.push(Value::Integer(want.map_or(-1, sql_limit)));
    sql.push_str(&format!(" ORDER BY id LIMIT ?{}", params.len()));
    (sql, params)
}

/// The `EXPLAIN QUERY PLAN` lines (details) of the first round of [`list`] for `query`.
pub(in crate::sqlite) fn list_plan(
    conn: &Connection,
    ns: &str,
    query: &ListQuery,
) -> Result<Vec<String>, Fail> {
    let after = query
        .after
        .as_ref()
        .map(|a| Value::Text(a.as_str().to_owned()));
    let (sql, params) = list_sql(ns, query, after, query.limit.map(NonZeroUsize::get));
    explain(conn, &sql, params)
}

/// The `EXPLAIN QUERY PLAN` lines (details) of `sql`.
pub(in crate::sqlite) fn explain(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<String>, Fail> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut plan = Vec::new();
    while let Some(row) = rows.next()? {
        plan.push(row.get::<_, String>(3)?);
    }
    Ok(plan)
}

/// The rows of `sql` that decode; the others are left out.
fn decodable(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<InstanceSummary>, Fail> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        match decode::summary(row) {
            Ok(s) => out.push(s),
            Err(e) if decode::damage(&e).is_some() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// History entries of `id` with `seq > after`, in order, at most `limit` (`None`: all).
pub(in crate::sqlite) fn history(
    conn: &mut Connection,
    ns: &str,
    id: &InstanceId,
    after: Option<u64>,
    limit: Option<NonZeroUsize>,
) -> Result<Vec<HistoryEntry>, Fail> {
    // One read transaction, so that the existence check and the entries are one snapshot.
    let tx = conn.transaction()?;
    let exists = tx
        .prepare_cached("SELECT 1 FROM sayiir_instances WHERE id = ?1 AND namespace = ?2")?
        .exists([id.as_str(), ns])?;
    if !exists {
        return Err(Fail::Store(StoreError::NotFound { id: id.clone() }));
    }
    // `seq > -1` selects everything; an `after` past `i64::MAX` selects nothing.
    let after = after.map_or(-1, |a| i64::try_from(a).unwrap_or(i64::MAX));
    let limit = limit.map_or(-1, |n| sql_limit(n.get()));
    let mut out = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT seq, at, kind, payload FROM sayiir_history \
             WHERE instance_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let mut rows = stmt.query(rusqlite::params![id.as_str(), after, limit])?;
        while let Some(row) = rows.next()? {
            out.push(decode::history_entry(row, id.as_str())?);
        }
    }
    tx.finish()?;
    Ok(out)
}

/// The earliest time an instance of `known` becomes claimable: its due time, or its lease
/// expiry when it is leased and that is later.
pub(in crate::sqlite) fn next_due(
    conn: &Connection,
    ns: &str,
    known: &[WorkflowKey],
) -> Result<Option<Timestamp>, Fail> {
    if known.is_empty() {
        return Ok(None);
    }
    // An instance is next due at its due time, or when its live lease ends if that is later.
    // Two index walks that stop at their first row (the earliest free due time; the earliest
    // end of a lease past its due time) instead of one pass over every due instance.
    let sql = format!(
        "SELECT MIN(t) FROM ( \
           SELECT * FROM (SELECT due_at AS t FROM sayiir_instances \
             INDEXED BY sayiir_instances_due \
             WHERE namespace = ?1 AND status = 0 AND due_at IS NOT NULL \
             AND (lease_owner IS NULL OR lease_until <= due_at) {filter} \
             ORDER BY due_at LIMIT 1) \
           UNION ALL \
           SELECT * FROM (SELECT lease_until AS t FROM sayiir_instances \
             INDEXED BY sayiir_instances_leased \
             WHERE namespace = ?1 AND lease_owner IS NOT NULL AND lease_until > due_at \
             AND status = 0 AND due_at IS NOT NULL {filter} \
             ORDER BY lease_until LIMIT 1))",
        filter = format_args!(
            "AND {claimable} AND (workflow, definition_hash, fingerprint) IN ({keys})",
            claimable = claimable_block(),
            keys = key_values(known, 2),
        ),
    );
    let mut params = vec![Value::Text(ns.to_owned())];
    params.extend(key_params(known));
    let mut stmt = conn.prepare_cached(&sql)?;
    let min = stmt.query_row(rusqlite::params_from_iter(params), |row| {
        Ok(time(row.get_ref(0)?))
    })?;
    Ok(min.map(Timestamp))
}

/// The minimum of a time column as read back. A damaged time: numbers sort before text and
/// blobs, so the minimum is one of those only when no instance has a time that is a number.
/// No claim takes such a row (it is never due); a real number is a time all the same, which a
/// claim then meets and blocks.
fn time(v: ValueRef<'_>) -> Option<i64> {
    match v {
        ValueRef::Integer(t) => Some(t),
        ValueRef::Real(t) => Some(t as i64),
        ValueRef::Null | ValueRef::Text(_) | ValueRef::Blob(_) => None,
    }
}

/// The query of [`backlog`]: `?1` is now, `?2` the namespace.
fn backlog_sql() -> String {
    format!(
        "SELECT count(*), min(due_at) FROM sayiir_instances INDEXED BY sayiir_instances_due \
         WHERE namespace = ?2 AND status = 0 AND due_at IS NOT NULL AND due_at <= ?1 AND {claimable} \
         AND (blocked_kind IS NULL OR blocked_kind IN ({requests})) \
         AND (lease_owner IS NULL OR lease_until <= ?1)",
        claimable = claimable_block(),
        requests = code_list(BlockKind::is_request),
    )
}

/// The `EXPLAIN QUERY PLAN` lines (details) of [`backlog`].
pub(in crate::sqlite) fn backlog_plan(
    conn: &Connection,
    ns: &str,
    now: Timestamp,
) -> Result<Vec<String>, Fail> {
    explain(
        conn,
        &backlog_sql(),
        vec![Value::Integer(now.0), Value::Text(ns.to_owned())],
    )
}

/// The instances due at `now` that no live lease holds and no block other than a request
/// keeps out of claims: their number and earliest due time. One walk of the due index up to
/// `now`.
pub(in crate::sqlite) fn backlog(
    conn: &Connection,
    ns: &str,
    now: Timestamp,
) -> Result<Backlog, Fail> {
    let mut stmt = conn.prepare_cached(&backlog_sql())?;
    let (due, oldest) = stmt.query_row(rusqlite::params![now.0, ns], |row| {
        Ok((row.get::<_, i64>(0)?, time(row.get_ref(1)?)))
    })?;
    let mut stmt = conn.prepare_cached(&attention_sql())?;
    let (attention, parked): (i64, i64) =
        stmt.query_row([ns], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(Backlog {
        due: u64::try_from(due).unwrap_or(0),
        oldest_due: oldest.map(Timestamp),
        needs_attention: u64::try_from(attention).unwrap_or(0),
        parked: u64::try_from(parked).unwrap_or(0),
    })
}

/// The count of the instances that need attention, and of the parked among them: the
/// partial index `sayiir_instances_attention` (migration 0007, rebuilt by 0012), whose predicate it writes as
/// it is there.
fn attention_sql() -> String {
    format!(
        "SELECT count(*), coalesce(sum(blocked_kind = {parked}), 0) \
         FROM sayiir_instances INDEXED BY sayiir_instances_attention \
         WHERE namespace = ?1 AND blocked_kind NOT IN ({others})",
        parked = BlockKind::Parked.code(),
        others = code_list(|k| !k.needs_attention())
    )
}

/// Running, unblocked instances of the `served` workflows whose `(workflow, hash, fingerprint)`
/// is not in `known`, ordered by id. Rows that do not decode are left out: claims block them
/// and listings report them.
pub(in crate::sqlite) fn find_version_mismatches(
    conn: &Connection,
    ns: &str,
    served: &[String],
    known: &[WorkflowKey],
) -> Result<Vec<InstanceSummary>, Fail> {
    if served.is_empty() {
        return Ok(Vec::new());
    }
    let served_list = (2..=served.len() + 1)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!(
        concat!(
            "SELECT ",
            summary_cols!(),
            " FROM sayiir_instances WHERE namespace = ?1 AND status = 0 AND blocked_kind IS NULL \
             AND workflow IN ({served_list})"
        ),
        served_list = served_list,
    );
    if !known.is_empty() {
        sql.push_str(&format!(
            " AND (workflow, definition_hash, fingerprint) NOT IN ({})",
            key_values(known, served.len() + 2)
        ));
    }
    sql.push_str(" ORDER BY id");
    let mut params = vec![Value::Text(ns.to_owned())];
    params.extend(served.iter().map(|s| Value::Text(s.clone())));
    params.extend(key_params(known));
    decodable(conn, &sql, params)
}
