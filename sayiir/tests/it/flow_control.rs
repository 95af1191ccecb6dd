//! Flow control (docs/flow-control.md) on every store: a task's concurrency limit holds within
//! one worker and across a join's branches, is reached (it does not serialise the work), shows
//! its usage and waiters in `Engine::limits`, and refused attempts wait and then complete
//! (none fails). pg_kill.rs: the limit across four worker processes on PostgreSQL, SIGKILLed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pg_kill;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sayiir::{Engine, WorkerConfig};
use tokio::sync::Semaphore;

use crate::common::{eventually, within};

/// Attempts of `gated` running now, and the most seen at once.
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static MOST: AtomicUsize = AtomicUsize::new(0);
/// What `gated` waits for before it returns (permits added by the test).
static GATE: Semaphore = Semaphore::const_new(0);

#[sayiir::task(concurrency = 2)]
async fn gated(n: u64) -> u64 {
    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    MOST.fetch_max(now, Ordering::SeqCst);
    GATE.acquire().await.unwrap().forget();
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    n * 2
}

#[sayiir::task]
async fn plain(n: u64) -> u64 {
    n + 1
}

/// Two limited calls side by side (two slots of one limit for one instance), then a task
/// without a limit.
#[sayiir::workflow]
async fn limited(n: u64) -> u64 {
    let (a, b) = sayiir::join!(gated(n), gated(n + 1)).await;
    plain(a + b).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_limit_holds_is_reached_and_shows_its_waiters() {
    const INSTANCES: u64 = 6;
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("limits", dir.path()).await {
        MOST.store(0, Ordering::SeqCst);
        let engine = Engine::builder_shared(Arc::clone(&store))
            .register::<limited>()
            .worker_config(WorkerConfig::default().lease(Duration::from_secs(30)))
            .build()
            .unwrap();
        for i in 0..INSTANCES {
            engine.start::<limited>(&format!("l{i}"), i).await.unwrap();
        }
        let worker = engine.spawn_worker();
        // Two attempts hold the slots and wait at the gate; the other ten wait for a slot.
        let usage = eventually(
            &format!("{backend}: the limit full, the rest waiting"),
            || {
                let engine = engine.clone();
                async move {
                    let limits = engine.limits().await.unwrap();
                    limits
                        .first()
                        .filter(|l| l.in_use == 2 && l.waiting == 2 * INSTANCES - 2)
                        .cloned()
                }
            },
        )
        .await;
        assert_eq!(limits_keys(&engine).await, ["task:gated"], "{backend}");
        assert_eq!(usage.limit, 2, "{backend}");
        assert_eq!(
            RUNNING.load(Ordering::SeqCst),
            2,
            "{backend}: two attempts run"
        );
        GATE.add_permits(usize::try_from(2 * INSTANCES).unwrap());
        for i in 0..INSTANCES {
            let out = within(
                &format!("{backend}: l{i}"),
                engine.result::<limited>(&format!("l{i}")),
            )
            .await
            .unwrap();
            assert_eq!(out, i * 2 + (i + 1) * 2 + 1, "{backend}: l{i}");
        }
        assert_eq!(
            MOST.load(Ordering::SeqCst),
            2,
            "{backend}: most attempts at once"
        );
        let after = engine.limits().await.unwrap();
        assert_eq!(
            (after[0].in_use, after[0].waiting),
            (0, 0),
            "{backend}: {after:?}"
        );
        worker.shutdown().await.unwrap();
        assert_eq!(
            GATE.available_permits(),
            0,
            "{backend}: every attempt ran once"
        );
        drop(store);
    }
}

async fn limits_keys(engine: &Engine) -> Vec<String> {
    engine
        .limits()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.key)
        .collect()
}
