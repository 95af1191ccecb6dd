//! The test engine: the real engine, worker and store code, driven by a virtual clock, so a
//! workflow that sleeps for 30 days or waits a day for a signal runs in milliseconds in a unit
//! test. See `docs/testing.md`.
//!
//! Time moves only when the test says so ([`TestEngine::advance`]) or, in
//! [`TestEngine::run_until_done`], when the engine is idle: then the clock jumps to the next
//! due time (a sleep, a backoff, a signal's deadline). Time does not move while tasks run:
//! a task that never ends under a `timeout` needs an explicit [`TestEngine::advance`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sayiir_store::{IntoInstanceId, MemoryStore, Store, Timestamp};

use crate::builder::{BuildError, EngineBuilder};
use crate::clock::VirtualClock;
use crate::core::WorkerConfig;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::machine::Workflow;
use crate::migrate::Migration;
use crate::worker::WorkerHandle;

/// Checks the workflows lock file at `path` against `engine`'s registered definitions (see
/// [`Engine::check_lock`] and `docs/versioning.md`) and panics with the readable diff when they
/// differ: call it from a `#[test]` with the engine your service builds. Set
/// `SAYIIR_UPDATE_LOCK=1` to accept the changes (the file is rewritten).
pub fn assert_lock(engine: &Engine, path: impl AsRef<std::path::Path>) {
    if let Err(e) = engine.check_lock(path) {
        panic!("{e}");
    }
}

/// Why [`TestEngine::run_until_done`] stopped without an output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestError {
    /// The engine returned an error (cancelled, blocked, wrong workflow…).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Nothing is due and the instance has not finished: it waits for something only the
    /// test can provide (a signal without a timeout, a resume).
    #[error(
        "instance `{id}` waits for an outside event (a signal or a resume) and nothing else is due"
    )]
    Waiting {
        /// The instance.
        id: String,
    },
}

/// Builds a [`TestEngine`].
#[derive(Debug)]
pub struct TestEngineBuilder {
    builder: EngineBuilder,
    start: SystemTime,
}

impl TestEngineBuilder {
    /// Serves workflow `W`.
    #[must_use]
    pub fn register<W: Workflow>(mut self) -> Self {
        self.builder = self.builder.register::<W>();
        self
    }

    /// Gives the engine a resource, typically a fake of the one production uses (see
    /// [`EngineBuilder::resource`]).
    pub fn resource<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.builder = self.builder.resource(value);
        self
    }

    /// Gives the engine an already shared, possibly unsized resource: a fake behind the
    /// trait tasks take (`.resource_arc::<dyn Mailer>(Arc::new(FakeMailer::default()))`; see
    /// [`EngineBuilder::resource_arc`]).
    pub fn resource_arc<T: ?Sized + Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.builder = self.builder.resource_arc(value);
        self
    }

    /// A string the structure tracer offers to types whose `Deserialize` rejects the built-in
    /// placeholders (see [`EngineBuilder::trace_placeholder`]).
    #[must_use]
    pub fn trace_placeholder(mut self, value: &str) -> Self {
        self.builder = self.builder.trace_placeholder(value);
        self
    }

    /// Sets the virtual time at which the test starts (default: the real time at build).
    #[must_use]
    pub fn start_at(mut self, t: SystemTime) -> Self {
        self.start = t;
        self
    }

    /// Declares a migration (see [`EngineBuilder::migrate`]).
    #[must_use]
    pub fn migrate<Old: Workflow, New: Workflow>(mut self, migration: Migration<Old, New>) -> Self {
        self.builder = self.builder.migrate(migration);
        self
    }

    /// Starts the engine and its worker (inside a tokio runtime). Fails as
    /// [`EngineBuilder::build`] does.
    pub fn build(self) -> Result<TestEngine, BuildError> {
        let clock = Arc::new(VirtualClock::new(Timestamp::from_system(self.start)));
        let config = WorkerConfig::default().idle_poll(Duration::from_millis(20));
        let engine = self
            .builder
            .clock(Arc::new(clock.clone()))
            .worker_config(config)
            .build()?;
        let worker = engine.spawn_worker();
        Ok(TestEngine {
            engine,
            clock,
            worker: Some(worker),
        })
    }
}

