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

use std::sync::{Arc, Mutex};

use sayiir_store::{Created, NewInstance, Store, StoreError};
use tokio::runtime;
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;

type Reply = oneshot::Sender<Result<Created, StoreError>>;
type Request = (NewInstance, Reply);

/// The engine's creation batcher. Shared by every clone of the engine.
pub(crate) struct Creator {
    store: Arc<dyn Store>,
    max_batch: usize,
    metrics: Arc<Metrics>,
    /// The queue of the batching task of each runtime the engine was used on.
    queues: Mutex<Vec<(runtime::Id, mpsc::UnboundedSender<Request>)>>,
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
            return self.store.create(new).await;
        };
        let (reply, answer) = oneshot::channel();
        queue.send((new, reply)).map_err(|_| shutting_down())?;
        answer.await.unwrap_or_else(|_| Err(shutting_down()))
    }

    /// The queue of the current runtime's batching task, started if there is none. `None`
    /// outside a tokio runtime.
    fn queue(&self) -> Option<mpsc::UnboundedSender<Request>> {
        let runtime = runtime::Handle::try_current().ok()?;
        let id = runtime.id();
        // The guarded list is only changed by whole-element pushes and removals.
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        // The tasks of runtimes that shut down are gone.
        queues.retain(|(_, q)| !q.is_closed());
        if let Some((_, q)) = queues.iter().find(|(r, _)| *r == id) {
            return Some(q.clone());
        }
        let (tx, rx) = mpsc::unbounded_channel();
        runtime.spawn(batch_loop(
            Arc::clone(&self.store),
            self.max_batch,
            Arc::clone(&self.metrics),
            rx,
        ));
        queues.push((id, tx.clone()));
        Some(tx)
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

/// Writes the queued creations, a batch at a time, until every sender is dropped.
async fn batch_loop(
    store: Arc<dyn Store>,
    max_batch: usize,
    metrics: Arc<Metrics>,
    mut rx: mpsc::UnboundedReceiver<Request>,
) {
    let mut batch: Vec<Request> = Vec::new();
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        let (news, replies): (Vec<NewInstance>, Vec<Reply>) = batch.drain(..).unzip();
        metrics.create_batch(news.len());
        let results: Vec<Result<Created, StoreError>> = if news.len() == 1 {
            let mut news = news;
            match news.pop() {
                Some(new) => vec![store.create(new).await],
                None => Vec::new(),
            }
        } else {
            let n = news.len();
            match store.create_batch(news).await {
                Ok(results) if results.len() == n => results,
                Ok(results) => {
                    let e = StoreError::Backend {
                        detail: format!(
                            "the store answered {} of a batch of {n} creations",
                            results.len()
                        ),
                    };
                    vec![Err(e); n]
                }
                Err(e) => vec![Err(e); n],
            }
        };
        for (reply, result) in replies.into_iter().zip(results) {
            // The caller may have stopped waiting; the instance exists all the same.
            let _ = reply.send(result);
        }
    }
}
