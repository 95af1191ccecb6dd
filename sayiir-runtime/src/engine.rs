//! The engine: starts instances, answers questions about them, and runs workers.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sayiir_store::{
    BlockKind, Blocked, Created, DefinitionHash, Event, Fingerprint, HistoryEntry, InstanceId,
    InstanceRecord, InstanceSummary, ListQuery, NewInstance, Status, Store, Timestamp,
};
use tokio::sync::Notify;

use crate::clock::{Clock, SystemClock};
use crate::codec;
use crate::control::Controls;
use crate::creator::Creator;
use crate::error::{EngineError, VersionMismatch};
use crate::machine::Workflow;
use crate::metrics::Metrics;
use crate::registry::{Registry, initial_state};
use crate::worker::{self, WorkerConfig, WorkerHandle};

/// The durable workflow engine. Cheap to clone; every clone shares the store, the registered
/// workflows and the workers' wake-ups. No global state.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) registry: Registry,
    pub(crate) config: WorkerConfig,
    pub(crate) metrics: Arc<Metrics>,
    /// Wakes idle workers of this engine when there is new runnable work.
    pub(crate) wake: Notify,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) controls: Controls,
    /// Batches the creations of concurrent starts.
    creator: Creator,
    /// Claims in flight plus drivers running in this process (the test engine's idle test).
    busy: std::sync::atomic::AtomicUsize,
    waiters: Mutex<HashMap<InstanceId, Arc<Notify>>>,
}

impl Inner {
    pub(crate) fn busy(&self) -> usize {
        self.busy.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn busy_add(&self, n: usize) {
        self.busy.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn busy_sub(&self, n: usize) {
        self.busy.fetch_sub(n, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Wakes everything waiting for `id` to finish.
    pub(crate) fn finished(&self, id: &InstanceId) {
        let waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = waiters.get(id) {
            n.notify_waiters();
        }
    }

    fn subscribe(&self, id: &InstanceId) -> Arc<Notify> {
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        waiters.entry(id.clone()).or_default().clone()
    }

    fn unsubscribe(&self, id: &InstanceId, n: Arc<Notify>) {
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        // Two references left: the map's and `n`: nobody else waits.
        if Arc::strong_count(&n) <= 2 {
            waiters.remove(id);
        }
    }

    /// The version mismatch of a running instance, if this binary serves its workflow under
    /// other hashes only.
    pub(crate) fn mismatch(&self, r: &InstanceSummary) -> Option<VersionMismatch> {
        let known = self.registry.hashes_of(&r.workflow);
        if r.status != Status::Running || known.is_empty() || known.contains(&r.hash) {
            return None;
        }
        Some(VersionMismatch {
            instance: r.id.clone(),
            workflow: r.workflow.clone(),
            stored: r.hash,
            known,
        })
    }
}

/// Builds an [`Engine`].
pub struct EngineBuilder {
    store: Arc<dyn Store>,
    registry: Registry,
    config: WorkerConfig,
    clock: Arc<dyn Clock>,
}

impl EngineBuilder {
    /// Serves workflow `W`: workers run its instances. Register every version whose instances
    /// may still be running; [`Engine::start`] starts the version it is given.
    pub fn register<W: Workflow>(mut self) -> Self {
        self.registry.register::<W>();
        self
    }

    /// Worker settings.
    pub fn worker_config(mut self, config: WorkerConfig) -> Self {
        self.config = config;
        self
    }

    /// Replaces the wall clock (the test engine uses a virtual one).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The engine.
    pub fn build(self) -> Engine {
        let metrics = Arc::new(Metrics::default());
        let creator = Creator::new(
            Arc::clone(&self.store),
            self.config.max_start_batch,
            Arc::clone(&metrics),
        );
        Engine {
            inner: Arc::new(Inner {
                store: self.store,
                registry: self.registry,
                config: self.config,
                metrics,
                creator,
                wake: Notify::new(),
                clock: self.clock,
                controls: Controls::default(),
                busy: std::sync::atomic::AtomicUsize::new(0),
                waiters: Mutex::new(HashMap::new()),
            }),
        }
    }
}

/// Lifecycle of an instance as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstanceStatus {
    /// Not finished, being run or waiting to run.
    Running,
    /// Not finished, and kept out of dispatch: see the reason.
    Blocked {
        /// Category.
        kind: BlockKind,
        /// Explanation.
        reason: String,
    },
    /// Finished successfully.
    Completed,
    /// Finished with an `Err` output.
    Failed,
    /// Cancelled.
    Cancelled,
}

/// What [`Engine::status`] and [`Engine::list`] report about an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInfo {
    /// Id.
    pub id: InstanceId,
    /// Workflow name.
    pub workflow: String,
    /// Definition hash it runs under.
    pub hash: DefinitionHash,
    /// Status.
    pub status: InstanceStatus,
    /// Number of committed transitions.
    pub seq: u64,
    /// Next due time, while running.
    pub due_at: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last commit time.
    pub updated_at: Timestamp,
}

impl InstanceInfo {
    fn from_summary(s: InstanceSummary, mismatch: Option<VersionMismatch>) -> Self {
        let status = match (s.status, s.blocked, mismatch) {
            (Status::Running, Some(b), _) => InstanceStatus::Blocked {
                kind: b.kind,
                reason: b.reason,
            },
            (Status::Running, None, Some(m)) => InstanceStatus::Blocked {
                kind: BlockKind::VersionMismatch,
                reason: m.to_string(),
            },
            (Status::Running, None, None) => InstanceStatus::Running,
            (Status::Completed, ..) => InstanceStatus::Completed,
            (Status::Failed, ..) => InstanceStatus::Failed,
            (..) => InstanceStatus::Cancelled,
        };
        Self {
            id: s.id,
            workflow: s.workflow,
            hash: s.hash,
            status,
            seq: s.seq,
            due_at: s.due_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A typed handle to an instance of `W`.
pub struct Handle<W: Workflow> {
    engine: Engine,
    id: InstanceId,
    _workflow: PhantomData<fn() -> W>,
}

impl<W: Workflow> Clone for Handle<W> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            id: self.id.clone(),
            _workflow: PhantomData,
        }
    }
}

impl<W: Workflow> std::fmt::Debug for Handle<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("workflow", &W::NAME)
            .field("id", &self.id)
            .finish()
    }
}

