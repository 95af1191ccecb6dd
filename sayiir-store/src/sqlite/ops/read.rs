//! Queries, run on the reader connection so that they do not wait for writes (WAL).

use std::num::NonZeroUsize;

use rusqlite::Connection;
use rusqlite::types::{Value, ValueRef};

use super::lease::{key_params, sql_limit};
use crate::sqlite::decode::{self, key_values, record_cols, summary_cols};
use crate::sqlite::fail::Fail;
use crate::{
    BlockKind, HistoryEntry, InstanceId, InstanceRecord, InstanceSummary, ListQuery, Listing,
    StoreError, Timestamp, WorkflowKey,
};

/// The head of `id`.
pub(in crate::sqlite) fn load(conn: &Connection, id: &InstanceId) -> Result<InstanceRecord, Fail> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        record_cols!(),
        " FROM sayiir_instances WHERE id = ?1"
    ))?;
    let mut rows = stmt.query([id.as_str()])?;
    match rows.next()? {
        Some(row) => decode::record(row),
        None => Err(Fail::Store(StoreError::NotFound { id: id.clone() })),
    }
}

/// Instances matching `query`, ordered by id (byte order, as [`InstanceId`]'s `Ord`), and the
/// matching rows that do not decode.
pub(in crate::sqlite) fn list(conn: &mut Connection, query: &ListQuery) -> Result<Listing, Fail> {
    // One read transaction: the rounds below see one snapshot.
    let tx = conn.transaction()?;
    let mut listing = Listing::default();
    let mut after = query
        .after
        .as_ref()
        .map(|a| Value::Text(a.as_str().to_owned()));
    loop {
        let want = query.limit.map(|n| n.get() - listing.instances.len());
        let (sql, params) = list_sql(query, after.take(), want);
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
fn list_sql(query: &ListQuery, after: Option<Value>, want: Option<usize>) -> (String, Vec<Value>) {
    let mut sql = String::from(concat!(
        "SELECT ",
        summary_cols!(),
        " FROM sayiir_instances WHERE 1"
    ));
    let mut params: Vec<Value> = Vec::new();
    if let Some(after) = after {
        params.push(after);
        sql.push_str(&format!(" AND id > ?{}", params.len()));
    }
    if let Some(workflow) = &query.workflow {
        params.push(Value::Text(workflow.clone()));
        sql.push_str(&format!(" AND workflow = ?{}", params.len()));
    }
    if let Some(version) = query.version {
        params.push(Value::Integer(i64::from(version)));
        sql.push_str(&format!(" AND version = ?{}", params.len()));
    }
    if let Some(status) = query.status {
        params.push(Value::Integer(status.code()));
        sql.push_str(&format!(" AND status = ?{}", params.len()));
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
    params.push(Value::Integer(want.map_or(-1, sql_limit)));
    sql.push_str(&format!(" ORDER BY id LIMIT ?{}", params.len()));
    (sql, params)
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
    id: &InstanceId,
    after: Option<u64>,
    limit: Option<NonZeroUsize>,
) -> Result<Vec<HistoryEntry>, Fail> {
    // One read transaction, so that the existence check and the entries are one snapshot.
    let tx = conn.transaction()?;
    let exists = tx
        .prepare_cached("SELECT 1 FROM sayiir_instances WHERE id = ?1")?
        .exists([id.as_str()])?;
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
             WHERE status = 0 AND due_at IS NOT NULL \
             AND (lease_owner IS NULL OR lease_until <= due_at) {filter} \
             ORDER BY due_at LIMIT 1) \
           UNION ALL \
           SELECT * FROM (SELECT lease_until AS t FROM sayiir_instances \
             INDEXED BY sayiir_instances_leased \
             WHERE lease_owner IS NOT NULL AND lease_until > due_at \
             AND status = 0 AND due_at IS NOT NULL {filter} \
             ORDER BY lease_until LIMIT 1))",
        filter = format_args!(
            "AND (blocked_kind IS NULL OR blocked_kind = {mismatch}) \
             AND (workflow, definition_hash, fingerprint) IN ({keys})",
            mismatch = BlockKind::VersionMismatch.code(),
            keys = key_values(known, 1),
        ),
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let min = stmt.query_row(rusqlite::params_from_iter(key_params(known)), |row| {
        Ok(match row.get_ref(0)? {
            ValueRef::Integer(t) => Some(t),
            // A damaged time: numbers sort before text and blobs, so the minimum is one of
            // those only when no instance has a time that is a number. No claim takes such a
            // row (it is never due); a real number is a time all the same, which a claim then
            // meets and blocks.
            ValueRef::Real(t) => Some(t as i64),
            ValueRef::Null | ValueRef::Text(_) | ValueRef::Blob(_) => None,
        })
    })?;
    Ok(min.map(Timestamp))
}

/// Running, unblocked instances of the `served` workflows whose `(workflow, hash, fingerprint)`
/// is not in `known`, ordered by id. Rows that do not decode are left out: claims block them
/// and listings report them.
pub(in crate::sqlite) fn find_version_mismatches(
    conn: &Connection,
    served: &[String],
    known: &[WorkflowKey],
) -> Result<Vec<InstanceSummary>, Fail> {
    if served.is_empty() {
        return Ok(Vec::new());
    }
    let served_list = (1..=served.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!(
        concat!(
            "SELECT ",
            summary_cols!(),
            " FROM sayiir_instances WHERE status = 0 AND blocked_kind IS NULL \
             AND workflow IN ({served_list})"
        ),
        served_list = served_list,
    );
    if !known.is_empty() {
        sql.push_str(&format!(
            " AND (workflow, definition_hash, fingerprint) NOT IN ({})",
            key_values(known, served.len() + 1)
        ));
    }
    sql.push_str(" ORDER BY id");
    let mut params: Vec<Value> = served.iter().map(|s| Value::Text(s.clone())).collect();
    params.extend(key_params(known));
    decodable(conn, &sql, params)
}
