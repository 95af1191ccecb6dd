//! The engine: starts instances, answers questions about them, and runs workers.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sayiir_store::{
    BlockKind, Blocked, Created, DefinitionHash, DefinitionRecord, DefinitionRef, Event,
    HistoryEntry, InstanceId, InstanceRecord, InstanceSummary, IntoInstanceId, ListQuery, Listing,
    NewInstance, Status, Store, Timestamp, WorkflowKey,
};
use tokio::sync::{Notify, OnceCell};

use crate::builder::EngineBuilder;
use crate::clock::{Clock, SystemClock};
use crate::codec;
use crate::control::Controls;
use crate::creator::Creator;
use crate::describe::{WorkflowShape, workflow_changes};
use crate::error::{EngineError, VersionMismatch, WrongDefinition};
use crate::machine::Workflow;
use crate::metrics::Metrics;
use crate::registry::{Entry, Registry, START, initial_state};
use crate::resources::Resources;
use crate::worker::{self, WorkerConfig, WorkerHandle};
pub use info::{InstanceInfo, InstanceStatus, WorkerInfo};

/// The durable workflow engine. Cheap to clone; every clone shares the store, the registered
/// workflows and the workers' wake-ups. No global state.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

/// The store's backend, the registered workflow versions (`name v2`, and `name v1 (migrated)`
/// for migration sources) and the worker settings; never instance data.
impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.inner.store.backend())
            .field("workflows", &self.inner.registry.summary())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
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
    pub(crate) creator: Creator,
    /// Claims in flight plus drivers running in this process (the test engine's idle test).
    busy: std::sync::atomic::AtomicUsize,
    waiters: Mutex<HashMap<InstanceId, Arc<Notify>>>,
    /// Set once the registered definitions are saved in the store.
    saved: OnceCell<()>,
    /// Descriptions of definitions read back from the store (for version-mismatch messages).
    stored: Mutex<HashMap<WorkflowKey, Option<Arc<WorkflowShape>>>>,
    /// What tasks receive as `Res<T>` parameters (`EngineBuilder::resource`).
    pub(crate) resources: Arc<Resources>,
}

