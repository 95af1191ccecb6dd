//! The state every layer above shares: [`Inner`] (the store, the registered workflows, the
//! engine-wide [`WorkerConfig`], the clock, metrics, the pokes of local drivers, result
//! waiters, the creation batcher) with its helpers, and [`WorkerCtx`] (what a worker's drivers
//! share). `engine`, `control`, `worker` and `driver` depend on this module, never the other
//! way round (see the layers in `lib.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sayiir_store::{
    Created, DefinitionHash, DefinitionRecord, DefinitionRef, Event, InstanceId, InstanceRecord,
    InstanceSummary, IntoInstanceId, NewInstance, Status, Store, Timestamp, WorkerId, WorkflowKey,
};
use tokio::sync::{Notify, OnceCell};
use tracing::Instrument;

use crate::clock::Clock;
use crate::committer::Committer;
use crate::creator::Creator;
use crate::describe::{WorkflowShape, workflow_changes};
use crate::error::{EngineError, VersionMismatch, WrongDefinition};
use crate::machine::Workflow;
use crate::metrics::Metrics;
use crate::registry::{Entry, Registry, START, initial_state};
use crate::resources::Resources;
use crate::trace_context::store_span;

mod config;
mod controls;

pub use config::WorkerConfig;
pub(crate) use controls::Controls;

/// What an engine and all its clones, workers and drivers share.
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
    /// The times drivers wait for with nothing running ([`Inner::timed_wait`]), by token.
    timed: Mutex<HashMap<u64, Timestamp>>,
    timed_next: std::sync::atomic::AtomicU64,
    /// Set once this process met an instance with admission gates (created, or claimed with a
    /// concurrency key, or a registered workflow with a limit): from then on a finish wakes
    /// this engine's worker, since the store may have admitted a waiter (backends without
    /// notifications). Engines without gates never wake for it.
    pub(crate) gated: std::sync::atomic::AtomicBool,
    /// What waits for each instance to finish ([`Engine::result`](crate::Engine::result)).
    pub(crate) waiters: Mutex<HashMap<InstanceId, Arc<Notify>>>,
    /// Set once the registered definitions are saved in the store.
    saved: OnceCell<()>,
    /// Descriptions of definitions read back from the store (for version-mismatch messages).
    stored: Mutex<HashMap<WorkflowKey, Option<Arc<WorkflowShape>>>>,
    /// What tasks receive as `Res<T>` parameters (`EngineBuilder::resource`).
    pub(crate) resources: Arc<Resources>,
    /// Instances that finished in this process and may be a schedule's run (their id is
    /// `<schedule>@<tick>`): the worker looks whether a tick waits for them (`scheduler::poke`).
    pub(crate) finished_runs: Mutex<Vec<InstanceId>>,
    /// Per limit key, the drivers of this process waiting for one of its slots.
    pub(crate) local_limits: Mutex<HashMap<String, Arc<LocalLimit>>>,
    /// The quota of unfinished instances of the store's namespace: the admission gate
    /// `namespace:<name>` every start of this engine takes.
    pub(crate) namespace_quota: Option<std::num::NonZeroU32>,
}

/// The drivers of one process waiting for a slot of one limit. One of them (the poller) asks
/// the store again after a growing delay, for slots other processes give back; the others do
/// not ask until `freed` wakes them (once per slot given back here, and when the poller hands
/// its role on), so that the store is asked about as often per process as per slot, not per
/// waiting attempt.
#[derive(Default)]
pub(crate) struct LocalLimit {
    pub(crate) freed: Notify,
    pub(crate) polling: std::sync::atomic::AtomicBool,
    /// Attempts of this process waiting for a slot (reported to the store with each request).
    pub(crate) waiters: std::sync::atomic::AtomicU64,
}

impl Inner {
    /// The head of instance `id`, read from the store inside its `sayiir.store.load` span.
    pub(crate) async fn load(
        &self,
        id: &InstanceId,
    ) -> Result<InstanceRecord, sayiir_store::StoreError> {
        self.store.load(id).instrument(store_span!("load")).await
    }

