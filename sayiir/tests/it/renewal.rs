//! A driver that finished its instance, or is stopping, gives its lease up itself; a lease
//! renewal that finds the lease gone meanwhile must not abort that driver. It used to: the
//! worker aborted drivers between their last commit's acknowledgement and their bookkeeping,
//! so the completion counters came up short and in-process `result()` waiters were not woken
//! (they only noticed at their next store poll).
//!
//! A driver whose lease was not renewed in time stops before the lease ends, so that the
//! instance, claimed again (by any worker, this one included), is never run twice at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::hooked;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use hooked::{Hooked, Hooks};
use sayiir::store::{Store, StoreError};
use sayiir::{Engine, MemoryStore, SqliteOptions, SqliteStore, Synchronous, WorkerConfig};

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
    // Renewals every 60 ms, while thousands of instances finish (a second or two: many
    // renewals race with leases given up). A shorter lease makes the test depend on the
    // scheduler: a driver starved of CPU for a lease's length stops on its own clock (its
    // lease may have expired), and the transition it had sent is committed uncounted.
    let config = WorkerConfig::default()
        .lease(Duration::from_millis(180))
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

/// Fails every lease renewal while the flag is set.
struct FailRenewals(Arc<AtomicBool>);

impl Hooks for FailRenewals {
    fn before_renew(&self) -> Result<(), StoreError> {
        if self.0.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable {
                detail: "injected: renewals fail".into(),
            });
        }
        Ok(())
    }
}

static LONG_CALLS: AtomicUsize = AtomicUsize::new(0);
static LONG_RUNNING: AtomicUsize = AtomicUsize::new(0);
static LONG_MOST: AtomicUsize = AtomicUsize::new(0);

/// Counts one running call of `long_step` until dropped (returned or cancelled).
struct Running;

impl Running {
    fn enter() -> Self {
        LONG_CALLS.fetch_add(1, Ordering::SeqCst);
        let now = LONG_RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
        LONG_MOST.fetch_max(now, Ordering::SeqCst);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        LONG_RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

#[sayiir::task]
async fn long_step(n: u64) -> u64 {
    let _running = Running::enter();
    tokio::time::sleep(Duration::from_millis(600)).await;
    n + 1
}

#[sayiir::workflow]
async fn one_long_step(n: u64) -> u64 {
    long_step(n).await
}

/// While renewals fail, a driver stops (dropping its task attempt) before its lease ends,
/// so the instance, claimed again as soon as the lease ends (by this very worker), is never
/// run by two drivers at once. It used to be: the first driver kept running its attempt while
/// the second one started the same step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_stops_before_its_unrenewed_lease_ends() {
    let failing = Arc::new(AtomicBool::new(true));
    let store = Hooked {
        inner: Arc::new(MemoryStore::new()) as Arc<dyn Store>,
        hooks: FailRenewals(failing.clone()),
    };
    let config = WorkerConfig::default()
        .lease(Duration::from_millis(300))
        .idle_poll(Duration::from_millis(20));
    let engine = Engine::builder(store)
        .register::<one_long_step>()
        .worker_config(config)
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    let handle = engine.start::<one_long_step>("long", 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    failing.store(false, Ordering::SeqCst);
    let out = tokio::time::timeout(Duration::from_secs(30), handle.result())
        .await
        .expect("the instance finished once renewals worked again")
        .unwrap();
    assert_eq!(out, 2);
    worker.shutdown().await.unwrap();
    let calls = LONG_CALLS.load(Ordering::SeqCst);
    assert!(
        calls >= 2,
        "the unrenewed lease must have stopped the first attempt ({calls} calls)"
    );
    assert_eq!(
        LONG_MOST.load(Ordering::SeqCst),
        1,
        "two attempts of the step ran at once ({calls} calls)"
    );
}
