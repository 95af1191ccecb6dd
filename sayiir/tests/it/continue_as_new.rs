//! `continue_as_new`: a workflow that loops by restarting itself keeps its stored state and
//! its history bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sayiir::{Engine, SqliteStore};

#[sayiir::task]
async fn bump(n: u64) -> u64 {
    n + 1
}

#[sayiir::workflow]
async fn counter(n: u64, until: u64) -> u64 {
    let next = bump(n).await;
    if next >= until {
        return next;
    }
    sayiir::continue_as_new((next, until)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_runs_under_one_id_keep_state_and_history_bounded() {
    const RUNS: u64 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("can.db")).unwrap();
    let engine = Engine::builder(store)
        .register::<counter>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    engine.start::<counter>("loop", (0, RUNS)).await.unwrap();
    let id = "loop".parse().unwrap();
    let (mut max_history, mut max_state, mut samples) = (0usize, 0usize, 0u32);
    loop {
        let record = engine.store().load(&id).await.unwrap();
        if record.status.is_terminal() {
            break;
        }
        let history = engine.store().history(&id, None, None).await.unwrap();
        max_history = max_history.max(history.len());
        max_state = max_state.max(record.state.map_or(0, |s| s.len()));
        samples += 1;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(engine.result::<counter>("loop").await.unwrap(), RUNS);
    let record = engine.store().load(&id).await.unwrap();
    assert!(
        record.seq >= 2 * RUNS,
        "every run committed: seq {}",
        record.seq
    );
    let history = engine.history("loop").await.unwrap();
    println!(
        "continue_as_new: {RUNS} runs, final seq {}, {samples} samples while running: \
         max history {max_history} entries, max state {max_state} bytes; final history {}",
        record.seq,
        history.len()
    );
    assert!(samples > 5, "the run was observed while it went on");
    assert!(
        max_history <= 3,
        "history of the live run only: {max_history}"
    );
    assert!(max_state <= 256, "state stays small: {max_state} bytes");
    assert!(history.len() <= 3, "{history:?}");
    worker.shutdown().await.unwrap();
}

/// A child that continues as new restarts only itself, inside its parent's state.
#[sayiir::workflow]
async fn outer(times: u64) -> (u64, u64) {
    let first = counter(0, times).await;
    let second = counter(first, first + 3).await;
    (first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_workflow_continues_as_new_inside_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("child.db")).unwrap();
    let engine = Engine::builder(store).register::<outer>().build().unwrap();
    let worker = engine.spawn_worker();
    let out = engine
        .start::<outer>("outer", 5)
        .await
        .unwrap()
        .result()
        .await
        .unwrap();
    assert_eq!(out, (5, 8));
    // Called directly, the same machine runs in memory.
    assert_eq!(outer(2).await, (2, 5));
    worker.shutdown().await.unwrap();
}
