//! Buffered signals: sending, listing, and consuming them inside a commit.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::sqlite::decode::status_from_db;
use crate::sqlite::fail::{Fail, invalid, is_conversion};
use crate::{InstanceId, NewSignal, SignalRecord, StoreError, Timestamp};

/// Buffers `signal` and pulls the instance's due time in to `signal.now`. Returns the id.
pub(in crate::sqlite) fn send(
    conn: &mut Connection,
    ns: &str,
    signal: NewSignal,
) -> Result<u64, Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let signal_id = send_in(&tx, ns, signal)?;
    tx.commit()?;
    Ok(signal_id)
}

/// [`send`] inside the transaction `tx` is in (the store's, or the application's:
/// [`Transactional`](crate::Transactional)). An instance of another namespace than `ns` is
/// not found.
pub(in crate::sqlite) fn send_in(
    tx: &Connection,
    ns: &str,
    signal: NewSignal,
) -> Result<u64, Fail> {
    let id = signal.id.as_str();
    let status: Option<i64> = tx
        .prepare_cached("SELECT status FROM sayiir_instances WHERE id = ?1 AND namespace = ?2")?
        .query_row([id, ns], |row| row.get(0))
        .optional()
        .map_err(|e| conversion(e, id, "status"))?;
    let Some(status) = status else {
        return Err(Fail::Store(StoreError::NotFound { id: signal.id }));
    };
    if status_from_db(status, id)?.is_terminal() {
        return Err(Fail::Store(StoreError::Finished { id: signal.id }));
    }
    tx.prepare_cached(
        "INSERT INTO sayiir_signals (instance_id, name, payload, sent_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(rusqlite::params![
        id,
        signal.name,
        signal.payload,
        signal.now.0
    ])?;
    let raw = tx.last_insert_rowid();
    let signal_id = u64::try_from(raw)
        .map_err(|_| invalid(id, format!("negative signal id {raw} assigned")))?;
    tx.prepare_cached(
        "UPDATE sayiir_instances SET due_at = \
         CASE WHEN due_at IS NULL OR due_at > ?2 THEN ?2 ELSE due_at END WHERE id = ?1",
    )?
    .execute(rusqlite::params![id, signal.now.0])?;
    Ok(signal_id)
}

/// The pending signals of `id`, in send order.
pub(in crate::sqlite) fn list(
    conn: &mut Connection,
    ns: &str,
    id: &InstanceId,
) -> Result<Vec<SignalRecord>, Fail> {
    // One read transaction, so that the existence check and the rows are one snapshot.
    let tx = conn.transaction()?;
    let exists = tx
        .prepare_cached("SELECT 1 FROM sayiir_instances WHERE id = ?1 AND namespace = ?2")?
        .exists([id.as_str(), ns])?;
    if !exists {
        return Err(Fail::Store(StoreError::NotFound { id: id.clone() }));
    }
    let mut out = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT signal_id, name, payload, sent_at FROM sayiir_signals \
             WHERE instance_id = ?1 ORDER BY signal_id",
        )?;
        let mut rows = stmt.query([id.as_str()])?;
        while let Some(row) = rows.next()? {
            let s = id.as_str();
            let raw: i64 = row.get(0).map_err(|e| conversion(e, s, "signal_id"))?;
            out.push(SignalRecord {
                signal_id: u64::try_from(raw)
                    .map_err(|_| invalid(s, format!("negative signal id {raw}")))?,
                name: row.get(1).map_err(|e| conversion(e, s, "name"))?,
                payload: row.get(2).map_err(|e| conversion(e, s, "payload"))?,
                sent_at: Timestamp(row.get(3).map_err(|e| conversion(e, s, "sent_at"))?),
            });
        }
    }
    tx.finish()?;
    Ok(out)
}

fn conversion(e: rusqlite::Error, id: &str, col: &str) -> Fail {
    if is_conversion(&e) {
        invalid(id, format!("signal column `{col}`: {e}"))
    } else {
        Fail::Sql(e)
    }
}

/// The distinct signal ids of `ids` if every one of them is a pending signal of `instance`;
/// `None` otherwise. Reads only.
pub(in crate::sqlite) fn all_pending(
    tx: &Transaction<'_>,
    instance: &str,
    ids: &[u64],
) -> Result<Option<Vec<i64>>, Fail> {
    let ids: BTreeSet<u64> = ids.iter().copied().collect();
    let mut out = Vec::with_capacity(ids.len());
    let mut stmt = tx
        .prepare_cached("SELECT 1 FROM sayiir_signals WHERE signal_id = ?1 AND instance_id = ?2")?;
    for id in ids {
        // An id past `i64::MAX` was never assigned.
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        if !stmt.exists(rusqlite::params![id, instance])? {
            return Ok(None);
        }
        out.push(id);
    }
    Ok(Some(out))
}

/// Whether a signal named one of `names` is buffered for `instance`.
pub(in crate::sqlite) fn any_named(
    tx: &Transaction<'_>,
    instance: &str,
    names: &[String],
) -> Result<bool, Fail> {
    if names.is_empty() {
        return Ok(false);
    }
    let mut stmt =
        tx.prepare_cached("SELECT 1 FROM sayiir_signals WHERE instance_id = ?1 AND name = ?2")?;
    for name in names {
        if stmt.exists(rusqlite::params![instance, name])? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Deletes the signals `ids` (checked by [`all_pending`]), or every signal of `instance` when it
/// is `finishing`.
pub(in crate::sqlite) fn consume(
    tx: &Transaction<'_>,
    instance: &str,
    ids: &[i64],
    finishing: bool,
) -> Result<(), Fail> {
    if finishing {
        tx.prepare_cached("DELETE FROM sayiir_signals WHERE instance_id = ?1")?
            .execute([instance])?;
        return Ok(());
    }
    let mut stmt = tx.prepare_cached("DELETE FROM sayiir_signals WHERE signal_id = ?1")?;
    for id in ids {
        stmt.execute([id])?;
    }
    Ok(())
}