    pub(crate) fn new(
        store: Arc<dyn Store>,
        registry: Registry,
        config: WorkerConfig,
        clock: Arc<dyn Clock>,
        resources: Arc<Resources>,
    ) -> Self {
        let shapes = registry.shapes();
        let metrics = Arc::new(Metrics::new(
            store.backend(),
            shapes
                .iter()
                .map(|(s, _)| (s.name.as_str(), crate::metrics::tasks_of(s))),
        ));
        let creator = Creator::new(
            Arc::clone(&store),
            config.max_start_batch,
            Arc::clone(&metrics),
        );
        let gated = std::sync::atomic::AtomicBool::new(registry.any_gated());
        Self {
            store,
            registry,
            config,
            metrics,
            creator,
            wake: Notify::new(),
            gated,
            clock,
            controls: Controls::default(),
            busy: std::sync::atomic::AtomicUsize::new(0),
            timed: Mutex::new(HashMap::new()),
            timed_next: std::sync::atomic::AtomicU64::new(0),
            waiters: Mutex::new(HashMap::new()),
            saved: OnceCell::new(),
            stored: Mutex::new(HashMap::new()),
            resources,
            finished_runs: Mutex::new(Vec::new()),
            local_limits: Mutex::new(HashMap::new()),
            namespace_quota: None,
        }
    }

    /// Sets the namespace quota ([`Inner::namespace_quota`]).
    pub(crate) fn with_namespace_quota(mut self, quota: Option<std::num::NonZeroU32>) -> Self {
        if quota.is_some() {
            *self.gated.get_mut() = true;
        }
        self.namespace_quota = quota;
        self
    }

    /// A copy of this engine's setup (registry, settings, clock, resources, quota) over
    /// `store`, with state of its own (wake-ups, batches, waiters, metrics).
    pub(crate) fn rebind(
        &self,
        store: Arc<dyn Store>,
        quota: Option<std::num::NonZeroU32>,
    ) -> Self {
        Self::new(
            store,
            self.registry.clone(),
            self.config.clone(),
            Arc::clone(&self.clock),
            Arc::clone(&self.resources),
        )
        .with_namespace_quota(quota)
    }

    /// The drivers of this process waiting for a slot of the limit `key`.
    pub(crate) fn local_limit(&self, key: &str) -> Arc<LocalLimit> {
        let mut map = self.local_limits.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(map.entry(key.to_owned()).or_default())
    }

