//! Listings: one statement per round, `ORDER BY id LIMIT n` after the cursor, with the
//! filters written so that the indexes of migration 0006 serve them (equality columns then
//! `id`; block kinds as literals, so the planner sees which partial index holds the rows; an
//! id prefix as a range of the primary key).

use sqlx::postgres::{PgPool, PgRow};
use sqlx::{AssertSqlSafe, Row};

use crate::postgres::decode::{self, summary_cols};
use crate::postgres::fail::Fail;
use crate::types::code_list;
use crate::{ListQuery, Listing};

/// Instances matching `query`, ordered by id (byte order: the column's collation is "C"), and
/// the matching rows that do not decode.
pub(in crate::postgres) async fn list(
    pool: &PgPool,
    ns: &str,
    query: &ListQuery,
) -> Result<Listing, Fail> {
    let mut listing = Listing::default();
    if query.id_prefix.as_ref().is_some_and(|p| p.contains('\0')) {
        // No id holds a NUL (PostgreSQL's text cannot), and it cannot be sent as text.
        return Ok(listing);
    }
    let mut after = query.after.as_ref().map(|a| a.as_str().to_owned());
    loop {
        let want = query.limit.map(|n| n.get() - listing.instances.len());
        let (sql, binds) = list_sql(ns, query, after.take(), want);
        let rows = fetch(pool, sql, binds).await?;
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

/// The `EXPLAIN (ANALYZE, BUFFERS)` lines of the first round of [`list`] for `query`.
pub(in crate::postgres) async fn list_plan(
    pool: &PgPool,
    ns: &str,
    query: &ListQuery,
) -> Result<Vec<String>, Fail> {
    let after = query.after.as_ref().map(|a| a.as_str().to_owned());
    let (sql, binds) = list_sql(ns, query, after, query.limit.map(|n| n.get()));
    let rows = fetch(pool, format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"), binds).await?;
    let mut plan = Vec::with_capacity(rows.len());
    for row in &rows {
        plan.push(row.try_get::<String, _>(0)?);
    }
    Ok(plan)
}

/// A value bound to a placeholder of [`list_sql`].
enum Bind {
    Text(String),
    Int(i64),
    /// A limit: `NULL` is none.
    Limit(Option<i64>),
}

async fn fetch(pool: &PgPool, sql: String, binds: Vec<Bind>) -> Result<Vec<PgRow>, Fail> {
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in binds {
        q = match b {
            Bind::Text(t) => q.bind(t),
            Bind::Int(i) => q.bind(i),
            Bind::Limit(l) => q.bind(l),
        };
    }
    Ok(q.fetch_all(pool).await?)
}

/// The statement of one round of [`list`]: rows after `after` (the query's cursor, or the last
/// row of the previous round), at most `want`; and the values of its placeholders, in order.
/// Only placeholders and the store's own codes are formatted into the text, never values.
fn list_sql(
    ns: &str,
    query: &ListQuery,
    after: Option<String>,
    want: Option<usize>,
) -> (String, Vec<Bind>) {
    let mut sql = String::from(concat!(
        "SELECT ",
        summary_cols!(),
        " FROM sayiir_instances WHERE namespace = $1"
    ));
    let mut binds = vec![Bind::Text(ns.to_owned())];
    let mut push = |sql: &mut String, condition: &str, value: Bind| {
        binds.push(value);
        sql.push_str(&format!(" AND {condition} ${}", binds.len()));
    };
    if let Some(after) = after {
        push(&mut sql, "id >", Bind::Text(after));
    }
    if let Some(workflow) = &query.workflow {
        push(&mut sql, "workflow =", Bind::Text(workflow.clone()));
    }
    if let Some(version) = query.version {
        push(&mut sql, "version =", Bind::Int(i64::from(version)));
    }
    if let Some(status) = query.status {
        push(&mut sql, "status =", Bind::Int(status.code()));
    }
    if let Some(state_id) = &query.state_id {
        push(&mut sql, "state_id =", Bind::Text(state_id.clone()));
    }
    match query.blocked {
        Some(true) => sql.push_str(" AND blocked_kind IS NOT NULL"),
        Some(false) => sql.push_str(" AND blocked_kind IS NULL"),
        None => {}
    }
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
    for (column, range) in [
        ("created_at", &query.created),
        ("updated_at", &query.updated),
    ] {
        if let Some(from) = range.from {
            push(&mut sql, &format!("{column} >="), Bind::Int(from.0));
        }
        if let Some(until) = range.until {
            push(&mut sql, &format!("{column} <"), Bind::Int(until.0));
        }
    }
    if let Some((prefix, upper)) = query.id_bounds() {
        // A range of the primary key (the id column's collation is "C": byte order), not LIKE.
        push(&mut sql, "id >=", Bind::Text(prefix.to_owned()));
        if let Some(upper) = upper {
            push(&mut sql, "id <", Bind::Text(upper));
        }
    }
    let limit = want.map(|w| i64::try_from(w).unwrap_or(i64::MAX));
    binds.push(Bind::Limit(limit));
    sql.push_str(&format!(" ORDER BY id LIMIT ${}", binds.len()));
    (sql, binds)
}
