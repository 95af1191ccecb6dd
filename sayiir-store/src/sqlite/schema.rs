//! Opening connections, checking what the file is, and migrating the schema.
//!
//! The schema version lives in `PRAGMA user_version` and the file is marked as ours with
//! `PRAGMA application_id`. Both are in the database header and change transactionally with the
//! migrations, so a crash mid-migration leaves the previous version intact.

use std::path::Path;

use rusqlite::{Connection, MAIN_DB, OpenFlags, TransactionBehavior};

use super::fail::{Fail, map_sqlite};
use super::{SqliteOptions, Synchronous, file};
use crate::{FileProblem, StoreError};

/// `PRAGMA application_id` of a sayiir database: "SYYR".
pub(super) const APPLICATION_ID: i64 = 0x5359_5952;

/// The migrations, oldest first: `(version, sql)`. Version `n` turns a database at version
/// `n - 1` into one at version `n`.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../migrations/sqlite/0002_signals.sql")),
    (
        3,
        include_str!("../../migrations/sqlite/0003_due_index.sql"),
    ),
    (4, include_str!("../../migrations/sqlite/0004_versions.sql")),
    (
        5,
        include_str!("../../migrations/sqlite/0005_lease_generation.sql"),
    ),
    (6, include_str!("../../migrations/sqlite/0006_workers.sql")),
    (7, include_str!("../../migrations/sqlite/0007_admin.sql")),
    (
        8,
        include_str!("../../migrations/sqlite/0008_trace_context.sql"),
    ),
    (9, include_str!("../../migrations/sqlite/0009_limits.sql")),
    (
        10,
        include_str!("../../migrations/sqlite/0010_schedules.sql"),
    ),
    (
        11,
        include_str!("../../migrations/sqlite/0011_priority.sql"),
    ),
    (12, include_str!("../../migrations/sqlite/0012_gates.sql")),
    (
        13,
        include_str!("../../migrations/sqlite/0013_namespaces.sql"),
    ),
    (14, include_str!("../../migrations/sqlite/0014_audit.sql")),
    (15, include_str!("../../migrations/sqlite/0015_counts.sql")),
    (
        16,
        include_str!("../../migrations/sqlite/0016_counts_in_rust.sql"),
    ),
];

/// The newest schema version this build knows.
pub(super) fn newest() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// Opens the writer connection: checks the path, creates the file (with `options.file_mode`)
/// if needed, checks that this process may write it, migrates it and switches it to WAL.
pub(super) fn open_writer(path: &Path, options: &SqliteOptions) -> Result<Connection, StoreError> {
    file::check_path(path)?;
    file::create(path, options.file_mode)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| map_sqlite(e, path))?;
    // SQLite opens a file it may not write read-only, without an error; its first write would
    // fail with "attempt to write a readonly database", naming no file.
    if conn.is_readonly(MAIN_DB).unwrap_or(false) {
        let problem = file::explain(path).unwrap_or(FileProblem::ReadOnlyFile);
        return Err(file::error(path, problem));
    }
    configure_writer(&mut conn, path, options).map_err(|e| e.into_store(path))?;
    Ok(conn)
}

fn configure_writer(
    conn: &mut Connection,
    path: &Path,
    options: &SqliteOptions,
) -> Result<(), Fail> {
    conn.busy_timeout(options.busy_timeout)?;
    // Connection-level settings first: they do not touch the file.
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let sync = match options.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "cache_size", cache_size(options))?;
    // Statement journals in memory: SQLite keeps one for a statement of a transaction that
    // may abort it (an upsert, or a trigger of an older schema such as the instance counts'
    // of migration 0015), holding the pages the statement changed. In a temporary file, they
    // cost a write of every such page (with 0015's triggers, batched creates ran 3× slower).
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Then the checks and migrations, before anything that would change a file that is not
    // ours (switching to WAL rewrites the header).
    migrate(conn, path)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Fail::Store(StoreError::Backend {
            detail: format!(
                "cannot switch `{}` to WAL journal mode (it stays in `{mode}` mode)",
                path.display()
            ),
        }));
    }
    // A write transaction, rolled back: it needs the `-wal` and `-shm` files, which a
    // directory this process may not write refuses (the checks above may pass without them).
    conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK")?;
    Ok(())
}

/// Checks that the file is a sayiir database this build can use (or an empty one) and applies
/// the missing migrations, all in one `BEGIN IMMEDIATE` transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let app_id: i64 = tx.pragma_query_value(None, "application_id", |row| row.get(0))?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let tables: i64 = tx.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))?;
    let empty = app_id == 0 && version == 0 && tables == 0;
    if app_id != APPLICATION_ID && !empty {
        return Err(Fail::Store(StoreError::ForeignDatabase {
            path: path.to_path_buf(),
        }));
    }
    let supported = newest();
    if version > supported {
        return Err(Fail::Store(StoreError::SchemaTooNew {
            found: version,
            supported,
        }));
    }
    if version == supported {
        // Nothing to do; dropping the transaction rolls back a transaction that wrote nothing.
        return Ok(());
    }
    for (v, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > version) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", v)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()?;
    Ok(())
}

/// Opens the reader connection, used for queries so that they do not wait for writes.
pub(super) fn open_reader(path: &Path, options: &SqliteOptions) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| map_sqlite(e, path))?;
    conn.busy_timeout(options.busy_timeout)
        .map_err(|e| map_sqlite(e, path))?;
    conn.pragma_update(None, "cache_size", cache_size(options))
        .map_err(|e| map_sqlite(e, path))?;
    Ok(conn)
}

/// `PRAGMA cache_size` for [`SqliteOptions::cache_mib`]: a negative size is in KiB.
fn cache_size(options: &SqliteOptions) -> i64 {
    -i64::from(options.cache_mib.max(1)) * 1024
}
