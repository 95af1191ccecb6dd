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

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql};

use crate::sqlite::fail::Fail;

/// One counted column's value as stored. The columns are read as SQLite holds them, whatever
/// their type, so that a damaged row (a claim blocks those) is counted as the triggers of 0015
/// counted it rather than failing the write.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(in crate::sqlite) enum Col {
    Null,
    Int(i64),
    /// A float's bits.
    Real(u64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<Value> for Col {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => Col::Null,
            Value::Integer(i) => Col::Int(i),
            Value::Real(f) => Col::Real(f.to_bits()),
            Value::Text(t) => Col::Text(t),
            Value::Blob(b) => Col::Blob(b),
        }
    }
}

impl ToSql for Col {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Col::Null => ToSqlOutput::Owned(Value::Null),
            Col::Int(i) => ToSqlOutput::Owned(Value::Integer(*i)),
            Col::Real(bits) => ToSqlOutput::Owned(Value::Real(f64::from_bits(*bits))),
            Col::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Col::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

/// The counted columns of an instance row, in the order of `sayiir_counts`' key: namespace,
/// workflow, version, definition hash, fingerprint, status, block kind (-1: not blocked).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(in crate::sqlite) struct Key(pub(in crate::sqlite) [Col; 7]);

/// The columns of [`Key`], selected from `sayiir_instances`.
const KEY_COLUMNS: &str = "namespace, workflow, version, definition_hash, fingerprint, status, \
                           coalesce(blocked_kind, -1)";

fn key_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Key> {
    let col = |i: usize| row.get::<_, Value>(i).map(Col::from);
    Ok(Key([
        col(0)?,
        col(1)?,
        col(2)?,
        col(3)?,
        col(4)?,
        col(5)?,
        col(6)?,
    ]))
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
            let [c0, c1, c2, c3, c4, c5, c6] = &k.0;
            upsert.execute(rusqlite::params![c0, c1, c2, c3, c4, c5, c6, n])?;
        }
        Ok(())
    }
}