    /// Counts a driver that holds its instance with nothing running, only waiting for the
    /// clock to reach `at` (a task's reserved start of a rate limit, the next request for a
    /// slot), as not busy until the returned guard is dropped: the test engine moves virtual
    /// time to the earliest such `at` when nothing else runs.
    pub(crate) fn timed_wait(&self, at: Timestamp) -> TimedWait<'_> {
        let token = self
            .timed_next
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.timed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token, at);
        self.busy_sub(1);
        TimedWait { inner: self, token }
    }

    /// The earliest time a driver of this process waits for with nothing running.
    pub(crate) fn next_timed_wait(&self) -> Option<Timestamp> {
        let timed = self.timed.lock().unwrap_or_else(|e| e.into_inner());
        timed.values().min().copied()
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

    /// Wakes everything waiting for `id` to finish; a schedule's run is handed to the worker,
    /// so that a tick buffered behind it starts now.
    pub(crate) fn finished(&self, id: &InstanceId) {
        if self.gated.load(std::sync::atomic::Ordering::Relaxed) {
            // A finish may have admitted a waiter of a gate.
            self.wake.notify_one();
        }
        {
            let waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = waiters.get(id) {
                n.notify_waiters();
            }
        }
        if crate::schedule::cron::run_schedule(id.as_str()).is_some() {
            let mut runs = self.finished_runs.lock().unwrap_or_else(|e| e.into_inner());
            // Bounded (an engine without a worker never drains it): past that, buffered ticks
            // are found by the schedules' own rechecks.
            if runs.len() < 1024 {
                runs.push(id.clone());
                // Busy until the worker looked (the test engine's idle test).
                self.busy_add(1);
                self.wake.notify_one();
            }
        }
    }

    /// Subscribes to the end of `id` until the returned guard is dropped.
    pub(crate) fn subscribe(&self, id: &InstanceId) -> Waiter<'_> {
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
        let found = match self
            .store
            .definitions(Some(&key.workflow))
            .instrument(store_span!("definitions"))
            .await
        {
            Ok(defs) => defs
                .into_iter()
                .find(|d| d.hash == key.hash && d.fingerprint == key.fingerprint)
                .and_then(|d| WorkflowShape::decode(&d.shape).ok())
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
                    self.store
                        .save_definitions(records)
                        .instrument(store_span!("save_definitions"))
                        .await?;
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
                shape
                    .encode()
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
    /// history entry 0 `started` holding its input, under the current span's trace context
    /// (feature `otel`), and the admission gate of its workflow type's limit
    /// (`#[workflow(concurrency = N)]` of the registered definition `def`), if it has one.
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
        let key = WorkflowKey {
            workflow: workflow.to_owned(),
            hash: def.hash,
            fingerprint: def.fingerprint,
        };
        let mut gates = Vec::new();
        if let Some(limit) = self.registry.get(&key).and_then(|e| e.wf.concurrency()) {
            self.gated.store(true, std::sync::atomic::Ordering::Relaxed);
            gates.push(sayiir_store::GateRequest::new(
                format!("workflow:{workflow}"),
                limit.get(),
            ));
        }
        if let Some(quota) = self.namespace_quota {
            gates.push(sayiir_store::GateRequest::new(
                format!("namespace:{}", self.store.namespace()),
                quota.get(),
            ));
        }
        NewInstance::new(id, workflow, def, START, state, event, now)
            .input(input)
            .trace_context(crate::trace_context::current())
            .gates(gates)
    }

    /// [`Inner::new_instance`] with `options`: its priority's head start and the admission
    /// gate of its concurrency key (the workflow type's comes from the registered definition).
    pub(crate) fn new_instance_with(
        &self,
        parts: (InstanceId, &str, DefinitionRef, Vec<u8>, Vec<u8>),
        options: &crate::StartOptions,
    ) -> Result<NewInstance, EngineError> {
        let (id, workflow, def, input, state) = parts;
        let step = i64::try_from(self.config.priority_step.as_millis()).unwrap_or(i64::MAX);
        let head_start = i64::from(options.priority).saturating_mul(step);
        let mut new = self.new_instance(id, workflow, def, input, state);
        if let Some(key) = &options.concurrency_key {
            if key.is_empty() {
                return Err(EngineError::BadStartOptions {
                    detail: "the concurrency key is empty".into(),
                });
            }
            if key.contains('\n') {
                return Err(EngineError::BadStartOptions {
                    detail: format!("the concurrency key {key:?} contains a line feed"),
                });
            }
            if options.key_limit == 0 {
                return Err(EngineError::BadStartOptions {
                    detail: format!("key_limit of concurrency key `{key}` is 0"),
                });
            }
            self.gated.store(true, std::sync::atomic::Ordering::Relaxed);
            new.gates.push(sayiir_store::GateRequest::new(
                format!("key:{key}"),
                options.key_limit,
            ));
            new = new.concurrency_key(key.clone());
        }
        Ok(new.priority(options.priority, head_start))
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
        let new = self.new_instance(id, workflow, def, input, state);
        self.create_new(new).await
    }

    /// Creates `new` (see [`Inner::create`]).
    pub(crate) async fn create_new(&self, new: NewInstance) -> Result<InstanceRecord, EngineError> {
        self.check_start_sizes(&new.input, &new.state)?;
        self.save_definitions().await?;
        let workflow = new.workflow.clone();
        Ok(match self.creator.create(new).await? {
            Created::New(r) => {
                self.metrics.workflow(&workflow).started.increment(1);
                self.wake.notify_one();
                r
            }
            Created::Existing(r) => r,
        })
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
pub(crate) struct Waiter<'a> {
    inner: &'a Inner,
    id: InstanceId,
    pub(crate) notify: Arc<Notify>,
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

/// What every driver of one worker shares.
pub(crate) struct WorkerCtx {
    pub(crate) inner: Arc<Inner>,
    pub(crate) owner: WorkerId,
    pub(crate) committer: Committer,
}

/// A driver counted as waiting for the clock (see [`Inner::timed_wait`]) until dropped.
pub(crate) struct TimedWait<'a> {
    inner: &'a Inner,
    token: u64,
}

impl Drop for TimedWait<'_> {
    fn drop(&mut self) {
        self.inner.busy_add(1);
        self.inner
            .timed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.token);
    }
}
