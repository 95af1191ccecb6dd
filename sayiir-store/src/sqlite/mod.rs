//! The SQLite backend: one database file in WAL mode, one worker process per file.
//!
//! Every operation runs its SQL on tokio's blocking pool. Writes go through a single writer
//! connection and each one is a `BEGIN IMMEDIATE` transaction, so writers never deadlock on a
//! lock upgrade; queries use a separate read-only connection, which in WAL mode sees the last
//! committed state without waiting for a write in progress.
//!
//! An operation whose future is dropped before it completes still runs to the end on the
//! blocking pool: a commit may be applied even though its caller stopped waiting. The
//! compare-and-swap on the sequence number makes that safe to retry.

mod decode;
mod fail;
mod lock;
mod ops;
mod schema;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use self::fail::Fail;
use self::lock::WorkerLock;
use self::ops::{create, lease, read, signals, versions, write};
use crate::{
    Blocked, Claim, ClaimRequest, Claimed, CommitResult, CreateResult, Created, DefinitionRecord,
    HistoryEntry, InstanceId, InstanceRecord, InstanceSummary, ListQuery, NewInstance, NewSignal,
    Restart, SignalRecord, Store, StoreError, Timestamp, Transition, VersionCount, WorkerId,
    WorkflowKey,
};

/// Durability of a commit (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// Every commit is on disk before it returns, even across a power loss (`FULL`).
    #[default]
    Full,
    /// Commits survive a crash of the process but the last ones may be lost on a power loss or
    /// an operating system crash (`NORMAL`); faster.
    Normal,
}

/// Options of [`SqliteStore::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Durability of commits. Default: [`Synchronous::Full`].
    pub synchronous: Synchronous,
    /// How long an operation waits for a lock held by another connection before failing with
    /// [`StoreError::Unavailable`]. Default: 5 seconds.
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

impl SqliteOptions {
    /// Sets [`SqliteOptions::synchronous`].
    #[must_use]
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// Sets [`SqliteOptions::busy_timeout`].
    #[must_use]
    pub fn busy_timeout(mut self, busy_timeout: Duration) -> Self {
        self.busy_timeout = busy_timeout;
        self
    }
}

/// A [`Store`] in a SQLite database file.
///
/// Opening creates the file if needed and migrates its schema; the file is refused if it is not
/// a SQLite database ([`StoreError::NotADatabase`]), belongs to another application
/// ([`StoreError::ForeignDatabase`]) or was written by a newer sayiir
/// ([`StoreError::SchemaTooNew`]). Only one worker process may work a database at a time:
/// [`Store::register_worker`] takes an exclusive lock on `<path>.lock`.
///
/// Share it behind an `Arc`; it is not `Clone`.
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// The database file, as given to `open`.
    path: PathBuf,
    /// The worker lock file: `<canonical path>.lock`.
    lock_path: PathBuf,
    // Fields drop in order: the connections close (the writer checkpoints the WAL) before the
    // worker lock is released.
    reader: Mutex<Connection>,
    writer: Mutex<Connection>,
    worker: Mutex<WorkerLock>,
}

/// Locks a connection.
fn lock_conn(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while the guard was held happened inside an operation; unwinding dropped its
    // `Transaction`, which rolls back. The connection is therefore at a transaction boundary
    // and safe to reuse. Should a transaction still be open anyway, roll it back here.
    let conn = m.lock().unwrap_or_else(|e| e.into_inner());
    if !conn.is_autocommit() {
        // If this fails the next `BEGIN` fails too and reports the problem.
        let _ = conn.execute_batch("ROLLBACK");
    }
    conn
}

