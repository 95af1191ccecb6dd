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

mod caller;
mod decode;
mod fail;
mod file;
mod lock;
mod ops;
mod schema;

use std::num::NonZeroUsize;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use self::fail::Fail;
use self::file::FileId;
use self::lock::WorkerLock;
use self::ops::{
    audit, create, gates, lease, limits, read, schedules, signals, versions, workers, write,
};
use crate::{
    AuditEntry, AuditQuery, Backlog, BlockChange, Blocked, Claim, ClaimRequest, Claimed,
    CommitResult, CreateResult, Created, DefinitionRecord, HistoryEntry, InstanceId,
    InstanceRecord, InstanceSummary, LeaseInfo, LimitUsage, ListQuery, Listing, Namespace,
    NewAuditEntry, NewInstance, NewSignal, RateRequest, RateUsage, Restart, ScheduleClaim,
    ScheduleRecord, ScheduleWrite, SignalRecord, SlotHolder, SlotRequest, Store, StoreError,
    Timestamp, Transition, VersionCount, WorkerId, WorkerRecord, WorkflowKey,
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
    /// Permissions (Unix mode bits, less the process's umask) of the files the store creates:
    /// the database, its `-wal` and `-shm` files (SQLite gives them the database's) and the
    /// worker's `.lock` file. They hold workflow inputs, states and outputs. Files that exist
    /// already keep theirs. Ignored on other systems. Default: `0o600` (owner only).
    pub file_mode: u32,
    /// The most memory each of the store's two connections (the writer and the reader) keeps
    /// pages of the file in, in MiB (`PRAGMA cache_size`). It fills only as pages are read. A
    /// step reads and writes about a dozen B-trees (the table, its indexes, the history); in a
    /// file of a million instances their inner pages alone take several MiB, and pages missing
    /// from this cache are read again from the operating system's. A larger cache is not free
    /// either: a connection drops all of its cached pages whenever another connection has
    /// written to the file since its last transaction (the reader: at its first read after
    /// each commit).
    /// Default: 2 MiB (about SQLite's own default, 2,000 KiB); docs/performance.md has what a
    /// larger one did for the benchmark.
    pub cache_mib: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            file_mode: 0o600,
            cache_mib: 2,
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

    /// Sets [`SqliteOptions::cache_mib`].
    #[must_use]
    pub fn cache_mib(mut self, cache_mib: u32) -> Self {
        self.cache_mib = cache_mib;
        self
    }

    /// Sets [`SqliteOptions::busy_timeout`].
    #[must_use]
    pub fn busy_timeout(mut self, busy_timeout: Duration) -> Self {
        self.busy_timeout = busy_timeout;
        self
    }

    /// Sets [`SqliteOptions::file_mode`].
    #[must_use]
    pub fn file_mode(mut self, file_mode: u32) -> Self {
        self.file_mode = file_mode;
        self
    }
}

/// A [`Store`] in a SQLite database file.
///
/// Opening creates the file if needed (with [`SqliteOptions::file_mode`], `0o600` by default,
/// as are its `-wal`, `-shm` and `<path>.lock` side files) and migrates its schema. It fails
/// with a typed error naming the file when the file cannot be used:
/// [`StoreError::File`] when its directory is missing, its path is a directory, or this
/// process may not write the file or create files in its directory (a read-only file,
/// directory or file system: checked at open with a write transaction that is rolled back, not
/// at the first write); [`StoreError::NotADatabase`] when it is not a SQLite database;
/// [`StoreError::ForeignDatabase`] when it belongs to another application;
/// [`StoreError::SchemaTooNew`] when a newer sayiir wrote it.
///
/// Every operation first checks that the file at the path is still the one it opened (device
/// and inode on Unix), and a write checks again once done: a file deleted or replaced under
/// the store (a rename over it, a restore) fails every operation from then on with
/// [`StoreError::File`] ([`FileProblem::Deleted`] or [`FileProblem::Replaced`]) instead of
/// reporting writes that no file at that path holds; a worker stops with that error.
///
/// A row that does not decode (damaged by hand or by a faulty disk) blocks its own instance
/// and nothing else: a claim that meets it marks it [`BlockKind::CorruptRow`] and goes on
/// with the other rows, [`Store::list`] reports it in [`Listing::damaged`], and
/// [`Store::load`] fails with [`StoreError::InvalidData`] naming the column.
///
/// Only one worker process may work a database at a time: [`Store::register_worker`] takes an
/// exclusive lock on `<path>.lock`.
///
/// Cheap to clone: clones share the connections and the worker lock.
///
/// [`BlockKind::CorruptRow`]: crate::BlockKind::CorruptRow
/// [`FileProblem::Deleted`]: crate::FileProblem::Deleted
/// [`FileProblem::Replaced`]: crate::FileProblem::Replaced
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
    /// The namespace of this handle.
    ns: Namespace,
}

