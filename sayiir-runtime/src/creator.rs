//! Group creation: instances started at about the same time (by [`Engine::start`] calls of
//! any number of tasks) go to the store in one backend transaction
//! ([`Store::create_batch`]), each still created or found on its own, and each caller is
//! answered only after that transaction is committed.
//!
//! As in the [committer](crate::committer), there is no timer window: while one batch is being
//! written, new creations queue up, and the next batch takes all of them (up to
//! [`WorkerConfig::max_start_batch`]). One creation alone is written at once, with
//! [`Store::create`].
//!
//! The engine may be built outside a tokio runtime and used from several, so a batching task is
//! spawned lazily, one per runtime the engine is used on (each `start` queues on the task of
//! its own runtime, so it never waits for another runtime to be driven), and again should that
//! runtime have shut down. Outside a tokio runtime, `start` calls [`Store::create`] itself.
//!
//! [`Engine::start`]: crate::Engine::start
//! [`WorkerConfig::max_start_batch`]: crate::WorkerConfig::max_start_batch

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sayiir_store::{CreateResult, Created, NewInstance, Store, StoreError};
use tokio::runtime;
use tracing::Instrument;

use crate::batcher::{BatchError, BatchOp, Batcher};
use crate::metrics::Metrics;
use crate::trace_context::store_span;

/// Creations, written with [`Store::create`] / [`Store::create_batch`].
struct Creations {
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl BatchOp for Creations {
    type Item = NewInstance;
    type Output = Created;
    const WHAT: &'static str = "creations";

    fn one(&self, new: NewInstance) -> impl Future<Output = Result<Created, StoreError>> + Send {
        self.store.create(new).instrument(store_span!("create"))
    }

    fn many(
        &self,
        news: Vec<NewInstance>,
    ) -> impl Future<Output = Result<Vec<CreateResult>, StoreError>> + Send {
        self.store
            .create_batch(news)
            .instrument(store_span!("create_batch"))
    }

    fn observe(&self, n: usize, _took: Duration) {
        self.metrics.create_batch(n);
    }
}

/// The engine's creation batcher. Shared by every clone of the engine.
pub(crate) struct Creator {
    store: Arc<dyn Store>,
    max_batch: usize,
    metrics: Arc<Metrics>,
    /// The queue of the batching task of each runtime the engine was used on.
    queues: Mutex<Vec<(runtime::Id, Batcher<Creations>)>>,
}

impl Creator {
    pub(crate) fn new(store: Arc<dyn Store>, max_batch: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            store,
            max_batch: max_batch.max(1),
            metrics,
            queues: Mutex::new(Vec::new()),
        }
    }

    /// Creates `new` (or finds the existing instance with its id), in a batch with the other
    /// creations queued meanwhile on this runtime.
    pub(crate) async fn create(&self, new: NewInstance) -> Result<Created, StoreError> {
        let Some(queue) = self.queue() else {
            return self
                .store
                .create(new)
                .instrument(store_span!("create"))
                .await;
        };
        queue.submit(new).await.map_err(|e| match e {
            BatchError::Own(e) => e,
            BatchError::Batch(e) => (*e).clone(),
            BatchError::Closed => shutting_down(),
        })
    }

    /// The queue of the current runtime's batching task, started if there is none. `None`
    /// outside a tokio runtime.
    fn queue(&self) -> Option<Batcher<Creations>> {
        let runtime = runtime::Handle::try_current().ok()?;
        let id = runtime.id();
        // The guarded list is only changed by whole-element pushes and removals.
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        // The tasks of runtimes that shut down are gone.
        queues.retain(|(_, q)| !q.is_closed());
        if let Some((_, q)) = queues.iter().find(|(r, _)| *r == id) {
            return Some(q.clone());
        }
        let op = Creations {
            store: Arc::clone(&self.store),
            metrics: Arc::clone(&self.metrics),
        };
        let (queue, serve) = Batcher::new(op, self.max_batch, Duration::ZERO);
        runtime.spawn(serve);
        queues.push((id, queue.clone()));
        Some(queue)
    }
}

/// The error of a creation whose batching task stopped before answering: its runtime is
/// shutting down.
fn shutting_down() -> StoreError {
    StoreError::Unavailable {
        detail: "the tokio runtime is shutting down: the instance may or may not have been \
                 created (starting it again is safe)"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use sayiir_store::{
        DefinitionHash, DefinitionRef, Event, Fingerprint, InstanceId, MemoryStore, Timestamp,
    };

    use super::*;
    use crate::batcher::wrong_count::WrongCount;

    fn new_instance(id: &str) -> NewInstance {
        let def = DefinitionRef {
            version: 1,
            hash: DefinitionHash([1; 32]),
            fingerprint: Fingerprint([2; 32]),
        };
        let event = Event {
            kind: "started".into(),
            payload: Vec::new(),
        };
        NewInstance::new(
            InstanceId::new(id).unwrap(),
            "w",
            def,
            "start",
            vec![1],
            event,
            Timestamp(1),
        )
    }

    /// A store that answers a batch of two creations with one result: both starts fail
    /// instead of one taking the other's answer and the other never hearing back.
    #[tokio::test]
    async fn a_batch_answered_with_too_few_results_fails_every_creation() {
        let store = Arc::new(WrongCount(MemoryStore::new()));
        let creator = Creator::new(store, 8, Arc::new(Metrics::new("memory", [])));
        let (a, b) = tokio::join!(
            creator.create(new_instance("a")),
            creator.create(new_instance("b"))
        );
        for r in [a, b] {
            let Err(StoreError::Backend { detail }) = &r else {
                panic!("the batch must fail as a whole: {r:?}")
            };
            assert_eq!(detail, "the store answered 1 of a batch of 2 creations");
        }
        // Alone, a creation is written with `create`.
        let lone = creator.create(new_instance("c")).await.unwrap();
        assert!(matches!(lone, Created::New(_)));
    }
}
