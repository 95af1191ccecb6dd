//! Flow control (docs/flow-control.md) on every store: a task's concurrency limit holds within
//! one worker and across a join's branches, is reached (it does not serialise the work), shows
//! its usage and waiters in `Engine::limits`, and refused attempts wait and then complete
//! (none fails); a task's rate limit spaces its starts. pg_kill.rs: the limit across four
//! worker processes on PostgreSQL, SIGKILLed; pg_rate.rs: a rate across four processes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gates;
mod per_key;
mod pg_gates;
mod pg_kill;
mod pg_rate;

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

/// Wall-clock microseconds since the epoch (one clock for the processes of this machine).
fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// The most of `starts` (µs) within any window of `window_us`: `[t, t + window)` for each
/// start `t`.
fn worst_window(starts: &[i64], window_us: i64) -> usize {
    let mut sorted = starts.to_vec();
    sorted.sort_unstable();
    let mut worst = 0;
    let mut j = 0;
    for i in 0..sorted.len() {
        while j < sorted.len() && sorted[j] < sorted[i] + window_us {
            j += 1;
        }
        worst = worst.max(j - i);
    }
    worst
}

/// Starts of `tick`, in µs.
static TICKS: std::sync::Mutex<Vec<i64>> = std::sync::Mutex::new(Vec::new());

#[sayiir::task(rate = "10/s", burst = 2)]
async fn tick(n: u64) -> u64 {
    TICKS.lock().unwrap().push(now_us());
    n
}

#[sayiir::workflow]
async fn ticking(n: u64) -> u64 {
    let n = tick(n).await;
    n + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_rate_spaces_its_starts() {
    const INSTANCES: u64 = 20;
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("rates", dir.path()).await {
        TICKS.lock().unwrap().clear();
        let engine = Engine::builder_shared(Arc::clone(&store))
            .register::<ticking>()
            .build()
            .unwrap();
        for i in 0..INSTANCES {
            engine.start::<ticking>(&format!("t{i}"), i).await.unwrap();
        }
        let worker = engine.spawn_worker();
        // While the starts are spread over 2 s, the rate limit shows its burst in use and
        // starts reserved for later.
        let mut seen = None;
        for _ in 0..400 {
            let rates = engine.rate_limits().await.unwrap();
            if let Some(r) = rates.iter().find(|r| r.key == "task:tick" && r.waiting > 0) {
                seen = Some(r.clone());
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let seen = seen.unwrap_or_else(|| panic!("{backend}: no start reserved ahead"));
        assert_eq!(seen.interval, Duration::from_millis(100), "{backend}");
        assert_eq!(seen.burst, 2, "{backend}");
        assert!(
            seen.in_use <= 2 && seen.waiting < INSTANCES,
            "{backend}: {seen:?}"
        );
        for i in 0..INSTANCES {
            let out = within(
                &format!("{backend}: t{i}"),
                engine.result::<ticking>(&format!("t{i}")),
            )
            .await
            .unwrap();
            assert_eq!(out, i + 1, "{backend}");
        }
        worker.shutdown().await.unwrap();
        let starts = TICKS.lock().unwrap().clone();
        assert_eq!(starts.len(), 20, "{backend}: one start each");
        // Reserved starts: 2 at once, then one per 100 ms, so at most 11 in any 1 s; a start
        // runs at or after its reserved time, and one running late can fall into the window
        // of the next ones: the limit plus the burst, 12.
        let after = engine.rate_limits().await.unwrap();
        assert!(
            after.iter().all(|r| r.waiting == 0),
            "{backend}: every reserved start has passed: {after:?}"
        );
        let worst = worst_window(&starts, 1_000_000);
        eprintln!("flow_control: {backend}: worst 1 s window {worst} starts (rate 10/s, burst 2)");
        assert!(worst <= 12, "{backend}: {worst} starts within 1 s");
    }
}

#[sayiir::task(rate = "10/s", burst = 2)]
async fn vtick(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn vticking(n: u64) -> u64 {
    let n = vtick(n).await;
    n + 1
}

/// Under the test engine's virtual clock, attempts waiting for their reserved start of a rate
/// limit run when virtual time reaches it: 5 starts at `"10/s", burst = 2` take 300 ms of
/// virtual time, whatever the wall clock does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_rate_waits_in_virtual_time() {
    let t = sayiir::testing::TestEngine::builder()
        .register::<vticking>()
        .build()
        .unwrap();
    let begin = t.now();
    for i in 0..5u64 {
        t.start::<vticking>(&format!("v{i}"), i).await.unwrap();
    }
    for i in 0..5u64 {
        let out = within(
            &format!("v{i}"),
            t.run_until_done::<vticking>(&format!("v{i}")),
        )
        .await
        .unwrap();
        assert_eq!(out, i + 1);
    }
    let took = t.now().duration_since(begin).unwrap();
    assert!(
        took >= Duration::from_millis(299),
        "5 starts at 10/s with a burst of 2 need 300 ms: {took:?}"
    );
    t.shutdown().await.unwrap();
}
