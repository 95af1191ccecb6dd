//! The PostgreSQL backend: any number of worker processes share one database.
//!
//! Every operation is one transaction on a connection of a pool. A commit locks its instance's
//! row (`SELECT … FOR UPDATE`) and compares sequence numbers under that lock (the single
//! commit of a common transition does it all in one statement sent outside an explicit
//! transaction); a claim leases due
//! rows with `FOR UPDATE SKIP LOCKED`, so concurrent claims (of this process or others) never
//! wait for each other nor take the same instance. Transactions that make an instance claimable
//! send `NOTIFY sayiir_wake`, which [`Store::wakeups`] turns into hints for idle workers.
//!
//! An operation whose future is dropped before it completes may still commit: the server does
//! not learn that the caller stopped waiting. The compare-and-swap on the sequence number makes
//! that safe to retry.

mod caller;
mod decode;
mod fail;
mod ops;
mod schema;
mod wake;

use std::num::NonZeroUsize;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::broadcast;

use self::fail::{Fail, Target};
use self::ops::{
    audit, create, lease, limits, list, read, schedules, signals, versions, workers, write,
};
use self::wake::Wakeups;
use crate::{
    AuditEntry, AuditQuery, Backlog, BlockChange, Blocked, Claim, ClaimRequest, Claimed,
    CommitResult, CreateResult, Created, DefinitionRecord, HistoryEntry, InstanceId,
    InstanceRecord, InstanceSummary, LeaseInfo, LimitUsage, ListQuery, Listing, Namespace,
    NewAuditEntry, NewInstance, NewSignal, RateRequest, RateUsage, Restart, ScheduleClaim,
    ScheduleRecord, ScheduleWrite, SignalRecord, SlotHolder, SlotRequest, Store, StoreError,
    Timestamp, Transition, VersionCount, WorkerId, WorkerRecord, WorkflowKey,
};

/// Options of [`PgStore::connect_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgOptions {
    /// Most connections the store's pool opens. Default: 16. The wake-up listener, once
    /// started, uses one more connection of its own.
    pub max_connections: u32,
    /// How long an operation waits for a connection of the pool (including opening a new one)
    /// before failing with [`StoreError::Unavailable`]. At connect, it also bounds the wait for
    /// another process that is migrating the schema. Default: 30 seconds.
    pub acquire_timeout: Duration,
    /// How long [`PgStore::connect`] waits for the server to accept its first connection
    /// before failing with [`StoreError::Unavailable`]. Default: 10 seconds.
    pub connect_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl PgOptions {
    /// Sets [`PgOptions::max_connections`] (at least 1).
    #[must_use]
    pub fn max_connections(mut self, max_connections: u32) -> Self {
        self.max_connections = max_connections.max(1);
        self
    }

    /// Sets [`PgOptions::acquire_timeout`].
    #[must_use]
    pub fn acquire_timeout(mut self, acquire_timeout: Duration) -> Self {
        self.acquire_timeout = acquire_timeout;
        self
    }

    /// Sets [`PgOptions::connect_timeout`].
    #[must_use]
    pub fn connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }
}

/// A [`Store`] in a PostgreSQL database, shared by any number of processes.
///
/// [`PgStore::connect`] checks that the server answers and the database exists, then creates
/// or migrates the schema (tables `sayiir_instances`, `sayiir_history`, `sayiir_signals`,
/// `sayiir_definitions`, `sayiir_migrations` in the connection's default schema); processes connecting at once
/// migrate it once. A database migrated by a newer sayiir is refused with
/// [`StoreError::SchemaTooNew`].
///
/// Workers of several processes claim instances concurrently under leases; a worker that dies
/// leaves leases that expire. [`Store::register_worker`] therefore does nothing, and
/// [`Store::unregister_worker`] releases the leases of the stopping owner only.
///
/// A row that does not decode (written by hand: an id with a control character, an unknown
/// status or block code, a version out of range, a hash that is not 32 bytes) blocks its own
/// instance and nothing else: a claim that meets it marks it [`BlockKind::CorruptRow`] (only
/// the block and lease columns are written) and goes on with the other rows, [`Store::list`]
/// reports it in [`Listing::damaged`], and [`Store::load`] fails with
/// [`StoreError::InvalidData`] naming the column, its control characters escaped.
///
/// Cheap to clone: clones share the pool and the wake-up listener (which stops once the last
/// clone is dropped). [`PgStore::from_pool`] makes one on a pool of the application's own.
///
/// [`BlockKind::CorruptRow`]: crate::BlockKind::CorruptRow
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
    /// The namespace of this handle.
    ns: Namespace,
}

