//! The audit log.

use sqlx::Row;
use sqlx::postgres::PgPool;

use crate::postgres::decode::get;
use crate::postgres::fail::{Fail, invalid};
use crate::types::{decode_targets, encode_targets};
use crate::{AuditEntry, AuditQuery, AuditResult, NewAuditEntry, Timestamp};

/// Appends `e`; its id.
pub(in crate::postgres) async fn append(
    pool: &PgPool,
    ns: &str,
    e: NewAuditEntry,
) -> Result<u64, Fail> {
    let (kind, message) = match e.result {
        AuditResult::Ok => (None, None),
        AuditResult::Failed { kind, message } => (Some(kind), Some(message)),
    };
    let row = sqlx::query(
        "INSERT INTO sayiir_audit \
         (at, who, action, targets, detail, error_kind, error_message, namespace) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(e.at.0)
    .bind(&e.who)
    .bind(&e.action)
    .bind(encode_targets(&e.targets))
    .bind(&e.detail)
    .bind(kind)
    .bind(message)
    .bind(ns)
    .fetch_one(pool)
    .await?;
    let id: i64 = row.try_get(0)?;
    u64::try_from(id).map_err(|_| invalid("<audit>", format!("negative audit id {id}")))
}

/// A page, newest first.
pub(in crate::postgres) async fn page(
    pool: &PgPool,
    ns: &str,
    q: AuditQuery,
) -> Result<Vec<AuditEntry>, Fail> {
    let before = q
        .before
        .map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
    let limit = i64::try_from(q.limit.get()).unwrap_or(i64::MAX);
    let rows = sqlx::query(
        "SELECT id, at, who, action, targets, detail, error_kind, error_message \
         FROM sayiir_audit WHERE namespace = $3 AND id < $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .bind(ns)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = get(row, "id", "<audit>")?;
        let name = format!("<audit {id}>");
        let targets: String = get(row, "targets", &name)?;
        let kind: Option<String> = get(row, "error_kind", &name)?;
        let message: Option<String> = get(row, "error_message", &name)?;
        out.push(AuditEntry {
            id: u64::try_from(id).map_err(|_| invalid(&name, "negative id"))?,
            at: Timestamp(get(row, "at", &name)?),
            who: get(row, "who", &name)?,
            action: get(row, "action", &name)?,
            targets: decode_targets(&targets)
                .ok_or_else(|| invalid(&name, "column `targets` is not a JSON array of strings"))?,
            detail: get(row, "detail", &name)?,
            result: match kind {
                None => AuditResult::Ok,
                Some(kind) => AuditResult::Failed {
                    kind,
                    message: message.unwrap_or_default(),
                },
            },
        });
    }
    Ok(out)
}
