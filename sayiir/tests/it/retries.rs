//! Retries with backoff, permanent errors and timeouts, on a real SQLite file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use sayiir::store::Timestamp;
use sayiir::{Engine, RetryPolicy, SqliteStore, TaskContext, TaskTimeout};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
enum PayError {
    Declined,
    Flaky(u32),
    TimedOut(u32),
}

impl From<TaskTimeout> for PayError {
    fn from(t: TaskTimeout) -> Self {
        PayError::TimedOut(t.attempt)
    }
}

impl RetryPolicy for PayError {
    fn is_permanent(&self) -> bool {
        matches!(self, PayError::Declined)
    }
}

/// Attempts seen, by idempotency key.
static SEEN: Mutex<Vec<(String, u32)>> = Mutex::new(Vec::new());

fn record() -> TaskContext {
    let cx = TaskContext::current().expect("tasks run with a context");
    SEEN.lock()
        .unwrap()
        .push((cx.idempotency_key().to_owned(), cx.attempt()));
    cx
}

fn attempts_of(instance: &str) -> HashMap<String, Vec<u32>> {
    let mut out: HashMap<String, Vec<u32>> = HashMap::new();
    for (k, a) in SEEN.lock().unwrap().iter() {
        if k.starts_with(&format!("{instance}/")) {
            out.entry(k.clone()).or_default().push(*a);
        }
    }
    out
}

#[sayiir::task(retries = 4, backoff = "20ms", max_backoff = "40ms")]
async fn flaky(fail_times: u32) -> Result<u32, PayError> {
    let cx = record();
    if cx.attempt() <= fail_times {
        Err(PayError::Flaky(cx.attempt()))
    } else {
        Ok(cx.attempt())
    }
}

#[sayiir::task(retries = 3, backoff = "10ms")]
async fn declined() -> Result<u32, PayError> {
    record();
    Err(PayError::Declined)
}

#[sayiir::task(retries = 1, backoff = "10ms", timeout = "1s")]
async fn slow(ms: u64) -> Result<u64, PayError> {
    record();
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(ms)
}

#[sayiir::workflow]
async fn pay(fail_times: u32) -> Result<u32, PayError> {
    let n = flaky(fail_times).await?;
    Ok(n)
}

#[sayiir::workflow]
async fn pay_match(fail_times: u32) -> String {
    match flaky(fail_times).await {
        Ok(n) => format!("paid on attempt {n}"),
        Err(e) => format!("gave up: {e:?}"),
    }
}

#[sayiir::workflow]
async fn pay_declined() -> Result<u32, PayError> {
    declined().await
}

#[sayiir::workflow]
async fn pay_slow(ms: u64) -> Result<u64, PayError> {
    slow(ms).await
}