struct Inner {
    pool: PgPool,
    target: Target,
    wakeups: Wakeups,
}

impl PgStore {
    /// Connects with the default options. See [`PgStore::connect_with`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PgOptions::default()).await
    }

    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, with
    /// the parameters libpq's URLs take) and migrates its schema.
    ///
    /// TLS (rustls) follows `sslmode`: `disable`; `prefer` (the default: TLS when the server
    /// offers it, its certificate not checked); `require` (TLS or fail, the certificate not
    /// checked); `verify-ca` (the certificate must chain to a trusted authority) and
    /// `verify-full` (and name the host of the URL). The trusted authorities are the Mozilla
    /// root certificates compiled in (`webpki-roots`, not the system's store) plus those of
    /// `sslrootcert=<PEM file>`, which is how a private or cloud provider's CA is given.
    /// `sslcert` / `sslkey` give a client certificate. (Cargo unifies features: if the
    /// application's own `sqlx` 0.9 enables `tls-native-tls`, sqlx uses that backend instead.)
    ///
    /// Fails with [`StoreError::Connect`] for a malformed URL, refused credentials or missing
    /// privileges, a failed TLS handshake (a certificate that does not verify, a server without
    /// TLS under `require` or `verify-*`) or a server that does not speak PostgreSQL's
    /// protocol, [`StoreError::DatabaseMissing`] when the database does not exist,
    /// [`StoreError::Unavailable`] (retryable) when the server cannot be reached or does not
    /// answer in time, and [`StoreError::SchemaTooNew`] for a database of a newer sayiir.
    pub async fn connect_with(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("postgres" | "postgresql")) {
            return Err(StoreError::Connect {
                detail: "invalid PostgreSQL URL: it must start with `postgres://` or \
                         `postgresql://`"
                    .into(),
            });
        }
        // sqlx's messages about the URL do not repeat it, so no password ends up in the error.
        let connect = PgConnectOptions::from_str(url).map_err(|e| StoreError::Connect {
            detail: format!("invalid PostgreSQL URL: {e}"),
        })?;
        let connect = if connect.get_application_name().is_none() {
            connect.application_name("sayiir")
        } else {
            connect
        };
        let target = Target::new(&connect);
        schema::prepare(&connect, &options, &target).await?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_lazy_with(connect.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                target,
                wakeups: Wakeups::new(connect, options.connect_timeout),
            }),
            ns: Namespace::default(),
        })
    }

    /// A store on the application's own pool: checks the server and the database and migrates
    /// the schema on a connection of `pool` (as [`PgStore::connect`] does, waiting for another
    /// process that migrates at the same time), then runs every operation on `pool`.
    ///
    /// The pool is used as it is: its size, its timeouts (an operation that gets no connection
    /// within its acquire timeout fails with [`StoreError::Unavailable`]), its `after_connect`
    /// hook. sayiir's tables are in the connections' default schema (`search_path`). The
    /// wake-up listener ([`Store::wakeups`]) opens one more connection, outside the pool so that
    /// it never holds one of its connections, with the pool's connect options as they are now
    /// (TLS settings included). Closing the pool ([`PgPool::close`]) ends the store: its
    /// operations fail from then on.
    ///
    /// Fails as [`PgStore::connect_with`] does; [`StoreError::Unavailable`] also when the pool
    /// gives no connection within its acquire timeout.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use sayiir_store::PgStore;
    /// use sayiir_store::sqlx::postgres::PgPoolOptions;
    ///
    /// let pool = PgPoolOptions::new()
    ///     .max_connections(32)
    ///     .connect("postgres://app@db.internal/app?sslmode=verify-full&sslrootcert=/etc/ca.pem")
    ///     .await?;
    /// let store = PgStore::from_pool(pool.clone()).await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        let connect = (*pool.connect_options()).clone();
        let target = Target::new(&connect);
        schema::prepare_pool(&pool, &target).await?;
        let wakeups = Wakeups::new(connect, pool.options().get_acquire_timeout());
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                target,
                wakeups,
            }),
            ns: Namespace::default(),
        })
    }

    /// A handle of this store bound to `namespace`: it shares the pool and the wake-up
    /// listener, and every operation of it only sees and touches `namespace`.
    #[must_use]
    pub fn with_namespace(&self, namespace: &Namespace) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            ns: namespace.clone(),
        }
    }

    /// The pool the store runs its operations on (the application's, for a store made by
    /// [`PgStore::from_pool`]).
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The newest schema version this build knows (the highest migration it applies).
    pub fn schema_version() -> i64 {
        schema::newest()
    }

    /// The versions of the migrations this build applies, oldest first (the sequence may have
    /// gaps: numbers kept for migrations of other branches).
    pub fn schema_versions() -> Vec<i64> {
        schema::versions()
    }

    /// Test hook: the `EXPLAIN (ANALYZE, BUFFERS)` lines of the (first) query of a listing, so
    /// that tests and the benchmark can check which index serves each filter.
    #[doc(hidden)]
    pub async fn list_plan_for_tests(&self, query: &ListQuery) -> Result<Vec<String>, StoreError> {
        self.map(list::list_plan(&self.inner.pool, self.ns.as_str(), query).await)
    }

    /// Test hook: the `EXPLAIN (ANALYZE, BUFFERS)` lines of [`Store::leases`] at `now`.
    #[doc(hidden)]
    pub async fn leases_plan_for_tests(&self, now: Timestamp) -> Result<Vec<String>, StoreError> {
        self.map(workers::leases_plan(&self.inner.pool, self.ns.as_str(), now).await)
    }

    /// Test hook: the `EXPLAIN (ANALYZE, BUFFERS)` lines of [`Store::backlog`] at `now`.
    #[doc(hidden)]
    pub async fn backlog_plan_for_tests(&self, now: Timestamp) -> Result<Vec<String>, StoreError> {
        self.map(read::backlog_plan(&self.inner.pool, self.ns.as_str(), now).await)
    }

    /// Test hook: the `EXPLAIN (ANALYZE, BUFFERS)` lines of a claim of `req`. The claim runs
    /// (it leases what it claims), so tests give it a lease that is over at once.
    #[doc(hidden)]
    pub async fn claim_plan_for_tests(
        &self,
        req: &ClaimRequest,
    ) -> Result<Vec<String>, StoreError> {
        self.map(lease::claim_plan(&self.inner.pool, self.ns.as_str(), req).await)
    }

    fn map<T>(&self, result: Result<T, Fail>) -> Result<T, StoreError> {
        result.map_err(|e| e.into_store(&self.inner.target))
    }
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.inner.target.to_string())
            .field("namespace", &self.ns)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn namespace(&self) -> &Namespace {
        &self.ns
    }

    fn in_namespace(&self, namespace: &Namespace) -> Result<Arc<dyn Store>, StoreError> {
        Ok(Arc::new(self.with_namespace(namespace)))
    }

    async fn create(&self, new: NewInstance) -> Result<Created, StoreError> {
        self.map(write::create(&self.inner.pool, self.ns.as_str(), new).await)
    }

    async fn create_batch(&self, news: Vec<NewInstance>) -> Result<Vec<CreateResult>, StoreError> {
        self.map(create::create_batch(&self.inner.pool, self.ns.as_str(), news).await)
    }

    async fn load(&self, id: &InstanceId) -> Result<InstanceRecord, StoreError> {
        self.map(read::load(&self.inner.pool, self.ns.as_str(), id).await)
    }

    async fn commit(&self, transition: Transition) -> Result<(), StoreError> {
        self.map(write::commit(&self.inner.pool, self.ns.as_str(), transition).await)
    }

    async fn commit_batch(
        &self,
        transitions: Vec<Transition>,
    ) -> Result<Vec<CommitResult>, StoreError> {
        self.map(write::commit_batch(&self.inner.pool, self.ns.as_str(), transitions).await)
    }

    async fn claim(&self, request: ClaimRequest) -> Result<Vec<Claimed>, StoreError> {
        self.map(lease::claim(&self.inner.pool, self.ns.as_str(), request).await)
    }

    async fn renew(
        &self,
        owner: &WorkerId,
        claims: &[Claim],
        until: Timestamp,
    ) -> Result<Vec<Claim>, StoreError> {
        self.map(lease::renew(&self.inner.pool, self.ns.as_str(), owner, claims, until).await)
    }

    async fn release(&self, owner: &WorkerId, claims: &[Claim]) -> Result<(), StoreError> {
        self.map(lease::release(&self.inner.pool, self.ns.as_str(), owner, claims).await)
    }

    async fn next_due(&self, known: &[WorkflowKey]) -> Result<Option<Timestamp>, StoreError> {
        self.map(read::next_due(&self.inner.pool, self.ns.as_str(), known).await)
    }

    async fn find_version_mismatches(
        &self,
        served: &[String],
        known: &[WorkflowKey],
    ) -> Result<Vec<InstanceSummary>, StoreError> {
        self.map(
            read::find_version_mismatches(&self.inner.pool, self.ns.as_str(), served, known).await,
        )
    }

    async fn set_blocked(
        &self,
        id: &InstanceId,
        blocked: Option<Blocked>,
    ) -> Result<(), StoreError> {
        self.map(write::set_blocked(&self.inner.pool, self.ns.as_str(), id, blocked).await)
    }

    async fn update_block(&self, change: BlockChange) -> Result<(), StoreError> {
        self.map(write::update_block(&self.inner.pool, self.ns.as_str(), change).await)
    }

    async fn backlog(&self, now: Timestamp) -> Result<Backlog, StoreError> {
        self.map(read::backlog(&self.inner.pool, self.ns.as_str(), now).await)
    }

    async fn list(&self, query: &ListQuery) -> Result<Listing, StoreError> {
        self.map(list::list(&self.inner.pool, self.ns.as_str(), query).await)
    }

    async fn history(
        &self,
        id: &InstanceId,
        after: Option<u64>,
        limit: Option<NonZeroUsize>,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        self.map(read::history(&self.inner.pool, self.ns.as_str(), id, after, limit).await)
    }

    /// Does nothing: several worker processes may share a PostgreSQL database, so the leases
    /// of other workers are live (or expire on their own).
    async fn register_worker(&self, _owner: &WorkerId) -> Result<(), StoreError> {
        Ok(())
    }

    async fn unregister_worker(&self, owner: &WorkerId) -> Result<(), StoreError> {
        self.map(lease::release_owner(&self.inner.pool, self.ns.as_str(), owner).await)
    }

    async fn heartbeat(&self, worker: WorkerRecord) -> Result<(), StoreError> {
        self.map(workers::heartbeat(&self.inner.pool, self.ns.as_str(), worker).await)?;
        // Workers fold the instance counts' deltas as they go, so that a stats read after a
        // long time without one does not fold them all.
        self.map(versions::fold_counts(&self.inner.pool).await)
    }

    async fn workers(&self) -> Result<Vec<WorkerRecord>, StoreError> {
        self.map(workers::list(&self.inner.pool, self.ns.as_str()).await)
    }

    async fn leases(
        &self,
        now: Timestamp,
        limit: NonZeroUsize,
    ) -> Result<Vec<LeaseInfo>, StoreError> {
        self.map(workers::leases(&self.inner.pool, self.ns.as_str(), now, limit.get()).await)
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<u64, StoreError> {
        self.map(audit::append(&self.inner.pool, self.ns.as_str(), entry).await)
    }

    async fn audit(&self, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.map(audit::page(&self.inner.pool, self.ns.as_str(), query).await)
    }

    async fn acquire_slot(&self, request: SlotRequest) -> Result<bool, StoreError> {
        self.map(limits::acquire(&self.inner.pool, request).await)
    }

    async fn release_slot(&self, key: &str, holder: &SlotHolder) -> Result<(), StoreError> {
        self.map(limits::release(&self.inner.pool, key, holder).await)
    }

    async fn reserve_start(&self, request: RateRequest) -> Result<Timestamp, StoreError> {
        self.map(limits::reserve(&self.inner.pool, request).await)
    }

    async fn limit_usage(&self, now: Timestamp) -> Result<Vec<LimitUsage>, StoreError> {
        let usage = async {
            let mut usage = limits::usage(&self.inner.pool, now).await?;
            let mut conn = self.inner.pool.acquire().await?;
            usage.extend(ops::gates::usage(&mut conn).await?);
            usage.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(usage)
        };
        self.map(usage.await)
    }

    async fn rate_usage(&self) -> Result<Vec<RateUsage>, StoreError> {
        self.map(limits::rates(&self.inner.pool).await)
    }

    async fn send_signal(&self, signal: NewSignal) -> Result<u64, StoreError> {
        self.map(signals::send(&self.inner.pool, self.ns.as_str(), signal).await)
    }

    async fn signals(&self, id: &InstanceId) -> Result<Vec<SignalRecord>, StoreError> {
        self.map(signals::list(&self.inner.pool, self.ns.as_str(), id).await)
    }

    async fn restart(&self, restart: Restart) -> Result<(), StoreError> {
        self.map(versions::restart(&self.inner.pool, self.ns.as_str(), restart).await)
    }

    async fn load_input(&self, id: &InstanceId) -> Result<Option<Vec<u8>>, StoreError> {
        self.map(versions::load_input(&self.inner.pool, self.ns.as_str(), id).await)
    }

    async fn save_definitions(&self, definitions: Vec<DefinitionRecord>) -> Result<(), StoreError> {
        self.map(versions::save_definitions(&self.inner.pool, definitions).await)
    }

    async fn definitions(
        &self,
        workflow: Option<&str>,
    ) -> Result<Vec<DefinitionRecord>, StoreError> {
        self.map(versions::definitions(&self.inner.pool, workflow).await)
    }

    async fn version_counts(&self) -> Result<Vec<VersionCount>, StoreError> {
        self.map(versions::version_counts(&self.inner.pool, self.ns.as_str()).await)
    }

    async fn create_schedule(
        &self,
        schedule: ScheduleRecord,
    ) -> Result<ScheduleRecord, StoreError> {
        self.map(schedules::create(&self.inner.pool, self.ns.as_str(), schedule).await)
    }

    async fn load_schedule(&self, id: &str) -> Result<ScheduleRecord, StoreError> {
        self.map(schedules::load(&self.inner.pool, self.ns.as_str(), id).await)
    }

    async fn schedules(&self) -> Result<Vec<ScheduleRecord>, StoreError> {
        self.map(schedules::list(&self.inner.pool, self.ns.as_str()).await)
    }

    async fn claim_schedules(
        &self,
        claim: ScheduleClaim,
    ) -> Result<Vec<ScheduleRecord>, StoreError> {
        self.map(schedules::claim(&self.inner.pool, self.ns.as_str(), &claim).await)
    }

    async fn write_schedule(&self, write: ScheduleWrite) -> Result<ScheduleRecord, StoreError> {
        self.map(schedules::write(&self.inner.pool, self.ns.as_str(), write).await)
    }

    async fn delete_schedule(&self, id: &str) -> Result<(), StoreError> {
        self.map(schedules::delete(&self.inner.pool, self.ns.as_str(), id).await)
    }

    async fn next_schedule_due(&self, served: &[String]) -> Result<Option<Timestamp>, StoreError> {
        self.map(schedules::next_due(&self.inner.pool, self.ns.as_str(), served).await)
    }

    /// Hints from `LISTEN sayiir_wake`, on a connection of its own that a background task
    /// opens on the first call (on the current tokio runtime) and keeps open, reconnecting
    /// after errors, until the store is dropped. A hint is also sent after each (re)connection,
    /// since notifications sent meanwhile are lost. `None` outside a tokio runtime.
    fn wakeups(&self) -> Option<broadcast::Receiver<()>> {
        self.inner.wakeups.subscribe()
    }
}