struct Inner {
    /// The database file, as given to `open`.
    path: PathBuf,
    /// The database file's canonical path, where its identity is checked.
    canonical: PathBuf,
    /// The identity of the file the connections opened.
    opened: FileId,
    /// The worker lock file: `<canonical path>.lock`.
    lock_path: PathBuf,
    /// Permissions of the lock file when the store creates it.
    file_mode: u32,
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
    /// Runs `f` on the writer connection, on the current thread, between two checks that the
    /// file at the path is the one the store opened: what a write did to a file deleted or
    /// replaced meanwhile is reported as that, not as done.
    fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, Fail>,
    ) -> Result<T, StoreError> {
        let mut conn = lock_conn(&self.writer);
        self.check_file()?;
        let result = f(&mut conn).map_err(|e| e.into_store(&self.path));
        self.check_file()?;
        result
    }

    /// Runs `f` on the reader connection, on the current thread, once it checked that the file
    /// at the path is the one the store opened.
    fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, Fail>,
    ) -> Result<T, StoreError> {
        let mut conn = lock_conn(&self.reader);
        self.check_file()?;
        f(&mut conn).map_err(|e| e.into_store(&self.path))
    }

    /// Fails with [`StoreError::File`] if the file at the path is no longer the one opened.
    fn check_file(&self) -> Result<(), StoreError> {
        file::check_identity(&self.path, &self.canonical, self.opened)
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with the default options.
    ///
    /// There is no constructor from an open `rusqlite::Connection`: the store opens the file
    /// itself, twice (a writer connection, whose transactions are all `BEGIN IMMEDIATE`, and a
    /// read-only one that reads while the writer writes, both with its own pragmas: WAL,
    /// `synchronous`, busy timeout), and locks `<path>.lock` by the file's canonical path for
    /// its worker; one connection of the application's cannot be split in two and may not
    /// even have a file (`:memory:`). The application keeps its own connections to the same
    /// file, and can start instances and send signals in their transactions
    /// ([`Transactional`](crate::Transactional)).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens (creating if needed) the database at `path`. Blocks while it checks and migrates
    /// the schema.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let writer = schema::open_writer(&path, &options)?;
        // The file exists now. Locking by its canonical name makes every path to it (relative,
        // through a symlink) agree on one lock file; checking its identity there keeps working
        // when the process changes its working directory.
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        let opened = file::identity(&canonical).map_err(|source| StoreError::Io {
            context: format!("cannot read the metadata of `{}`", path.display()),
            source,
        })?;
        let reader = schema::open_reader(&path, &options)?;
        writer.set_prepared_statement_cache_capacity(64);
        reader.set_prepared_statement_cache_capacity(64);
        let lock_path = lock::lock_path(&canonical);
        // Created now, so that a directory where it cannot be is an error of `open`.
        lock::create(&path, &lock_path, options.file_mode)?;
        Ok(Self {
            inner: Arc::new(Inner {
                lock_path,
                canonical,
                opened,
                file_mode: options.file_mode,
                path,
                reader: Mutex::new(reader),
                writer: Mutex::new(writer),
                worker: Mutex::new(WorkerLock::default()),
            }),
            ns: Namespace::default(),
        })
    }

    /// A handle of this store bound to `namespace`: it shares the connections and the worker
    /// lock, and every operation of it only sees and touches `namespace`.
    #[must_use]
    pub fn with_namespace(&self, namespace: &Namespace) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            ns: namespace.clone(),
        }
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
        let ns = self.ns.clone();
        self.read(move |conn| lease::claim_plan(conn, ns.as_str(), &known, &[]))
            .await
    }

    /// Test hook: the `EXPLAIN QUERY PLAN` details of the claim query for `known` when the
    /// claimable instances have the head starts `ahead`, and of the probe of the head starts.
    #[doc(hidden)]
    pub async fn ranked_claim_plan_for_tests(
        &self,
        known: Vec<WorkflowKey>,
        ahead: Vec<i64>,
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let ns = self.ns.clone();
        self.read(move |conn| {
            Ok((
                lease::claim_plan(conn, ns.as_str(), &known, &ahead)?,
                lease::head_starts_plan(conn, ns.as_str())?,
            ))
        })
        .await
    }

    /// Test hook: the `EXPLAIN QUERY PLAN` details of the (first) query of a listing, so that
    /// tests can check which index serves each filter.
    #[doc(hidden)]
    pub async fn list_plan_for_tests(&self, query: ListQuery) -> Result<Vec<String>, StoreError> {
        let ns = self.ns.clone();
        self.read(move |conn| read::list_plan(conn, ns.as_str(), &query))
            .await
    }

    /// Test hook: the `EXPLAIN QUERY PLAN` details of [`Store::leases`]'s query.
    #[doc(hidden)]
    pub async fn leases_plan_for_tests(&self, now: Timestamp) -> Result<Vec<String>, StoreError> {
        let ns = self.ns.clone();
        self.read(move |conn| workers::leases_plan(conn, ns.as_str(), now))
            .await
    }

    /// Test hook: the `EXPLAIN QUERY PLAN` details of [`Store::backlog`]'s query.
    #[doc(hidden)]
    pub async fn backlog_plan_for_tests(&self, now: Timestamp) -> Result<Vec<String>, StoreError> {
        let ns = self.ns.clone();
        self.read(move |conn| read::backlog_plan(conn, ns.as_str(), now))
            .await
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
            .field("namespace", &self.ns)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn namespace(&self) -> &Namespace {
        &self.ns
    }

    fn in_namespace(&self, namespace: &Namespace) -> Result<Arc<dyn Store>, StoreError> {
        Ok(Arc::new(self.with_namespace(namespace)))
    }

    async fn create(&self, new: NewInstance) -> Result<Created, StoreError> {
        let ns = self.ns.clone();
        self.write(move |conn| create::create(conn, ns.as_str(), new))
            .await
    }

    async fn create_batch(&self, news: Vec<NewInstance>) -> Result<Vec<CreateResult>, StoreError> {
        if news.is_empty() {
            return Ok(Vec::new());
        }
        let ns = self.ns.clone();
        self.write(move |conn| create::create_batch(conn, ns.as_str(), news))
            .await
    }

    async fn load(&self, id: &InstanceId) -> Result<InstanceRecord, StoreError> {
        let id = id.clone();
        let ns = self.ns.clone();
        self.read(move |conn| read::load(conn, ns.as_str(), &id))
            .await
    }

    async fn commit(&self, transition: Transition) -> Result<(), StoreError> {
        let ns = self.ns.clone();
        self.write(move |conn| write::commit(conn, ns.as_str(), transition))
            .await
    }

    async fn commit_batch(
        &self,
        transitions: Vec<Transition>,
    ) -> Result<Vec<CommitResult>, StoreError> {
        if transitions.is_empty() {
            return Ok(Vec::new());
        }
        let ns = self.ns.clone();
        self.write(move |conn| write::commit_batch(conn, ns.as_str(), transitions))
            .await
    }

    async fn claim(&self, request: ClaimRequest) -> Result<Vec<Claimed>, StoreError> {
        if request.known.is_empty() || request.limit == 0 {
            return Ok(Vec::new());
        }
        let ns = self.ns.clone();
        self.write(move |conn| lease::claim(conn, ns.as_str(), request))
            .await
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
        let ns = self.ns.clone();
        self.write(move |conn| lease::renew(conn, ns.as_str(), &owner, &claims, until))
            .await
    }

    async fn release(&self, owner: &WorkerId, claims: &[Claim]) -> Result<(), StoreError> {
        if claims.is_empty() {
            return Ok(());
        }
        let (owner, claims) = (owner.clone(), claims.to_vec());
        let ns = self.ns.clone();
        self.write(move |conn| lease::release(conn, ns.as_str(), &owner, &claims))
            .await
    }

    async fn next_due(&self, known: &[WorkflowKey]) -> Result<Option<Timestamp>, StoreError> {
        if known.is_empty() {
            return Ok(None);
        }
        let known = known.to_vec();
        let ns = self.ns.clone();
        self.read(move |conn| read::next_due(conn, ns.as_str(), &known))
            .await
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
        let ns = self.ns.clone();
        self.read(move |conn| read::find_version_mismatches(conn, ns.as_str(), &served, &known))
            .await
    }

    async fn set_blocked(
        &self,
        id: &InstanceId,
        blocked: Option<Blocked>,
    ) -> Result<(), StoreError> {
        let id = id.clone();
        let ns = self.ns.clone();
        self.write(move |conn| write::set_blocked(conn, ns.as_str(), &id, blocked))
            .await
    }

    async fn update_block(&self, change: BlockChange) -> Result<(), StoreError> {
        let ns = self.ns.clone();
        self.write(move |conn| write::update_block(conn, ns.as_str(), change))
            .await
    }

    async fn backlog(&self, now: Timestamp) -> Result<Backlog, StoreError> {
        let ns = self.ns.clone();
        self.read(move |conn| read::backlog(conn, ns.as_str(), now))
            .await
    }

    async fn list(&self, query: &ListQuery) -> Result<Listing, StoreError> {
        let query = query.clone();
        let ns = self.ns.clone();
        self.read(move |conn| read::list(conn, ns.as_str(), &query))
            .await
    }

    async fn history(
        &self,
        id: &InstanceId,
        after: Option<u64>,
        limit: Option<NonZeroUsize>,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let id = id.clone();
        let ns = self.ns.clone();
        self.read(move |conn| read::history(conn, ns.as_str(), &id, after, limit))
            .await
    }

    async fn register_worker(&self, owner: &WorkerId) -> Result<(), StoreError> {
        let owner = owner.clone();
        self.blocking(move |inner| inner.register_worker(&owner))
            .await
    }

    async fn unregister_worker(&self, owner: &WorkerId) -> Result<(), StoreError> {
        let owner = owner.clone();
        let ns = self.ns.clone();
        self.blocking(move |inner| inner.unregister_worker(ns.as_str(), &owner))
            .await
    }

    async fn heartbeat(&self, worker: WorkerRecord) -> Result<(), StoreError> {
        let ns = self.ns.clone();
        self.write(move |conn| workers::heartbeat(conn, ns.as_str(), worker))
            .await
    }

    async fn workers(&self) -> Result<Vec<WorkerRecord>, StoreError> {
        let ns = self.ns.clone();
        self.read(move |conn| workers::list(conn, ns.as_str()))
            .await
    }

    async fn leases(
        &self,
        now: Timestamp,
        limit: NonZeroUsize,
    ) -> Result<Vec<LeaseInfo>, StoreError> {
        let ns = self.ns.clone();
        self.read(move |conn| workers::leases(conn, ns.as_str(), now, limit.get()))
            .await
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<u64, StoreError> {
        let ns = self.ns.clone();
        self.write(move |conn| audit::append(conn, ns.as_str(), entry))
            .await
    }

    async fn audit(&self, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let ns = self.ns.clone();
        self.read(move |conn| audit::page(conn, ns.as_str(), query))
            .await
    }

    async fn acquire_slot(&self, request: SlotRequest) -> Result<bool, StoreError> {
        self.write(move |conn| limits::acquire(conn, request)).await
    }

    async fn release_slot(&self, key: &str, holder: &SlotHolder) -> Result<(), StoreError> {
        let (key, holder) = (key.to_owned(), holder.clone());
        self.write(move |conn| limits::release(conn, &key, &holder))
            .await
    }

    async fn reserve_start(&self, request: RateRequest) -> Result<Timestamp, StoreError> {
        self.write(move |conn| limits::reserve(conn, request)).await
    }

    async fn limit_usage(&self, now: Timestamp) -> Result<Vec<LimitUsage>, StoreError> {
        self.read(move |conn| {
            let mut usage = limits::usage(conn, now)?;
            usage.extend(gates::usage(conn)?);
            usage.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(usage)
        })
        .await
    }

    async fn rate_usage(&self) -> Result<Vec<RateUsage>, StoreError> {
        self.read(|conn| limits::rates(conn)).await
    }

    async fn send_signal(&self, signal: NewSignal) -> Result<u64, StoreError> {
        let ns = self.ns.clone();
        self.write(move |conn| signals::send(conn, ns.as_str(), signal))
            .await
    }

    async fn signals(&self, id: &InstanceId) -> Result<Vec<SignalRecord>, StoreError> {
        let id = id.clone();
        let ns = self.ns.clone();
        self.read(move |conn| signals::list(conn, ns.as_str(), &id))
            .await
    }

    async fn restart(&self, restart: Restart) -> Result<(), StoreError> {
        let ns = self.ns.clone();
        self.write(move |conn| versions::restart(conn, ns.as_str(), restart))
            .await
    }

    async fn load_input(&self, id: &InstanceId) -> Result<Option<Vec<u8>>, StoreError> {
        let id = id.clone();
        let ns = self.ns.clone();
        self.read(move |conn| versions::load_input(conn, ns.as_str(), &id))
            .await
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
        let ns = self.ns.clone();
        self.read(move |conn| versions::version_counts(conn, ns.as_str()))
            .await
    }

    async fn create_schedule(
        &self,
        schedule: ScheduleRecord,
    ) -> Result<ScheduleRecord, StoreError> {
        let ns = self.ns.clone();
        self.write(move |conn| schedules::create(conn, ns.as_str(), schedule))
            .await
    }

    async fn load_schedule(&self, id: &str) -> Result<ScheduleRecord, StoreError> {
        let id = id.to_owned();
        let ns = self.ns.clone();
        self.read(move |conn| schedules::load(conn, ns.as_str(), &id))
            .await
    }

    async fn schedules(&self) -> Result<Vec<ScheduleRecord>, StoreError> {
        let ns = self.ns.clone();
        self.read(move |conn| schedules::list(conn, ns.as_str()))
            .await
    }

    async fn claim_schedules(
        &self,
        claim: ScheduleClaim,
    ) -> Result<Vec<ScheduleRecord>, StoreError> {
        if claim.limit == 0 || claim.served.is_empty() {
            return Ok(Vec::new());
        }
        let ns = self.ns.clone();
        self.write(move |conn| schedules::claim(conn, ns.as_str(), &claim))
            .await
    }

    async fn write_schedule(&self, write: ScheduleWrite) -> Result<ScheduleRecord, StoreError> {
        let ns = self.ns.clone();
        self.write(move |conn| schedules::write(conn, ns.as_str(), write))
            .await
    }

    async fn delete_schedule(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        let ns = self.ns.clone();
        self.write(move |conn| schedules::delete(conn, ns.as_str(), &id))
            .await
    }

    async fn next_schedule_due(&self, served: &[String]) -> Result<Option<Timestamp>, StoreError> {
        if served.is_empty() {
            return Ok(None);
        }
        let served = served.to_vec();
        let ns = self.ns.clone();
        self.read(move |conn| schedules::next_due(conn, ns.as_str(), &served))
            .await
    }
}