impl Inner {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        registry: Registry,
        config: WorkerConfig,
        clock: Arc<dyn Clock>,
        resources: Arc<Resources>,
    ) -> Self {
        let metrics = Arc::new(Metrics::default());
        let creator = Creator::new(
            Arc::clone(&store),
            config.max_start_batch,
            Arc::clone(&metrics),
        );
        Self {
            store,
            registry,
            config,
            metrics,
            creator,
            wake: Notify::new(),
            clock,
            controls: Controls::default(),
            busy: std::sync::atomic::AtomicUsize::new(0),
            waiters: Mutex::new(HashMap::new()),
            saved: OnceCell::new(),
            stored: Mutex::new(HashMap::new()),
            resources,
        }
    }

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

    /// Subscribes to the end of `id` until the returned guard is dropped.
    fn subscribe(&self, id: &InstanceId) -> Waiter<'_> {
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        let notify = waiters.entry(id.clone()).or_default().clone();
        Waiter {
            inner: self,
            id: id.clone(),
            notify,
        }
    }

    /// The version mismatch of a running instance of a workflow this binary serves, if it runs
    /// none of its versions (directly or after a migration). Without the description of what
    /// changed: see [`Inner::explain`].
    pub(crate) fn mismatch(&self, r: &InstanceSummary) -> Option<VersionMismatch> {
        let known: Vec<DefinitionRef> = self
            .registry
            .versions_of(&r.workflow)
            .iter()
            .map(|e| e.def)
            .collect();
        if r.status != Status::Running || known.is_empty() || self.registry.knows(r) {
            return None;
        }
        Some(VersionMismatch {
            instance: r.id.clone(),
            workflow: r.workflow.clone(),
            stored: r.definition(),
            known,
            changes: Vec::new(),
        })
    }

    /// Fills in what changed from the instance's stored definition (its description, saved in
    /// the store by the binary that registered it) to the closest registered one.
    pub(crate) async fn explain(&self, mut m: VersionMismatch) -> VersionMismatch {
        let key = WorkflowKey {
            workflow: m.workflow.clone(),
            hash: m.stored.hash,
            fingerprint: m.stored.fingerprint,
        };
        let Some(stored) = self.stored_shape(&key).await else {
            return m;
        };
        let versions = self.registry.versions_of(&m.workflow);
        let closest = versions
            .iter()
            .find(|e| e.def.version == m.stored.version)
            .or(versions.last());
        if let Some(e) = closest {
            m.changes = workflow_changes(&stored, &e.shape);
        }
        m
    }

    /// The description of a definition as saved in the store.
    pub(crate) async fn stored_shape(&self, key: &WorkflowKey) -> Option<Arc<WorkflowShape>> {
        if let Some(s) = self
            .stored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
        {
            return s.clone();
        }
        let found = match self.store.definitions(Some(&key.workflow)).await {
            Ok(defs) => defs
                .into_iter()
                .find(|d| d.hash == key.hash && d.fingerprint == key.fingerprint)
                .and_then(|d| codec::decode::<WorkflowShape>(&d.shape).ok())
                .map(Arc::new),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read stored definitions");
                return None;
            }
        };
        self.stored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), found.clone());
        found
    }

    /// Saves the descriptions of the registered definitions (and migration sources) in the
    /// store, once per engine, so later binaries can say what changed.
    pub(crate) async fn save_definitions(&self) -> Result<(), EngineError> {
        self.saved
            .get_or_try_init(|| async {
                let records = self.definition_records()?;
                if !records.is_empty() {
                    self.store.save_definitions(records).await?;
                }
                Ok::<(), EngineError>(())
            })
            .await
            .map(drop)
    }

    /// Whether [`Inner::save_definitions`] has saved them.
    pub(crate) fn definitions_saved(&self) -> bool {
        self.saved.initialized()
    }

    /// The descriptions of the registered definitions (and migration sources), as stored.
    pub(crate) fn definition_records(&self) -> Result<Vec<DefinitionRecord>, EngineError> {
        let now = self.now();
        self.registry
            .shapes()
            .into_iter()
            .map(|(shape, def)| {
                codec::encode(&*shape)
                    .map(|bytes| DefinitionRecord {
                        workflow: shape.name.clone(),
                        version: def.version,
                        hash: def.hash,
                        fingerprint: def.fingerprint,
                        shape: bytes,
                        created_at: now,
                    })
                    .map_err(|source| EngineError::Encode {
                        what: "definition description",
                        source,
                    })
            })
            .collect()
    }

    /// The new instance `id` of `workflow` under `def` at its start state, due now, with
    /// history entry 0 `started` holding its input.
    pub(crate) fn new_instance(
        &self,
        id: InstanceId,
        workflow: &str,
        def: DefinitionRef,
        input: Vec<u8>,
        state: Vec<u8>,
    ) -> NewInstance {
        let now = self.now();
        let event = Event {
            kind: "started".into(),
            payload: input.clone(),
        };
        NewInstance::new(id, workflow, def, START, state, event, now).input(input)
    }

    /// Creates instance `id` of `workflow` under `def` at its start state (or finds the one
    /// that exists: the caller checks it is the one it meant). Queued with the concurrent
    /// creations and stored in one store transaction with them; wakes a worker when new.
    pub(crate) async fn create(
        &self,
        id: InstanceId,
        workflow: &str,
        def: DefinitionRef,
        input: Vec<u8>,
        state: Vec<u8>,
    ) -> Result<InstanceRecord, EngineError> {
        self.check_start_sizes(&input, &state)?;
        self.save_definitions().await?;
        let new = self.new_instance(id, workflow, def, input, state);
        Ok(match self.creator.create(new).await? {
            Created::New(r) => {
                self.wake.notify_one();
                r
            }
            Created::Existing(r) => r,
        })
    }

    /// How this engine reports an instance: with a version mismatch if it serves the workflow
    /// but not the instance's definition; without one if it runs that definition (a binary of
    /// another version may have marked it during a rolling deploy: the mark does not keep this
    /// engine's workers from claiming it).
    pub(crate) fn info(&self, mut s: InstanceSummary) -> InstanceInfo {
        if s.blocked.as_ref().map(|b| b.kind) == Some(BlockKind::VersionMismatch)
            && self.registry.knows(&s)
        {
            s.blocked = None;
        }
        let mismatch = self.mismatch(&s);
        InstanceInfo::from_summary(s, mismatch)
    }

    /// What starting an instance of `W` with id `id` stores: the validated id, `W`'s
    /// registered definition, the encoded input and start state.
    pub(crate) fn start_parts<W: Workflow>(
        &self,
        id: impl IntoInstanceId,
        input: W::Input,
    ) -> Result<(InstanceId, DefinitionRef, Vec<u8>, Vec<u8>), EngineError> {
        let id = id.into_instance_id()?;
        let def = self.registered::<W>()?.def;
        let (state, input) = initial_state::<W>(input)
            .map_err(|e| crate::limits::encode_error("input", e, self.config.max_payload))?;
        self.check_start_sizes(&input, &state)?;
        Ok((id, def, input, state))
    }

    /// [`EngineError::TooLarge`] when a new instance's stored input or start state is over
    /// the payload limit.
    pub(crate) fn check_start_sizes(&self, input: &[u8], state: &[u8]) -> Result<(), EngineError> {
        let limit = self.config.max_payload;
        crate::limits::check("input", input.len(), limit)?;
        crate::limits::check("start state (the input)", state.len(), limit)
    }

    /// The registered entry of `W`.
    pub(crate) fn registered<W: Workflow>(&self) -> Result<&Entry, EngineError> {
        self.registry
            .versions_of(W::NAME)
            .into_iter()
            .find(|e| e.def.hash == DefinitionHash(W::DEFINITION_HASH))
            .ok_or_else(|| EngineError::NotRegistered {
                workflow: W::NAME.to_string(),
                version: W::VERSION,
                type_name: std::any::type_name::<W>(),
            })
    }

    /// Checks that the instance `r` runs `W`'s definition (or one that a registered migration
    /// moves to it, while it runs; once finished, only if its output has `W`'s output shape).
    pub(crate) fn check_definition<W: Workflow>(
        &self,
        r: &InstanceRecord,
    ) -> Result<(), EngineError> {
        if r.workflow != W::NAME {
            return Err(EngineError::WrongWorkflow {
                id: r.id.clone(),
                expected: W::NAME,
                found: r.workflow.clone(),
            });
        }
        let entry = self.registered::<W>()?;
        let key = r.key();
        if (key.hash, key.fingerprint) == (entry.def.hash, entry.def.fingerprint) {
            return Ok(());
        }
        let migrates_here = self
            .registry
            .runs_on(&key)
            .is_some_and(|e| e.def == entry.def);
        let output_fits = || {
            self.registry.route(&key).is_some_and(|route| {
                route.from.output.shape.fingerprint() == entry.shape.output.shape.fingerprint()
            })
        };
        if migrates_here && (r.status == Status::Running || output_fits()) {
            return Ok(());
        }
        Err(EngineError::WrongDefinition(Box::new(WrongDefinition {
            id: r.id.clone(),
            workflow: r.workflow.clone(),
            expected: entry.def,
            found: r.definition(),
            type_name: std::any::type_name::<W>(),
        })))
    }
}

