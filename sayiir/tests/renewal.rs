//! A driver that finished its instance, or is stopping, gives its lease up itself; a lease
//! renewal that finds the lease gone meanwhile must not abort that driver. It used to: the
//! worker aborted drivers between their last commit's acknowledgement and their bookkeeping,
//! so the completion counters came up short and in-process `result()` waiters were not woken
//! (they only noticed at their next store poll).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sayiir::{Engine, SqliteOptions, SqliteStore, Synchronous, WorkerConfig};

#[sayiir::task]
async fn step(n: u64) -> u64 {
    n + 1
}

#[sayiir::workflow]
async fn three(n: u64) -> u64 {
    let n = step(n).await;
    let n = step(n).await;
    step(n).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewals_do_not_abort_drivers_that_gave_their_lease_up() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions::default().synchronous(Synchronous::Normal);
    let store = SqliteStore::open_with(dir.path().join("renewal.db"), options).unwrap();
    // Renewals every 10 ms, while thousands of instances finish.
    let config = WorkerConfig::default()
        .lease(Duration::from_millis(30))
        .max_instances(256);
    let engine = Engine::builder(store)
        .register::<three>()
        .worker_config(config)
        .build()
        .unwrap();
    let n = 3_000u64;
    for i in 0..n {
        engine.start::<three>(&format!("r-{i}"), i).await.unwrap();
    }
    let worker = engine.spawn_worker();
    for i in 0..n {
        let out = engine.result::<three>(&format!("r-{i}")).await.unwrap();
        assert_eq!(out, i + 3);
    }
    worker.shutdown().await.unwrap();
    let m = engine.metrics();
    let (_, committed) = m.commit_batches();
    // Every committed transition was seen through by its driver.
    assert_eq!(m.transitions(), committed);
    assert_eq!(m.instances_completed(), n);
}

#[sayiir::workflow]
async fn nap(n: u64) -> u64 {
    sayiir::sleep(Duration::from_millis(200)).await;
    step(n).await
}

/// A sleeping instance holds no lease (design promise 5): the commit that parks it gives the
/// lease up. With a one-hour lease, an instance whose lease stayed held would not be claimed
/// again when its sleep ends, not even by the same worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_instance_holds_no_lease() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("parked.db")).unwrap();
    let config = WorkerConfig::default().lease(Duration::from_secs(3600));
    let engine = Engine::builder(store)
        .register::<nap>()
        .worker_config(config)
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    let handle = engine.start::<nap>("nap", 1).await.unwrap();
    let out = tokio::time::timeout(Duration::from_secs(30), handle.result())
        .await
        .expect("the instance was claimed again after its sleep")
        .unwrap();
    assert_eq!(out, 2);
    worker.shutdown().await.unwrap();
}
