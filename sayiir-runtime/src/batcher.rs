//! Batching store writes: items queued by any number of callers go to the store a batch at a
//! time, in one backend transaction, each still getting its own result, and each caller is
//! answered only after that transaction is committed. Group commit
//! ([`committer`](crate::committer)) and group creation ([`creator`](crate::creator)) are
//! two [`BatchOp`]s over this one loop.
//!
//! While one batch is being written, new items queue up, and the next batch takes all of them
//! (up to a limit). Without a timer window one item alone is written at once (with the
//! single-item store call); a non-zero window makes the loop wait that long for company after
//! the first item of a batch arrives. A store that answers a batch with another number of
//! results than it was given fails the whole batch: no caller can tell which result is its own.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sayiir_store::StoreError;
use tokio::sync::{mpsc, oneshot};

/// One kind of batched store write.
pub(crate) trait BatchOp: Send + Sync + 'static {
    /// What a caller queues.
    type Item: Send + 'static;
    /// What a caller gets back.
    type Output: Send + 'static;
    /// The items, in messages ("commits", "creations").
    const WHAT: &'static str;
    /// Writes one item.
    fn one(
        &self,
        item: Self::Item,
    ) -> impl Future<Output = Result<Self::Output, StoreError>> + Send;
    /// Writes a batch in one backend transaction: one result per item, in order; the outer
    /// error means nothing was written.
    fn many(
        &self,
        items: Vec<Self::Item>,
    ) -> impl Future<Output = Result<Vec<Result<Self::Output, StoreError>>, StoreError>> + Send;
    /// Records a batch's size and how long writing it took (metrics).
    fn observe(&self, n: usize, took: Duration);
}

/// Why a batched write did not give its caller a result.
#[derive(Debug)]
pub(crate) enum BatchError {
    /// The item's own check failed (conflict, finished, not found…).
    Own(StoreError),
    /// The whole batch failed.
    Batch(Arc<StoreError>),
    /// The batching task is gone (its worker or runtime is stopping).
    Closed,
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Own(e) => e.fmt(f),
            BatchError::Batch(e) => write!(f, "batch commit failed: {e}"),
            BatchError::Closed => f.write_str("the worker is stopping"),
        }
    }
}

type Reply<O> = oneshot::Sender<Result<O, BatchError>>;
type Request<Op> = (<Op as BatchOp>::Item, Reply<<Op as BatchOp>::Output>);

/// The queue of a batching loop. Cheap to clone; the loop ends when every clone is dropped.
pub(crate) struct Batcher<Op: BatchOp> {
    tx: mpsc::UnboundedSender<Request<Op>>,
}

impl<Op: BatchOp> Clone for Batcher<Op> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<Op: BatchOp> Batcher<Op> {
    /// A queue and the loop that serves it (to be spawned by the caller, on the runtime it
    /// chooses), writing batches of at most `max_batch` items (at least one), waiting up to
    /// `window` for company.
    pub(crate) fn new(
        op: Op,
        max_batch: usize,
        window: Duration,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, serve(op, rx, max_batch.max(1), window))
    }

    /// Queues `item`; returns once the batch it joined is written (or failed).
    pub(crate) async fn submit(&self, item: Op::Item) -> Result<Op::Output, BatchError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((item, reply))
            .map_err(|_| BatchError::Closed)?;
        answer.await.unwrap_or(Err(BatchError::Closed))
    }

    /// Whether the loop is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

async fn serve<Op: BatchOp>(
    op: Op,
    mut rx: mpsc::UnboundedReceiver<Request<Op>>,
    max_batch: usize,
    window: Duration,
) {
    let mut batch: Vec<Request<Op>> = Vec::new();
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
        let (items, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        let n = items.len();
        let started = std::time::Instant::now();
        let results = write(&op, items).await;
        op.observe(n, started.elapsed());
        for (reply, result) in replies.into_iter().zip(results) {
            // The caller may have stopped waiting; the write happened all the same.
            let _ = reply.send(result);
        }
    }
}

/// Writes one batch: one result per item, in order.
async fn write<Op: BatchOp>(
    op: &Op,
    mut items: Vec<Op::Item>,
) -> Vec<Result<Op::Output, BatchError>> {
    let n = items.len();
    if n == 1
        && let Some(item) = items.pop()
    {
        return vec![op.one(item).await.map_err(BatchError::Own)];
    }
    let failed = |e: StoreError| {
        let e = Arc::new(e);
        (0..n).map(|_| Err(BatchError::Batch(e.clone()))).collect()
    };
    match op.many(items).await {
        Ok(results) if results.len() == n => results
            .into_iter()
            .map(|r| r.map_err(BatchError::Own))
            .collect(),
        Ok(results) => failed(StoreError::Backend {
            detail: format!(
                "the store answered {} of a batch of {n} {}",
                results.len(),
                Op::WHAT
            ),
        }),
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod wrong_count;
