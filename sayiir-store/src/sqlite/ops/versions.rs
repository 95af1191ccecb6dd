//! Versions: restart, load_input, and the registered definitions and instance counts per
//! definition.

use rusqlite::{Connection, OptionalExtension};

use super::counts::{self, Deltas};
use super::write::{append_history, immediate, next_seq};
use crate::sqlite::decode::{self, seq_from_db};
use crate::sqlite::fail::{Fail, invalid, is_conversion};
use crate::{DefinitionRecord, InstanceId, Restart, Status, StoreError, VersionCount};

/// Restarts `r.id` as a new run under `r.definition`, whatever its status.
pub(in crate::sqlite) fn restart(conn: &mut Connection, ns: &str, r: Restart) -> Result<(), Fail> {
    let tx = immediate(conn)?;
    let id = r.id.as_str();
    let head: Option<(i64, i64, Option<String>)> = tx
        .prepare_cached(
            "SELECT seq, status, gates FROM sayiir_instances WHERE id = ?1 AND namespace = ?2",
        )?
        .query_row([id, ns], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()
        .map_err(|e| conversion(e, id, "seq, status or gates"))?;
    let Some((seq, status, gates)) = head else {
        return Err(Fail::Store(StoreError::NotFound { id: r.id }));
    };
    let seq = seq_from_db(seq, id)?;
    if seq != r.expected_seq {
        return Err(Fail::Store(StoreError::Conflict {
            id: r.id,
            expected: r.expected_seq,
            actual: seq,
        }));
    }
    let next_seq = next_seq(seq, id)?;
    append_history(&tx, id, next_seq, seq, r.now, &r.event)?;
    let mut counts = Deltas::default();
    let before = counts::key_of(&tx, id)?;
    let d = r.definition;
    tx.prepare_cached(
        "UPDATE sayiir_instances SET version = ?2, definition_hash = ?3, fingerprint = ?4, \
         state = ?5, state_id = ?6, status = ?7, due_at = ?8, seq = ?9, \
         updated_at = ?10, output = NULL, blocked_kind = NULL, blocked_reason = NULL, \
         blocked_at = NULL, lease_owner = NULL, lease_until = NULL, \
         trace_context = COALESCE(?11, trace_context) \
         WHERE id = ?1",
    )?
    .execute(rusqlite::params![
        id,
        d.version,
        d.hash.0.as_slice(),
        d.fingerprint.0.as_slice(),
        r.state,
        r.state_id,
        Status::Running.code(),
        r.due_at.map(|t| t.0),
        next_seq,
        r.now.0,
        r.trace_context,
    ])?;
    tx.prepare_cached(
        "INSERT INTO sayiir_inputs (instance_id, input) VALUES (?1, ?2) \
         ON CONFLICT (instance_id) DO UPDATE SET input = excluded.input",
    )?
    .execute(rusqlite::params![id, r.input])?;
    counts.moved(before, counts::key_of(&tx, id)?);
    if let Some(gates) = gates {
        let finished = crate::sqlite::decode::status_from_db(status, id)?.is_terminal();
        if finished {
            // A new run takes a slot again, at the end of the queues.
            super::gates::queue(&tx, id, &super::gates::keys_of(&gates), r.now, &mut counts)?;
        } else if super::gates::waits(&tx, id)? {
            // Still waiting: the restart does not admit it.
            super::gates::set_waiting(&tx, id, r.now, &mut counts)?;
        }
    }
    counts.apply(&tx)?;
    tx.commit()?;
    Ok(())
}

/// The stored input of `id` (`None` for a row from before inputs were kept).
pub(in crate::sqlite) fn load_input(
    conn: &Connection,
    ns: &str,
    id: &InstanceId,
) -> Result<Option<Vec<u8>>, Fail> {
    let input: Option<Option<Vec<u8>>> = conn
        .prepare_cached(
            "SELECT n.input FROM sayiir_instances i \
             LEFT JOIN sayiir_inputs n ON n.instance_id = i.id \
             WHERE i.id = ?1 AND i.namespace = ?2",
        )?
        .query_row([id.as_str(), ns], |row| row.get(0))
        .optional()
        .map_err(|e| conversion(e, id.as_str(), "input"))?;
    input.ok_or_else(|| Fail::Store(StoreError::NotFound { id: id.clone() }))
}

/// Inserts the definitions whose `(workflow, hash, fingerprint)` is not stored yet, in order
/// (so the first of a repeated key wins).
pub(in crate::sqlite) fn save_definitions(
    conn: &mut Connection,
    definitions: Vec<DefinitionRecord>,
) -> Result<(), Fail> {
    let tx = immediate(conn)?;
    insert_definitions(&tx, &definitions)?;
    tx.commit()?;
    Ok(())
}

/// [`save_definitions`] inside the transaction `tx` is in (the store's, or the application's:
/// [`Transactional`](crate::Transactional)).
pub(in crate::sqlite) fn insert_definitions(
    tx: &Connection,
    definitions: &[DefinitionRecord],
) -> Result<(), Fail> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO sayiir_definitions (workflow, version, definition_hash, fingerprint, \
         shape, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
    )?;
    for d in definitions {
        stmt.execute(rusqlite::params![
            d.workflow,
            d.version,
            d.hash.0.as_slice(),
            d.fingerprint.0.as_slice(),
            d.shape,
            d.created_at.0,
        ])?;
    }
    Ok(())
}

/// The registered definitions (of `workflow` only, if given), ordered by workflow, version,
/// hash and fingerprint.
pub(in crate::sqlite) fn definitions(
    conn: &Connection,
    workflow: Option<&str>,
) -> Result<Vec<DefinitionRecord>, Fail> {
    let mut stmt = conn.prepare_cached(
        "SELECT workflow, version, definition_hash, fingerprint, shape, created_at \
         FROM sayiir_definitions WHERE ?1 IS NULL OR workflow = ?1 \
         ORDER BY workflow, version, definition_hash, fingerprint",
    )?;
    let mut rows = stmt.query([workflow])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode::definition(row)?);
    }
    Ok(out)
}

/// Instance counts per definition, status and block kind (not blocked first: -1 sorts
/// before every kind's code), read from `sayiir_counts`, which the write paths keep exact
/// (`ops/counts.rs`; migrations 0015 and 0016): a few rows, whatever the number of instances.
pub(in crate::sqlite) fn version_counts(
    conn: &Connection,
    ns: &str,
) -> Result<Vec<VersionCount>, Fail> {
    let mut stmt = conn.prepare_cached(
        "SELECT workflow, version, definition_hash, fingerprint, status, \
         nullif(blocked_kind, -1), n FROM sayiir_counts WHERE namespace = ?1 AND n > 0 \
         ORDER BY workflow, version, definition_hash, fingerprint, status, blocked_kind",
    )?;
    let mut rows = stmt.query([ns])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode::version_count(row)?);
    }
    Ok(out)
}

fn conversion(e: rusqlite::Error, id: &str, col: &str) -> Fail {
    if is_conversion(&e) {
        invalid(id, format!("column `{col}`: {e}"))
    } else {
        Fail::Sql(e)
    }
}