fn engine(dir: &tempfile::TempDir) -> Engine {
    let store = SqliteStore::open(dir.path().join("retries.db")).unwrap();
    Engine::builder(store)
        .register::<pay>()
        .register::<pay_match>()
        .register::<pay_declined>()
        .register::<pay_slow>()
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_task_is_retried_with_backoff_until_it_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let worker = engine.spawn_worker();
    let out = common::run_to_end::<pay>(&engine, "retry-ok", 2).await;
    assert_eq!(out, Ok(3));
    let seen = attempts_of("retry-ok");
    assert_eq!(
        seen.len(),
        1,
        "one call position, one idempotency key: {seen:?}"
    );
    assert_eq!(seen.values().next().unwrap(), &vec![1, 2, 3]);
    let history = engine.history("retry-ok").await.unwrap();
    let kinds: Vec<&str> = history.iter().map(|h| h.kind.as_str()).collect();
    assert_eq!(kinds, ["started", "start", "retry", "retry", "task"]);
    // Each retry waited at least half its backoff (equal jitter) before the next attempt ran.
    for pair in history[2..].windows(2) {
        let gap = pair[1].at.as_millis() - pair[0].at.as_millis();
        assert!(
            gap >= 10,
            "attempts {gap} ms apart, backoff is 20 ms or more"
        );
    }
    assert!(engine.metrics().task_retries() >= 2);
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_last_attempt_the_error_flows_into_the_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let worker = engine.spawn_worker();
    // retries = 4: five attempts in all.
    assert_eq!(
        common::run_to_end::<pay>(&engine, "retry-out", 10).await,
        Err(PayError::Flaky(5))
    );
    assert_eq!(
        attempts_of("retry-out").values().next().unwrap(),
        &vec![1, 2, 3, 4, 5]
    );
    assert_eq!(
        common::run_to_end::<pay_match>(&engine, "retry-match", 10).await,
        "gave up: Flaky(5)"
    );
    assert_eq!(
        common::run_to_end::<pay_match>(&engine, "retry-match-ok", 1).await,
        "paid on attempt 2"
    );
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_error_is_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let worker = engine.spawn_worker();
    assert_eq!(
        common::run_to_end::<pay_declined>(&engine, "declined", ()).await,
        Err(PayError::Declined)
    );
    assert_eq!(
        attempts_of("declined").values().next().unwrap(),
        &vec![1],
        "retries = 3 but the error is permanent"
    );
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_past_its_timeout_is_cut_off_and_retried_like_any_error() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let worker = engine.spawn_worker();
    assert_eq!(
        common::run_to_end::<pay_slow>(&engine, "slow-ok", 10).await,
        Ok(10)
    );
    // Attempts of an hour: only their 1 s deadlines can end them within the test.
    assert_eq!(
        common::within(
            "the hour-long attempts to be cut off at their deadlines",
            common::run_to_end::<pay_slow>(&engine, "slow-timeout", 3_600_000),
        )
        .await,
        Err(PayError::TimedOut(2)),
        "two attempts (retries = 1), the last one's timeout is the error"
    );
    let kinds: Vec<String> = engine
        .history("slow-timeout")
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "started",
            "start",
            "task-started",
            "retry",
            "task-started",
            "task"
        ],
        "each attempt's deadline is committed before it runs"
    );
    worker.shutdown().await.unwrap();
}

#[sayiir::task(timeout = "6s")]
async fn hangs() -> Result<u64, PayError> {
    record();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(0)
}

#[sayiir::workflow]
async fn pay_hangs() -> Result<u64, PayError> {
    hangs().await
}

/// The deadline is committed before the attempt runs: a worker that takes the instance over
/// after the first one stopped mid-attempt cuts the re-run off at the same deadline, not a
/// fresh six seconds later. The second worker starts 3 s after the first attempt: the
/// committed deadline comes 3 s before a fresh one would, which leaves room for a slow
/// machine on both sides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_attempt_keeps_the_committed_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("deadline.db");
    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .register::<pay_hangs>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    engine.start::<pay_hangs>("deadline", ()).await.unwrap();
    common::eventually("the first attempt to start", || async {
        (!attempts_of("deadline").is_empty()).then_some(())
    })
    .await;
    assert_eq!(attempts_of("deadline").values().next().unwrap(), &vec![1]);
    // The attempt is abandoned mid-run, as by a crash; its deadline is already committed.
    worker.shutdown().await.unwrap();
    drop(engine);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let resumed = Timestamp::now().as_millis();
    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .register::<pay_hangs>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    assert_eq!(
        engine.result::<pay_hangs>("deadline").await.unwrap(),
        Err(PayError::TimedOut(1))
    );
    assert_eq!(
        attempts_of("deadline").values().next().unwrap(),
        &vec![1, 1],
        "the same attempt ran again"
    );
    let history = engine.history("deadline").await.unwrap();
    let at = |kind: &str| {
        history
            .iter()
            .find(|h| h.kind == kind)
            .map(|h| h.at.as_millis())
            .unwrap()
    };
    let budget = at("task") - at("task-started");
    assert!(
        budget >= 6000,
        "cut off {budget} ms after the committed start, the timeout is 6000 ms"
    );
    assert!(
        at("task") < resumed + 6000,
        "cut off {} ms after the second worker started: a fresh deadline, not the committed one",
        at("task") - resumed
    );
    worker.shutdown().await.unwrap();
}