/// A subscription to the end of an instance ([`Engine::result`]). Dropping it unsubscribes,
/// also when the call's future is dropped mid-wait (a `timeout` or `select!` around it): the
/// entry of the last waiter of an instance leaves the map with it.
struct Waiter<'a> {
    inner: &'a Inner,
    id: InstanceId,
    notify: Arc<Notify>,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        let mut waiters = self.inner.waiters.lock().unwrap_or_else(|e| e.into_inner());
        // Two references left, the map's and this one: nobody else waits. Subscribing clones
        // under the same lock, so the count cannot grow meanwhile.
        if Arc::strong_count(&self.notify) <= 2 {
            waiters.remove(&self.id);
        }
    }
}

/// A typed handle to an instance of `W`.
pub struct InstanceHandle<W: Workflow> {
    engine: Engine,
    id: InstanceId,
    _workflow: PhantomData<fn() -> W>,
}

impl<W: Workflow> Clone for InstanceHandle<W> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            id: self.id.clone(),
            _workflow: PhantomData,
        }
    }
}

impl<W: Workflow> std::fmt::Debug for InstanceHandle<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceHandle")
            .field("workflow", &W::NAME)
            .field("id", &self.id)
            .finish()
    }
}

impl<W: Workflow> InstanceHandle<W> {
    /// The instance id.
    pub fn id(&self) -> &InstanceId {
        &self.id
    }

