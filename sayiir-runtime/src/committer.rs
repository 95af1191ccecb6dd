//! Group commit: transitions finished at about the same time by different instances go to the
//! store in one backend transaction ([`Store::commit_batch`]), each still compare-and-swap
//! checked, and each caller is answered only after that transaction is committed.
//!
//! The batching is the [`batcher`](crate::batcher)'s: while one batch is being written, new
//! transitions queue up, and the next batch takes all of them (up to a limit). By default
//! there is no timer window, so one transition alone is written at once ([`Store::commit`]); a
//! non-zero `window` makes the committer wait that long for company after the first transition
//! of a batch arrives (fewer, larger store transactions for more latency per step).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sayiir_store::{Store, StoreError, Transition};
use tracing::Instrument;

use crate::batcher::{BatchError, BatchOp, Batcher};
use crate::trace_context::store_span;

/// Why a commit did not happen: its own check failed, the whole batch failed, or the committer
/// is gone (the worker is stopping).
pub(crate) type CommitError = BatchError;

/// Transitions, written with [`Store::commit`] / [`Store::commit_batch`].
struct Commits {
    store: Arc<dyn Store>,
    metrics: Arc<crate::Metrics>,
}

impl BatchOp for Commits {
    type Item = Transition;
    type Output = ();
    const WHAT: &'static str = "commits";

    fn one(&self, t: Transition) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.store.commit(t).instrument(store_span!("commit"))
    }

    fn many(
        &self,
        ts: Vec<Transition>,
    ) -> impl Future<Output = Result<Vec<Result<(), StoreError>>, StoreError>> + Send {
        self.store
            .commit_batch(ts)
            .instrument(store_span!("commit_batch"))
    }

    fn observe(&self, n: usize, took: Duration) {
        self.metrics.commit_batch(n, took);
    }
}

/// Handle to the commit task.
#[derive(Clone)]
pub(crate) struct Committer {
    queue: Batcher<Commits>,
}

impl Committer {
    /// Starts the commit task; it ends when every handle is dropped.
    pub(crate) fn spawn(
        store: Arc<dyn Store>,
        max_batch: usize,
        window: Duration,
        metrics: Arc<crate::Metrics>,
    ) -> Self {
        let (queue, serve) = Batcher::new(Commits { store, metrics }, max_batch, window);
        tokio::spawn(serve);
        Self { queue }
    }

    /// Commits one transition, returning once it is durable (or failed).
    pub(crate) async fn commit(&self, t: Transition) -> Result<(), CommitError> {
        self.queue.submit(t).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use sayiir_store::{Event, InstanceId, MemoryStore, Next, Timestamp};

    use super::*;
    use crate::batcher::wrong_count::WrongCount;

    fn transition(id: &str) -> Transition {
        let next = Next::Running {
            state: vec![1],
            due_at: None,
            state_id: "start".into(),
        };
        let event = Event {
            kind: "test".into(),
            payload: Vec::new(),
        };
        crate::commit::transition(InstanceId::new(id).unwrap(), 0, next, event, Timestamp(1))
    }

    /// A store that answers a batch of two commits with one result: neither caller is told
    /// its commit's outcome is the other's; both learn the batch failed.
    #[tokio::test]
    async fn a_batch_answered_with_too_few_results_fails_every_commit() {
        let metrics = Arc::new(crate::Metrics::new("memory", []));
        let store = Arc::new(WrongCount(MemoryStore::new()));
        let committer = Committer::spawn(store, 8, Duration::ZERO, metrics.clone());
        let (a, b) = tokio::join!(
            committer.commit(transition("a")),
            committer.commit(transition("b"))
        );
        for r in [a, b] {
            let Err(CommitError::Batch(e)) = &r else {
                panic!("the batch must fail as a whole: {r:?}")
            };
            assert!(
                e.to_string()
                    .contains("the store answered 1 of a batch of 2 commits"),
                "{e}"
            );
        }
        // Alone, a commit is written with `commit` and gets its own answer.
        let lone = committer.commit(transition("c")).await;
        assert!(
            matches!(lone, Err(CommitError::Own(StoreError::NotFound { .. }))),
            "{lone:?}"
        );
    }
}