impl Inner {
    /// Runs `f` on the writer connection, on the current thread.
    fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, Fail>,
    ) -> Result<T, StoreError> {
        f(&mut lock_conn(&self.writer)).map_err(|e| e.into_store(&self.path))
    }

    /// Runs `f` on the reader connection, on the current thread.
    fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, Fail>,
    ) -> Result<T, StoreError> {
        f(&mut lock_conn(&self.reader)).map_err(|e| e.into_store(&self.path))
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with the default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens (creating if needed) the database at `path`. Blocks while it checks and migrates
    /// the schema.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let writer = schema::open_writer(&path, &options)?;
        let reader = schema::open_reader(&path, &options)?;
        writer.set_prepared_statement_cache_capacity(64);
        reader.set_prepared_statement_cache_capacity(64);
        // The file exists now. Locking by its canonical name makes every path to it (relative,
        // through a symlink) agree on one lock file.
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                lock_path: lock::lock_path(&canonical),
                path,
                reader: Mutex::new(reader),
                writer: Mutex::new(writer),
                worker: Mutex::new(WorkerLock::default()),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Test hook: sets `PRAGMA max_page_count` on the writer connection, so that tests can make
    /// the database "full". Returns the limit in force, which SQLite never sets below the
    /// current size.
    #[doc(hidden)]
    pub async fn set_max_page_count_for_tests(&self, pages: u64) -> Result<u64, StoreError> {
        let pages = i64::try_from(pages).unwrap_or(i64::MAX);
        self.write(move |conn| {
            let n: i64 =
                conn.pragma_update_and_check(None, "max_page_count", pages, |row| row.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    /// Test hook: the `EXPLAIN QUERY PLAN` details of the claim query for `known`, so that
    /// tests can check that claims walk the due index.
    #[doc(hidden)]
    pub async fn claim_plan_for_tests(
        &self,
        known: Vec<WorkflowKey>,
    ) -> Result<Vec<String>, StoreError> {
        self.read(move |conn| lease::claim_plan(conn, &known)).await
    }

    /// Runs `f` on the blocking pool.
    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        match tokio::task::spawn_blocking(move || f(&inner)).await {
            Ok(result) => result,
            Err(e) => Err(StoreError::Backend {
                detail: if e.is_panic() {
                    format!("a SQLite operation panicked: {e}")
                } else {
                    format!("a SQLite operation was cancelled: {e}")
                },
            }),
        }
    }

    /// Runs `f` on the writer connection, on the blocking pool.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Fail> + Send + 'static,
    {
        self.blocking(move |inner| inner.write_blocking(f)).await
    }

    /// Runs `f` on the reader connection, on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Fail> + Send + 'static,
    {
        self.blocking(move |inner| inner.read_blocking(f)).await
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn create(&self, new: NewInstance) -> Result<Created, StoreError> {
        self.write(move |conn| create::create(conn, new)).await
    }

    async fn create_batch(&self, news: Vec<NewInstance>) -> Result<Vec<CreateResult>, StoreError> {
        if news.is_empty() {
            return Ok(Vec::new());
        }
        self.write(move |conn| create::create_batch(conn, news))
            .await
    }

    async fn load(&self, id: &InstanceId) -> Result<InstanceRecord, StoreError> {
        let id = id.clone();
        self.read(move |conn| read::load(conn, &id)).await
    }

    async fn commit(&self, transition: Transition) -> Result<(), StoreError> {
        self.write(move |conn| write::commit(conn, transition))
            .await
    }

    async fn commit_batch(
        &self,
        transitions: Vec<Transition>,
    ) -> Result<Vec<CommitResult>, StoreError> {
        if transitions.is_empty() {
            return Ok(Vec::new());
        }
        self.write(move |conn| write::commit_batch(conn, transitions))
            .await
    }

    async fn claim(&self, request: ClaimRequest) -> Result<Vec<Claimed>, StoreError> {
        if request.known.is_empty() || request.limit == 0 {
            return Ok(Vec::new());
        }
        self.write(move |conn| lease::claim(conn, request)).await
    }

    async fn renew(
        &self,
        owner: &WorkerId,
        claims: &[Claim],
        until: Timestamp,
    ) -> Result<Vec<Claim>, StoreError> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let (owner, claims) = (owner.clone(), claims.to_vec());
        self.write(move |conn| lease::renew(conn, &owner, &claims, until))
            .await
    }

    async fn release(&self, owner: &WorkerId, claims: &[Claim]) -> Result<(), StoreError> {
        if claims.is_empty() {
            return Ok(());
        }
        let (owner, claims) = (owner.clone(), claims.to_vec());
        self.write(move |conn| lease::release(conn, &owner, &claims))
            .await
    }

    async fn next_due(&self, known: &[WorkflowKey]) -> Result<Option<Timestamp>, StoreError> {
        if known.is_empty() {
            return Ok(None);
        }
        let known = known.to_vec();
        self.read(move |conn| read::next_due(conn, &known)).await
    }

    async fn find_version_mismatches(
        &self,
        served: &[String],
        known: &[WorkflowKey],
    ) -> Result<Vec<InstanceSummary>, StoreError> {
        if served.is_empty() {
            return Ok(Vec::new());
        }
        let (served, known) = (served.to_vec(), known.to_vec());
        self.read(move |conn| read::find_version_mismatches(conn, &served, &known))
            .await
    }

    async fn set_blocked(
        &self,
        id: &InstanceId,
        blocked: Option<Blocked>,
    ) -> Result<(), StoreError> {
        let id = id.clone();
        self.write(move |conn| write::set_blocked(conn, &id, blocked))
            .await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<InstanceSummary>, StoreError> {
        let query = query.clone();
        self.read(move |conn| read::list(conn, &query)).await
    }

    async fn history(
        &self,
        id: &InstanceId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let id = id.clone();
        self.read(move |conn| read::history(conn, &id, after, limit))
            .await
    }

    async fn register_worker(&self, owner: &WorkerId) -> Result<(), StoreError> {
        let owner = owner.clone();
        self.blocking(move |inner| inner.register_worker(&owner))
            .await
    }

    async fn unregister_worker(&self, owner: &WorkerId) -> Result<(), StoreError> {
        let owner = owner.clone();
        self.blocking(move |inner| inner.unregister_worker(&owner))
            .await
    }

    async fn send_signal(&self, signal: NewSignal) -> Result<u64, StoreError> {
        self.write(move |conn| signals::send(conn, signal)).await
    }

    async fn signals(&self, id: &InstanceId) -> Result<Vec<SignalRecord>, StoreError> {
        let id = id.clone();
        self.read(move |conn| signals::list(conn, &id)).await
    }

    async fn restart(&self, restart: Restart) -> Result<(), StoreError> {
        self.write(move |conn| versions::restart(conn, restart))
            .await
    }

    async fn load_input(&self, id: &InstanceId) -> Result<Option<Vec<u8>>, StoreError> {
        let id = id.clone();
        self.read(move |conn| versions::load_input(conn, &id)).await
    }

    async fn save_definitions(&self, definitions: Vec<DefinitionRecord>) -> Result<(), StoreError> {
        if definitions.is_empty() {
            return Ok(());
        }
        self.write(move |conn| versions::save_definitions(conn, definitions))
            .await
    }

    async fn definitions(
        &self,
        workflow: Option<&str>,
    ) -> Result<Vec<DefinitionRecord>, StoreError> {
        let workflow = workflow.map(str::to_owned);
        self.read(move |conn| versions::definitions(conn, workflow.as_deref()))
            .await
    }

    async fn version_counts(&self) -> Result<Vec<VersionCount>, StoreError> {
        self.read(|conn| versions::version_counts(conn)).await
    }
}
