//! An idle worker sleeps until the next due time or a wake-up: it does not poll the store in a
//! tight loop, and it wakes at once when work is started in-process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sayiir::store::*;
use sayiir::{Engine, MemoryStore, WorkerConfig};

/// Counts claim calls, delegating everything to a memory store.
struct Counting {
    inner: MemoryStore,
    claims: Arc<AtomicU64>,
}

#[async_trait::async_trait]
impl Store for Counting {
    fn backend(&self) -> &'static str {
        "counting"
    }
    async fn create(&self, n: NewInstance) -> Result<Created, StoreError> {
        self.inner.create(n).await
    }
    async fn load(&self, id: &InstanceId) -> Result<InstanceRecord, StoreError> {
        self.inner.load(id).await
    }
    async fn commit(&self, t: Transition) -> Result<(), StoreError> {
        self.inner.commit(t).await
    }
    async fn commit_batch(&self, t: Vec<Transition>) -> Result<Vec<CommitResult>, StoreError> {
        self.inner.commit_batch(t).await
    }
    async fn claim(&self, r: ClaimRequest) -> Result<Vec<InstanceRecord>, StoreError> {
        self.claims.fetch_add(1, Ordering::Relaxed);
        self.inner.claim(r).await
    }
    async fn renew(
        &self,
        o: &WorkerId,
        ids: &[InstanceId],
        u: Timestamp,
    ) -> Result<Vec<InstanceId>, StoreError> {
        self.inner.renew(o, ids, u).await
    }
    async fn release(&self, o: &WorkerId, ids: &[InstanceId]) -> Result<(), StoreError> {
        self.inner.release(o, ids).await
    }
    async fn next_due(&self, k: &[WorkflowKey]) -> Result<Option<Timestamp>, StoreError> {
        self.inner.next_due(k).await
    }
    async fn find_version_mismatches(
        &self,
        s: &[String],
        k: &[WorkflowKey],
    ) -> Result<Vec<InstanceSummary>, StoreError> {
        self.inner.find_version_mismatches(s, k).await
    }
    async fn set_blocked(&self, id: &InstanceId, b: Option<Blocked>) -> Result<(), StoreError> {
        self.inner.set_blocked(id, b).await
    }
    async fn list(&self, q: &ListQuery) -> Result<Vec<InstanceSummary>, StoreError> {
        self.inner.list(q).await
    }
    async fn history(
        &self,
        id: &InstanceId,
        a: Option<u64>,
        l: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        self.inner.history(id, a, l).await
    }
    async fn register_worker(&self, o: &WorkerId) -> Result<(), StoreError> {
        self.inner.register_worker(o).await
    }
    async fn unregister_worker(&self, o: &WorkerId) -> Result<(), StoreError> {
        self.inner.unregister_worker(o).await
    }
    async fn send_signal(&self, s: NewSignal) -> Result<u64, StoreError> {
        self.inner.send_signal(s).await
    }
    async fn signals(&self, id: &InstanceId) -> Result<Vec<SignalRecord>, StoreError> {
        self.inner.signals(id).await
    }
}

#[sayiir::task]
async fn ping(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn once(n: u64) -> u64 {
    ping(n).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_worker_sleeps_and_wakes_on_start() {
    let claims = Arc::new(AtomicU64::new(0));
    let store = Counting {
        inner: MemoryStore::new(),
        claims: claims.clone(),
    };
    let config = WorkerConfig::default()
        .idle_poll(Duration::from_millis(500))
        .lease(Duration::from_millis(600));
    let engine = Engine::builder(store)
        .register::<once>()
        .worker_config(config)
        .build();
    let worker = engine.spawn_worker();
    // Before and after some work, idle for 1.5 s.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let idle_claims = claims.load(Ordering::Relaxed);
    assert!(
        idle_claims <= 6,
        "{idle_claims} claims in 1.5 s of idleness with a 500 ms idle poll"
    );

    let started = Instant::now();
    assert_eq!(common::run_to_end::<once>(&engine, "x", 7).await, 7);
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(400),
        "an in-process start waits for the idle poll: {took:?}"
    );

    let before = claims.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = claims.load(Ordering::Relaxed) - before;
    assert!(after <= 6, "{after} claims in 1.5 s of idleness after work");
    worker.shutdown().await.unwrap();
}
