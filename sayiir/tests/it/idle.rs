//! An idle worker sleeps until the next due time or a wake-up: it does not poll the store in a
//! tight loop, and it wakes at once when work is started in-process. Its idle poll is an hour,
//! so an instance that waited for it would not finish within the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{self, hooked};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hooked::{Hooked, Hooks};
use sayiir::store::*;
use sayiir::{Engine, MemoryStore, WorkerConfig};

/// Counts claim calls.
struct CountClaims(Arc<AtomicU64>);

impl Hooks for CountClaims {
    fn claimed(&self, _: &Result<Vec<Claimed>, StoreError>) {
        self.0.fetch_add(1, Ordering::Relaxed);
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
    let store = Hooked {
        inner: Arc::new(MemoryStore::new()),
        hooks: CountClaims(claims.clone()),
    };
    let config = WorkerConfig::default()
        .idle_poll(Duration::from_secs(3600))
        .lease(Duration::from_millis(600));
    let engine = Engine::builder(store)
        .register::<once>()
        .worker_config(config)
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    // Before and after some work, idle for 1.5 s.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let idle_claims = claims.load(Ordering::Relaxed);
    assert!(
        idle_claims <= 6,
        "{idle_claims} claims in 1.5 s of idleness"
    );

    let out = common::within(
        "an in-process start to wake the idle worker (its idle poll is an hour)",
        common::run_to_end::<once>(&engine, "x", 7),
    )
    .await;
    assert_eq!(out, 7);

    let before = claims.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = claims.load(Ordering::Relaxed) - before;
    assert!(after <= 6, "{after} claims in 1.5 s of idleness after work");
    worker.shutdown().await.unwrap();
}
