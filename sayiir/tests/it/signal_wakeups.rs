//! Regression tests for two signal wake-up bugs, on every store (memory, SQLite, PostgreSQL).
//! Both failed before the fix (stores keep a listened-for buffered signal due; the driver
//! reschedules an instance woken early).
//!
//! 1. A signal sent before a commit that leaves the instance waiting only for signals is
//!    orphaned when the committing driver does not get to read it: the commit stores
//!    `due_at = NULL` over the "due now" that `send_signal` set, so no worker claims the
//!    instance again. The driver may miss the read by dying (SIGKILL), by losing its lease, on
//!    worker shutdown, or on a failed read — simulated here with one failed `signals()` call.
//! 2. A signal sent while the workflow waits for something else (here, a sleep) makes the
//!    instance due now until the next commit: workers claim it, find nothing to do, release
//!    it (still due), and claim it again, hundreds of times a second, for the whole sleep.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::hooked;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hooked::{Hooked, Hooks};
use sayiir::Engine;
use sayiir::store::{Claimed, InstanceId, Store, StoreError};

/// Counts claimed instances and fails the `fail_read`-th `signals()` call.
struct Probe {
    claimed: AtomicUsize,
    reads: AtomicUsize,
    fail_read: usize,
}

impl Probe {
    fn new(inner: Arc<dyn Store>, fail_read: usize) -> Arc<Hooked<Probe>> {
        Arc::new(Hooked {
            inner,
            hooks: Probe {
                claimed: AtomicUsize::new(0),
                reads: AtomicUsize::new(0),
                fail_read,
            },
        })
    }
}

impl Hooks for Probe {
    fn claimed(&self, outcome: &Result<Vec<Claimed>, StoreError>) {
        if let Ok(out) = outcome {
            self.claimed.fetch_add(out.len(), Ordering::SeqCst);
        }
    }

    fn before_signals(&self) -> Result<(), StoreError> {
        if self.reads.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_read {
            return Err(StoreError::Unavailable {
                detail: "injected: one failed read".into(),
            });
        }
        Ok(())
    }
}

#[sayiir::workflow]
async fn two_signals(n: u64) -> (u64, u64) {
    let a = sayiir::signal::<u64>("a").await;
    let b = sayiir::signal::<u64>("b").await;
    (a + n, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_sent_before_the_commit_is_not_orphaned() {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in crate::common::stores::all("orphan", dir.path()).await {
        // Read 1 finds "a"; read 2, right after the commit that consumed "a" and left the
        // instance waiting for "b" only, fails.
        let probe = Probe::new(store, 2);
        let engine = Engine::builder_shared(probe.clone())
            .register::<two_signals>()
            .build()
            .unwrap();
        engine.start::<two_signals>("o", 1).await.unwrap();
        engine.signal("o", "a", &10u64).await.unwrap();
        engine.signal("o", "b", &20u64).await.unwrap();
        let worker = engine.spawn_worker();
        let out =
            tokio::time::timeout(crate::common::PATIENCE, engine.result::<two_signals>("o")).await;
        let record = probe.load(&InstanceId::new("o").unwrap()).await.unwrap();
        worker.shutdown().await.unwrap();
        assert!(
            out.is_ok(),
            "{name}: stuck at seq {} with due_at {:?} and {} buffered signal(s)",
            record.seq,
            record.due_at,
            probe
                .signals(&InstanceId::new("o").unwrap())
                .await
                .unwrap()
                .len()
        );
        assert_eq!(out.unwrap().unwrap(), (11, 20));
    }
}

#[sayiir::workflow]
async fn nap_then_signal(ms: u64) -> u64 {
    sayiir::sleep(Duration::from_millis(ms)).await;
    sayiir::signal::<u64>("x").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_signal_does_not_make_a_sleeping_instance_spin() {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in crate::common::stores::all("spin", dir.path()).await {
        let probe = Probe::new(store, 0);
        let engine = Engine::builder_shared(probe.clone())
            .register::<nap_then_signal>()
            .build()
            .unwrap();
        let worker = engine.spawn_worker();
        // The sleep ends 2 s after the window below: a slow machine has room to spare.
        engine.start::<nap_then_signal>("p", 4000).await.unwrap();
        crate::common::eventually("p to fall asleep", || async {
            (engine.status("p").await.unwrap().seq >= 1).then_some(())
        })
        .await;
        let before = probe.hooks.claimed.load(Ordering::SeqCst);
        engine.signal("p", "x", &7u64).await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let claims = probe.hooks.claimed.load(Ordering::SeqCst) - before;
        assert_eq!(engine.result::<nap_then_signal>("p").await.unwrap(), 7);
        worker.shutdown().await.unwrap();
        assert!(
            claims <= 2,
            "{name}: the sleeping instance was claimed {claims} times in the 2 s after an early signal"
        );
    }
}
