//! The engine: starts instances, answers questions about them, and runs workers.

use std::collections::HashSet;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use sayiir_store::{
    BlockKind, Blocked, HistoryEntry, InstanceId, InstanceRecord, InstanceSummary, IntoInstanceId,
    ListQuery, Listing, Status, Store, Timestamp, WorkflowKey,
};
use tracing::Instrument;

use crate::builder::EngineBuilder;
use crate::clock::SystemClock;
use crate::codec;
use crate::core::Inner;
#[cfg(doc)]
use crate::core::WorkerConfig;
use crate::error::{EngineError, VersionMismatch};
use crate::machine::Workflow;
use crate::metrics::Metrics;
use crate::start_options::StartOptions;
use crate::trace_context::store_span;
use crate::worker::{self, WorkerHandle};
pub use info::{InstanceInfo, InstanceStatus, WorkerInfo};

/// The durable workflow engine. Cheap to clone; every clone shares the store, the registered
/// workflows and the workers' wake-ups. No global state.
///
/// Build it over a store with the workflows it serves ([`Engine::builder`], then
/// [`EngineBuilder::register`] and [`EngineBuilder::build`], which checks every definition);
/// start instances with [`Engine::start`] (idempotent on the id); run them with a worker
/// ([`Engine::spawn_worker`], in this process or any other sharing the store); read outputs
/// with [`InstanceHandle::result`] or [`Engine::result`].
///
/// ```
/// use sayiir::{Engine, SqliteStore};
///
/// #[sayiir::task(retries = 3, timeout = "10s")]
/// async fn greet(name: String) -> Result<String, String> {
///     Ok(format!("hello, {name}"))
/// }
///
/// #[sayiir::workflow]
/// async fn welcome(name: String) -> Result<String, String> {
///     let greeting = greet(name).await?;
///     sayiir::sleep(std::time::Duration::from_millis(10)).await;
///     Ok(greeting)
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let dir = tempfile::tempdir()?;
///     let store = SqliteStore::open(dir.path().join("app.db"))?;
///     let engine = Engine::builder(store).register::<welcome>().build()?;
///
///     // A worker claims due instances and drives them, committing every transition.
///     let worker = engine.spawn_worker();
///
///     let handle = engine.start::<welcome>("w-1", "ada".into()).await?;
///     assert_eq!(handle.result().await?, Ok("hello, ada".to_string()));
///
///     // Starting the same id again returns the existing instance; results stay readable.
///     engine.start::<welcome>("w-1", "ignored".into()).await?;
///     assert_eq!(engine.result::<welcome>("w-1").await?, Ok("hello, ada".to_string()));
///
///     worker.shutdown().await?;
///     Ok(())
/// }
/// ```
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
            .field("namespace", &self.inner.store.namespace())
            .field("workflows", &self.inner.registry.summary())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
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
    ///
    /// With the `otel` feature, the W3C trace context of the current span is stored with a new
    /// instance, and every span of the instance, in whichever worker, is a child of it.
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

    /// [`Engine::start`] with [`StartOptions`]: a claim priority, a concurrency key. The
    /// options count only when the instance is created: an existing instance with this id is
    /// returned unchanged, with the options it was started with.
    ///
    /// Errors as [`Engine::start`] does, and with [`EngineError::BadStartOptions`] for options
    /// that cannot be honoured (an empty concurrency key, a `key_limit` of 0).
    pub async fn start_with<W: Workflow>(
        &self,
        id: impl IntoInstanceId,
        input: W::Input,
        options: StartOptions,
    ) -> Result<InstanceHandle<W>, EngineError> {
        let (id, def, input, state) = self.inner.start_parts::<W>(id, input)?;
        let new = self
            .inner
            .new_instance_with((id.clone(), W::NAME, def, input, state), &options)?;
        let record = self.inner.create_new(new).await?;
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
        let record = self.inner.load(&id).await?;
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
        let record = self.inner.load(&id).await?;
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
        let rows = self
            .inner
            .store
            .list(query)
            .instrument(store_span!("list"))
            .await?;
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
            .instrument(store_span!("workers"))
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
    pub(crate) async fn mark_unserved(
        &self,
        infos: &mut [InstanceInfo],
    ) -> Result<(), EngineError> {
        let waiting = |i: &InstanceInfo| i.status == InstanceStatus::Running;
        if !infos.iter().any(waiting) {
            return Ok(());
        }
        let now = Timestamp::now();
        let live: HashSet<WorkflowKey> = self
            .inner
            .store
            .workers()
            .instrument(store_span!("workers"))
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
        Ok(self
            .inner
            .store
            .history(&id, None, None)
            .instrument(store_span!("history"))
            .await?)
    }

    /// The output of a finished instance of `W`, or `None` while it runs.
    pub async fn try_result<W: Workflow>(
        &self,
        id: impl IntoInstanceId,
    ) -> Result<Option<W::Output>, EngineError> {
        let id = id.into_instance_id()?;
        let record = self.inner.load(&id).await?;
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
                    // A paused instance is not done: `result` keeps waiting for its resume;
                    // nor is one an operator retries or fails: a worker is about to run it;
                    // nor one waiting for admission: the store admits it when a slot frees.
                    if runnable_here
                        || kind == BlockKind::Paused
                        || kind == BlockKind::AwaitingAdmission
                        || kind.is_request()
                    {
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
            let record = match self.inner.load(&id).await {
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
mod namespaces;
#[cfg(test)]
mod tests;
