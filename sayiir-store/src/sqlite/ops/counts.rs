//! The instance counts of `sayiir_counts` (migration 0015), kept by the write paths since
//! migration 0016 dropped the triggers that kept them before.
//!
//! A write transaction collects its changes in a [`Deltas`]: +1 for the counted key of each
//! instance it creates, and for each write that may change a counted column (namespace,
//! workflow, version, definition hash, fingerprint, status, block kind) -1 for the row's key
//! before it and +1 for its key after it. [`Deltas::apply`] then writes one upsert per key
//! whose count changed, in the same transaction, before it commits: a batch of 2,000 creates
//! of one definition is one statement, where the triggers ran one per row (each with its
//! statement journal).

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension};

use crate::sqlite::fail::Fail;

/// The counted columns of an instance row, as `sayiir_counts` keys them (`blocked` is -1 for
/// "not blocked").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(in crate::sqlite) struct Key {
    pub(in crate::sqlite) namespace: String,
    pub(in crate::sqlite) workflow: String,
    pub(in crate::sqlite) version: i64,
    pub(in crate::sqlite) hash: Vec<u8>,
    pub(in crate::sqlite) fingerprint: Vec<u8>,
    pub(in crate::sqlite) status: i64,
    pub(in crate::sqlite) blocked: i64,
}

/// The columns of [`Key`], selected from `sayiir_instances`.
const KEY_COLUMNS: &str = "namespace, workflow, version, definition_hash, fingerprint, status, \
                           coalesce(blocked_kind, -1)";

fn key_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Key> {
    Ok(Key {
        namespace: row.get(0)?,
        workflow: row.get(1)?,
        version: row.get(2)?,
        hash: row.get(3)?,
        fingerprint: row.get(4)?,
        status: row.get(5)?,
        blocked: row.get(6)?,
    })
}

/// The counted key of instance `id` as the transaction sees it now (`None`: no such row).
pub(in crate::sqlite) fn key_of(tx: &Connection, id: &str) -> Result<Option<Key>, Fail> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM sayiir_instances WHERE id = ?1");
    Ok(tx
        .prepare_cached(&sql)?
        .query_row([id], key_from_row)
        .optional()?)
}

/// The counted key of the instance row `rowid` (a row whose id may not decode).
pub(in crate::sqlite) fn key_of_rowid(tx: &Connection, rowid: i64) -> Result<Option<Key>, Fail> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM sayiir_instances WHERE rowid = ?1");
    Ok(tx
        .prepare_cached(&sql)?
        .query_row([rowid], key_from_row)
        .optional()?)
}

/// The count changes of one write transaction, per key.
#[derive(Debug, Default)]
pub(in crate::sqlite) struct Deltas(HashMap<Key, i64>);

impl Deltas {
    /// Adds `n` to the count of `key`.
    pub(in crate::sqlite) fn add(&mut self, key: Key, n: i64) {
        *self.0.entry(key).or_insert(0) += n;
    }

    /// Moves one instance from the count of `before` to that of `after` (either may be absent:
    /// a row created or gone).
    pub(in crate::sqlite) fn moved(&mut self, before: Option<Key>, after: Option<Key>) {
        if before == after {
            return;
        }
        if let Some(k) = before {
            self.add(k, -1);
        }
        if let Some(k) = after {
            self.add(k, 1);
        }
    }

    /// Runs `write`, a write of instance `id` that may change a counted column, and records
    /// the change of its key.
    pub(in crate::sqlite) fn around<T>(
        &mut self,
        tx: &Connection,
        id: &str,
        write: impl FnOnce() -> Result<T, Fail>,
    ) -> Result<T, Fail> {
        let before = key_of(tx, id)?;
        let value = write()?;
        let after = key_of(tx, id)?;
        self.moved(before, after);
        Ok(value)
    }

    /// Writes the changes to `sayiir_counts`: one upsert per key whose count changed.
    pub(in crate::sqlite) fn apply(self, tx: &Connection) -> Result<(), Fail> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut upsert = tx.prepare_cached(
            "INSERT INTO sayiir_counts (namespace, workflow, version, definition_hash, \
             fingerprint, status, blocked_kind, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (namespace, workflow, version, definition_hash, fingerprint, status, \
             blocked_kind) DO UPDATE SET n = n + excluded.n",
        )?;
        for (k, n) in self.0 {
            if n == 0 {
                continue;
            }
            upsert.execute(rusqlite::params![
                k.namespace,
                k.workflow,
                k.version,
                k.hash,
                k.fingerprint,
                k.status,
                k.blocked,
                n
            ])?;
        }
        Ok(())
    }
}