    /// Waits for the instance to finish and returns its output.
    pub async fn result(&self) -> Result<W::Output, EngineError> {
        self.engine.result::<W>(&self.id).await
    }

    /// The instance's status.
    pub async fn status(&self) -> Result<InstanceInfo, EngineError> {
        self.engine.status(&self.id).await
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
        EngineBuilder::new(store, Arc::new(SystemClock))
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The engine's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Starts an instance of `W` with id `id`. `W` must be registered with this engine
    /// ([`EngineBuilder::register`], or [`EngineBuilder::start_only`] when other processes run
    /// it); otherwise this fails with [`EngineError::NotRegistered`]. An input that encodes to
    /// more than [`WorkerConfig::max_payload`] fails with [`EngineError::TooLarge`] and creates
    /// nothing. Idempotent: if an
    /// instance with this id exists and runs `W`'s definition, it is returned unchanged (its
    /// input is not replaced); one of another workflow or another definition of this one is an
    /// error ([`EngineError::WrongWorkflow`], [`EngineError::WrongDefinition`]).
    ///
    /// Starts made concurrently (from any number of tasks) are created together, in one store
    /// transaction of up to [`WorkerConfig::max_start_batch`] instances; each one still gets
    /// its own outcome, and returns once its instance is durably stored.
    pub async fn start<W: Workflow>(
        &self,
        id: impl IntoInstanceId,
        input: W::Input,
    ) -> Result<InstanceHandle<W>, EngineError> {
        let (id, def, input, state) = self.inner.start_parts::<W>(id, input)?;
        let record = self
            .inner
            .create(id.clone(), W::NAME, def, input, state)
            .await?;
        self.inner.check_definition::<W>(&record)?;
        Ok(self.handle_of(id))
    }

    /// A handle to `id`, known to run `W`'s definition.
    pub(crate) fn handle_of<W: Workflow>(&self, id: InstanceId) -> InstanceHandle<W> {
        InstanceHandle {
            engine: self.clone(),
            id,
            _workflow: PhantomData,
        }
    }

    /// A handle to the existing instance `id`, checked to run `W`'s definition.
    pub async fn handle<W: Workflow>(
        &self,
        id: impl IntoInstanceId,
    ) -> Result<InstanceHandle<W>, EngineError> {
        let id = id.into_instance_id()?;
        let record = self.inner.store.load(&id).await?;
        self.inner.check_definition::<W>(&record)?;
        Ok(InstanceHandle {
            engine: self.clone(),
            id,
            _workflow: PhantomData,
        })
    }

    /// The status of an instance (with [`InstanceInfo::no_live_worker`]).
    pub async fn status(&self, id: impl IntoInstanceId) -> Result<InstanceInfo, EngineError> {
        let id = id.into_instance_id()?;
        let record = self.inner.store.load(&id).await?;
        let mut info = [self.inner.info(InstanceSummary::from(&record))];
        self.mark_unserved(&mut info).await?;
        let [info] = info;
        Ok(info)
    }

    /// Instances matching `query`, ordered by id (with [`InstanceInfo::no_live_worker`]), and
    /// beside them the matching rows of the store that do not decode ([`Listing::damaged`]:
    /// the id as stored, the column and the problem), which never make the listing fail. A
    /// claim that meets such a row blocks it ([`BlockKind::CorruptRow`]); [`Engine::status`]
    /// of it fails with [`StoreError::InvalidData`](sayiir_store::StoreError::InvalidData)
    /// naming the column.
    pub async fn list(&self, query: &ListQuery) -> Result<Listing<InstanceInfo>, EngineError> {
        let rows = self.inner.store.list(query).await?;
        let mut listing = rows.map(|s| self.inner.info(s));
        self.mark_unserved(&mut listing.instances).await?;
        Ok(listing)
    }

    /// The workers recorded in the store by any process, alive or stopped recently (a
    /// worker's record is deleted a day after it stopped), ordered by id.
    pub async fn workers(&self) -> Result<Vec<WorkerInfo>, EngineError> {
        let now = Timestamp::now();
        Ok(self
            .inner
            .store
            .workers()
            .await?
            .into_iter()
            .map(|w| WorkerInfo {
                alive: w.alive_at(now),
                id: w.id,
                started_at: w.started_at,
                seen_at: w.seen_at,
                runs: w.runs,
            })
            .collect())
    }

    /// Sets [`InstanceInfo::no_live_worker`] on the running, unblocked ones.
    async fn mark_unserved(&self, infos: &mut [InstanceInfo]) -> Result<(), EngineError> {
        let waiting = |i: &InstanceInfo| i.status == InstanceStatus::Running;
        if !infos.iter().any(waiting) {
            return Ok(());
        }
        let now = Timestamp::now();
        let live: HashSet<WorkflowKey> = self
            .inner
            .store
            .workers()
            .await?
            .into_iter()
            .filter(|w| w.alive_at(now))
            .flat_map(|w| w.runs)
            .collect();
        for i in infos.iter_mut().filter(|i| waiting(i)) {
            let key = WorkflowKey {
                workflow: i.workflow.clone(),
                hash: i.hash,
                fingerprint: i.fingerprint,
            };
            i.no_live_worker = !live.contains(&key);
        }
        Ok(())
    }

    /// The committed transitions of an instance, in order.
    pub async fn history(&self, id: impl IntoInstanceId) -> Result<Vec<HistoryEntry>, EngineError> {
        let id = id.into_instance_id()?;
        Ok(self.inner.store.history(&id, None, None).await?)
    }

    /// The output of a finished instance of `W`, or `None` while it runs.
    pub async fn try_result<W: Workflow>(
        &self,
        id: impl IntoInstanceId,
    ) -> Result<Option<W::Output>, EngineError> {
        let id = id.into_instance_id()?;
        let record = self.inner.store.load(&id).await?;
        self.output_of::<W>(record).await
    }

    async fn output_of<W: Workflow>(
        &self,
        r: InstanceRecord,
    ) -> Result<Option<W::Output>, EngineError> {
        if let Some(m) = self.inner.mismatch(&InstanceSummary::from(&r)) {
            return Err(EngineError::VersionMismatch(Box::new(
                self.inner.explain(m).await,
            )));
        }
        self.inner.check_definition::<W>(&r)?;
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
                let known_here = self.inner.registry.knows(&InstanceSummary::from(&r));
                if let Some(Blocked { kind, reason, .. }) = r.blocked {
                    let runnable_here = kind == BlockKind::VersionMismatch && known_here;
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
    /// (a retryable error, e.g. a database restart). The future may be dropped at any time
    /// (under `tokio::time::timeout` or in a `select!`): it leaves nothing behind.
    pub async fn result<W: Workflow>(
        &self,
        id: impl IntoInstanceId,
    ) -> Result<W::Output, EngineError> {
        let id = id.into_instance_id()?;
        let waiter = self.inner.subscribe(&id);
        loop {
            let notified = waiter.notify.notified();
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
            if let Some(output) = self.output_of::<W>(record).await? {
                return Ok(output);
            }
            let _ = tokio::time::timeout(RESULT_POLL, notified).await;
        }
    }

    /// Finds running instances of the workflows this engine serves whose definition it does not
    /// run (or migrate), marks them blocked as a version mismatch (leaving their data untouched)
    /// and returns them, each with what changed. Only instances not marked yet are returned: a
    /// worker does the same when it starts and every [`WorkerConfig::version_check`], and
    /// [`Engine::list`] with `blocked: Some(true)` shows all of them.
    pub async fn check_versions(&self) -> Result<Vec<VersionMismatch>, EngineError> {
        worker::report_version_mismatches(&self.inner).await
    }

    /// Starts a worker on the current tokio runtime: it claims runnable instances of the
    /// registered workflows and drives them until [`WorkerHandle::shutdown`].
    pub fn spawn_worker(&self) -> WorkerHandle {
        worker::spawn(self.inner.clone())
    }
}

mod info;
#[cfg(test)]
mod tests;