/// An engine on a virtual clock with one worker. Derefs to [`Engine`]: start instances, send
/// signals, cancel, read results as usual.
///
/// ```
/// use std::time::Duration;
///
/// use sayiir::testing::{TestEngine, TestError};
///
/// #[sayiir::task]
/// async fn remind(user: String) -> String {
///     format!("reminded {user}")
/// }
///
/// #[sayiir::workflow]
/// async fn trial(user: String) -> String {
///     sayiir::sleep(Duration::from_secs(14 * 24 * 3600)).await; // two weeks
///     let _ok: bool = sayiir::signal::<bool>("confirm").await;
///     remind(user).await
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let t = TestEngine::builder().register::<trial>().build()?;
///     let began = t.now();
///     t.start::<trial>("ada", "ada".into()).await?;
///
///     t.advance(Duration::from_secs(13 * 24 * 3600)).await; // day 13: still asleep
///     assert_eq!(t.try_result::<trial>("ada").await?, None);
///
///     // Jumps to day 14, then stops: only the test can send the signal.
///     let waiting = t.run_until_done::<trial>("ada").await;
///     assert!(matches!(waiting, Err(TestError::Waiting { .. })));
///     assert_eq!(t.now().duration_since(began)?, Duration::from_secs(14 * 24 * 3600));
///
///     t.signal("ada", "confirm", &true).await?;
///     assert_eq!(t.run_until_done::<trial>("ada").await?, "reminded ada");
///     t.shutdown().await?;
///     Ok(())
/// }
/// ```
pub struct TestEngine {
    engine: Engine,
    clock: Arc<VirtualClock>,
    worker: Option<WorkerHandle>,
}

/// The engine, the virtual time and the worker's id.
impl std::fmt::Debug for TestEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEngine")
            .field("engine", &self.engine)
            .field("now", &self.clock.now())
            .field("worker", &self.worker.as_ref().map(|w| &w.id().0))
            .finish()
    }
}

impl std::ops::Deref for TestEngine {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl TestEngine {
    /// A test engine over a fresh [`MemoryStore`].
    pub fn builder() -> TestEngineBuilder {
        Self::builder_with(MemoryStore::new())
    }

    /// A test engine over `store` (e.g. a `SqliteStore` on a temporary file).
    pub fn builder_with(store: impl Store) -> TestEngineBuilder {
        TestEngineBuilder {
            builder: Engine::builder(store),
            start: SystemTime::now(),
        }
    }

    /// A test engine over a store shared with other engines (e.g. a second test engine
    /// started later on the same store, to test what happens after downtime).
    pub fn builder_shared(store: Arc<dyn Store>) -> TestEngineBuilder {
        TestEngineBuilder {
            builder: Engine::builder_shared(store),
            start: SystemTime::now(),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The virtual time.
    pub fn now(&self) -> SystemTime {
        let ms = self.clock.now().as_millis();
        let since = Duration::from_millis(u64::try_from(ms).unwrap_or(0));
        SystemTime::UNIX_EPOCH + since
    }

    /// Moves virtual time forward by `d` (firing every sleep, backoff and deadline that falls
    /// within it, in order) and returns once the engine is idle.
    pub async fn advance(&self, d: Duration) {
        let target = self.clock.now().add(d);
        loop {
            let next = self.settle_due().await;
            match next {
                Some(t) if t <= target => self.jump(t),
                _ => break,
            }
        }
        self.jump(target);
        self.settle_due().await;
    }

    /// Returns once the engine is idle at the current virtual time: nothing runs and nothing
    /// is due.
    pub async fn settle(&self) {
        self.settle_due().await;
    }

    /// Runs instance `id` of `W` to its end, jumping the clock to the next due time whenever
    /// the engine is idle.
    pub async fn run_until_done<W: Workflow>(
        &self,
        id: impl IntoInstanceId,
    ) -> Result<W::Output, TestError> {
        let id = id.into_instance_id().map_err(EngineError::from)?;
        loop {
            let next = self.settle_due().await;
            if let Some(out) = self.engine.try_result::<W>(&id).await? {
                return Ok(out);
            }
            match next {
                Some(t) => self.jump(t),
                None => {
                    return Err(TestError::Waiting {
                        id: id.as_str().to_owned(),
                    });
                }
            }
        }
    }

    /// Stops the worker.
    pub async fn shutdown(mut self) -> Result<(), EngineError> {
        match self.worker.take() {
            Some(w) => w.shutdown().await,
            None => Ok(()),
        }
    }

    fn jump(&self, t: Timestamp) {
        self.clock.set(t);
        self.engine.inner.wake.notify_one();
    }

    /// Waits until no driver runs, no claim is in flight and nothing is due now; returns the
    /// next due time.
    async fn settle_due(&self) -> Option<Timestamp> {
        let inner = &self.engine.inner;
        let known = inner.registry.known();
        let served = inner.registry.served();
        let mut quiet = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(1)).await;
            if inner.busy() > 0 {
                quiet = 0;
                continue;
            }
            let next = match inner.store.next_due(&known).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "test engine: next due time unavailable");
                    continue;
                }
            };
            let schedule = match inner.store.next_schedule_due(&served).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "test engine: next schedule due time unavailable");
                    continue;
                }
            };
            // Drivers holding their instance until a time (a rate limit's reserved start).
            let held = inner.next_timed_wait();
            let next = [next, schedule, held].into_iter().flatten().min();
            if next.is_some_and(|t| t <= self.clock.now()) {
                quiet = 0;
                inner.wake.notify_one();
                continue;
            }
            // Twice in a row, so a claim that was about to start is seen.
            quiet += 1;
            if quiet >= 2 && inner.busy() == 0 {
                return next;
            }
        }
    }
}

impl Drop for TestEngine {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            w.abort();
        }
    }
}