impl<W: Workflow> Handle<W> {
    /// The instance id.
    pub fn id(&self) -> &InstanceId {
        &self.id
    }

    /// Waits for the instance to finish and returns its output.
    pub async fn result(&self) -> Result<W::Output, EngineError> {
        self.engine.result::<W>(self.id.as_str()).await
    }

    /// The instance's status.
    pub async fn status(&self) -> Result<InstanceInfo, EngineError> {
        self.engine.status(self.id.as_str()).await
    }
}

/// How long [`Engine::result`] waits between store reads when no in-process notification
/// arrives (the instance may be run by another process).
const RESULT_POLL: Duration = Duration::from_millis(500);

impl Engine {
    /// An engine over `store`.
    pub fn builder(store: impl Store) -> EngineBuilder {
        Self::builder_shared(Arc::new(store))
    }

    /// An engine over a shared store.
    pub fn builder_shared(store: Arc<dyn Store>) -> EngineBuilder {
        EngineBuilder {
            store,
            registry: Registry::default(),
            config: WorkerConfig::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The engine's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Starts an instance of `W` with id `id`. Idempotent: if an instance with this id exists
    /// and belongs to `W`'s workflow name, it is returned unchanged (its input is not replaced).
    ///
    /// Starts made concurrently (from any number of tasks) are created together, in one store
    /// transaction of up to [`WorkerConfig::max_start_batch`] instances; each one still gets
    /// its own outcome, and returns once its instance is durably stored.
    pub async fn start<W: Workflow>(
        &self,
        id: &str,
        input: W::Input,
    ) -> Result<Handle<W>, EngineError> {
        let id = InstanceId::new(id)?;
        let state = initial_state::<W>(input).map_err(|source| EngineError::Encode {
            what: "initial state",
            source,
        })?;
        let now = self.inner.now();
        let new = NewInstance {
            id: id.clone(),
            workflow: W::NAME.to_string(),
            version: W::VERSION,
            hash: DefinitionHash(W::DEFINITION_HASH),
            fingerprint: Fingerprint::UNKNOWN,
            state_id: "start".into(),
            input: Vec::new(),
            state: state.clone(),
            due_at: Some(now),
            event: Event {
                kind: "started".into(),
                payload: state,
            },
            now,
        };
        // Queued with the concurrent starts, and created in one store transaction with them.
        let record = match self.inner.creator.create(new).await? {
            Created::New(r) => {
                self.inner.wake.notify_one();
                r
            }
            Created::Existing(r) => r,
        };
        if record.workflow != W::NAME {
            return Err(EngineError::WrongWorkflow {
                id,
                expected: W::NAME,
                found: record.workflow,
            });
        }
        Ok(Handle {
            engine: self.clone(),
            id,
            _workflow: PhantomData,
        })
    }

    /// A handle to an existing instance of `W` (not checked until used).
    pub fn handle<W: Workflow>(&self, id: &str) -> Result<Handle<W>, EngineError> {
        Ok(Handle {
            engine: self.clone(),
            id: InstanceId::new(id)?,
            _workflow: PhantomData,
        })
    }

    /// The status of an instance.
    pub async fn status(&self, id: &str) -> Result<InstanceInfo, EngineError> {
        let id = InstanceId::new(id)?;
        let record = self.inner.store.load(&id).await?;
        let summary = InstanceSummary::from(&record);
        let mismatch = self.inner.mismatch(&summary);
        Ok(InstanceInfo::from_summary(summary, mismatch))
    }

    /// Instances matching `query`, ordered by id.
    pub async fn list(&self, query: &ListQuery) -> Result<Vec<InstanceInfo>, EngineError> {
        let rows = self.inner.store.list(query).await?;
        Ok(rows
            .into_iter()
            .map(|s| {
                let m = self.inner.mismatch(&s);
                InstanceInfo::from_summary(s, m)
            })
            .collect())
    }

    /// The committed transitions of an instance, in order.
    pub async fn history(&self, id: &str) -> Result<Vec<HistoryEntry>, EngineError> {
        let id = InstanceId::new(id)?;
        Ok(self.inner.store.history(&id, None, 0).await?)
    }

    /// The output of a finished instance of `W`, or `None` while it runs.
    pub async fn try_result<W: Workflow>(
        &self,
        id: &str,
    ) -> Result<Option<W::Output>, EngineError> {
        let id = InstanceId::new(id)?;
        let record = self.inner.store.load(&id).await?;
        self.output_of::<W>(record)
    }

    fn output_of<W: Workflow>(&self, r: InstanceRecord) -> Result<Option<W::Output>, EngineError> {
        if r.workflow != W::NAME {
            return Err(EngineError::WrongWorkflow {
                id: r.id,
                expected: W::NAME,
                found: r.workflow,
            });
        }
        match r.status {
            Status::Completed | Status::Failed => {
                let bytes = r.output.unwrap_or_default();
                W::decode_output(&bytes)
                    .map(Some)
                    .map_err(|source| EngineError::Corrupt {
                        id: r.id,
                        what: "output",
                        source,
                    })
            }
            Status::Cancelled => {
                let reason = r
                    .output
                    .as_deref()
                    .and_then(|b| codec::decode::<String>(b).ok())
                    .unwrap_or_default();
                Err(EngineError::Cancelled { id: r.id, reason })
            }
            _ => {
                let summary = InstanceSummary::from(&r);
                if let Some(m) = self.inner.mismatch(&summary) {
                    return Err(EngineError::VersionMismatch(m));
                }
                if let Some(Blocked { kind, reason, .. }) = r.blocked {
                    let runnable_here = kind == BlockKind::VersionMismatch
                        && self.inner.registry.get(&r.workflow, r.hash).is_some();
                    // A paused instance is not done: `result` keeps waiting for its resume.
                    if runnable_here || kind == BlockKind::Paused {
                        // A worker that knows the definition clears the block when it claims it.
                        return Ok(None);
                    }
                    return Err(EngineError::Blocked {
                        id: r.id,
                        kind,
                        reason,
                    });
                }
                Ok(None)
            }
        }
    }

    /// Waits for an instance of `W` to finish and returns its output. Fails at once if the
    /// instance is blocked; keeps waiting through a store that is temporarily unavailable
    /// (a retryable error, e.g. a database restart).
    pub async fn result<W: Workflow>(&self, id: &str) -> Result<W::Output, EngineError> {
        let id = InstanceId::new(id)?;
        let notify = self.inner.subscribe(&id);
        let outcome = async {
            loop {
                let notified = notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let record = match self.inner.store.load(&id).await {
                    Ok(r) => r,
                    Err(e) if e.is_retryable() => {
                        tracing::debug!(error = %e, "store unavailable; still waiting for the result");
                        tokio::time::sleep(RESULT_POLL).await;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                if let Some(output) = self.output_of::<W>(record)? {
                    return Ok(output);
                }
                let _ = tokio::time::timeout(RESULT_POLL, notified).await;
            }
        }
        .await;
        self.inner.unsubscribe(&id, notify);
        outcome
    }

    /// Finds running instances of the workflows this engine serves whose definition hash it
    /// does not know, marks them blocked (leaving their data untouched) and returns them.
    pub async fn check_versions(&self) -> Result<Vec<VersionMismatch>, EngineError> {
        worker::report_version_mismatches(&self.inner).await
    }

    /// Starts a worker on the current tokio runtime: it claims runnable instances of the
    /// registered workflows and drives them until [`WorkerHandle::shutdown`].
    pub fn spawn_worker(&self) -> WorkerHandle {
        worker::spawn(self.inner.clone())
    }
}
