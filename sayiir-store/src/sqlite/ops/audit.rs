//! The audit log.

use rusqlite::Connection;

use super::write::immediate;
use crate::sqlite::decode::get;
use crate::sqlite::fail::{Fail, invalid};
use crate::types::{decode_targets, encode_targets};
use crate::{AuditEntry, AuditQuery, AuditResult, NewAuditEntry, Timestamp};

/// Appends `e`; its id.
pub(in crate::sqlite) fn append(
    conn: &mut Connection,
    ns: &str,
    e: NewAuditEntry,
) -> Result<u64, Fail> {
    let tx = immediate(conn)?;
    let (kind, message) = match e.result {
        AuditResult::Ok => (None, None),
        AuditResult::Failed { kind, message } => (Some(kind), Some(message)),
    };
    tx.prepare_cached(
        "INSERT INTO sayiir_audit \
         (namespace, at, who, action, targets, detail, error_kind, error_message) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(rusqlite::params![
        ns,
        e.at.0,
        e.who,
        e.action,
        encode_targets(&e.targets),
        e.detail,
        kind,
        message
    ])?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    u64::try_from(id).map_err(|_| invalid("<audit>", format!("negative audit id {id}")))
}

/// A page, newest first.
pub(in crate::sqlite) fn page(
    conn: &Connection,
    ns: &str,
    q: AuditQuery,
) -> Result<Vec<AuditEntry>, Fail> {
    let before = q
        .before
        .map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
    let limit = i64::try_from(q.limit.get()).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, who, action, targets, detail, error_kind, error_message \
         FROM sayiir_audit WHERE namespace = ?3 AND id < ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let mut rows = stmt.query(rusqlite::params![before, limit, ns])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let id: i64 = get(row, 0, "<audit>", "sayiir_audit.id")?;
        let name = format!("<audit {id}>");
        let targets: String = get(row, 4, &name, "sayiir_audit.targets")?;
        let kind: Option<String> = get(row, 6, &name, "sayiir_audit.error_kind")?;
        let message: Option<String> = get(row, 7, &name, "sayiir_audit.error_message")?;
        out.push(AuditEntry {
            id: u64::try_from(id).map_err(|_| invalid(&name, "negative id"))?,
            at: Timestamp(get(row, 1, &name, "sayiir_audit.at")?),
            who: get(row, 2, &name, "sayiir_audit.who")?,
            action: get(row, 3, &name, "sayiir_audit.action")?,
            targets: decode_targets(&targets)
                .ok_or_else(|| invalid(&name, "column `targets` is not a JSON array of strings"))?,
            detail: get(row, 5, &name, "sayiir_audit.detail")?,
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
