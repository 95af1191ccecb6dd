//! Group commit: transitions finished at about the same time by different instances go to the
//! store in one backend transaction, each still compare-and-swap checked, and each caller is
//! answered only after that transaction is committed.
//!
//! While one batch is being written, new transitions queue up, and the next batch takes all of
//! them (up to a limit). By default there is no timer window, so one transition alone is written
//! at once; a non-zero `window` makes the committer wait that long for company after the first
//! transition of a batch arrives (fewer, larger store transactions for more latency per step).

use std::sync::Arc;
use std::time::Duration;

use sayiir_store::{Store, StoreError, Transition};
use tokio::sync::{mpsc, oneshot};

/// Why a commit did not happen.
#[derive(Debug)]
pub(crate) enum CommitError {
    /// This transition's own check failed (conflict, finished, not found).
    Own(StoreError),
    /// The whole batch failed.
    Batch(Arc<StoreError>),
    /// The committer is gone (the worker is stopping).
    Closed,
}

impl std::fmt::Display for CommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommitError::Own(e) => e.fmt(f),
            CommitError::Batch(e) => write!(f, "batch commit failed: {e}"),
            CommitError::Closed => f.write_str("the worker is stopping"),
        }
    }
}

type Request = (Transition, oneshot::Sender<Result<(), CommitError>>);

/// Handle to the commit task.
#[derive(Clone)]
pub(crate) struct Committer {
    tx: mpsc::UnboundedSender<Request>,
}

impl Committer {
    /// Starts the commit task; it ends when every handle is dropped.
    pub(crate) fn spawn(
        store: Arc<dyn Store>,
        max_batch: usize,
        window: Duration,
        metrics: Arc<crate::Metrics>,
    ) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
        let max_batch = max_batch.max(1);
        tokio::spawn(async move {
            let mut batch: Vec<Request> = Vec::new();
            while rx.recv_many(&mut batch, max_batch).await > 0 {
                if !window.is_zero() && batch.len() < max_batch {
                    let deadline = tokio::time::Instant::now() + window;
                    while batch.len() < max_batch {
                        let room = max_batch - batch.len();
                        let more = rx.recv_many(&mut batch, room);
                        match tokio::time::timeout_at(deadline, more).await {
                            Ok(n) if n > 0 => {}
                            // Closed (the batch in hand is still written) or the window is over.
                            _ => break,
                        }
                    }
                }
                let (transitions, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
                metrics.batch(transitions.len());
                let results: Vec<Result<(), CommitError>> = if transitions.len() == 1 {
                    let t = transitions.into_iter().next();
                    match t {
                        Some(t) => vec![store.commit(t).await.map_err(CommitError::Own)],
                        None => Vec::new(),
                    }
                } else {
                    let n = transitions.len();
                    match store.commit_batch(transitions).await {
                        Ok(rs) => rs
                            .into_iter()
                            .map(|r| r.map_err(CommitError::Own))
                            .collect(),
                        Err(e) => {
                            let e = Arc::new(e);
                            (0..n).map(|_| Err(CommitError::Batch(e.clone()))).collect()
                        }
                    }
                };
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
        });
        Self { tx }
    }

    /// Commits one transition, returning once it is durable (or failed).
    pub(crate) async fn commit(&self, t: Transition) -> Result<(), CommitError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send((t, reply)).map_err(|_| CommitError::Closed)?;
        rx.await.unwrap_or(Err(CommitError::Closed))
    }
}
