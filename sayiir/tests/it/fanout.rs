//! Wide joins on the engine over SQLite: the results of branches that finish while the
//! instance's previous commit is in flight are folded into one transition, each still a
//! history entry of its own (issue 19).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::common::events::{RetryEvent, TaskEvent, decode};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sayiir::store::HistoryEntry;
use sayiir::{Engine, RetryPolicy, SqliteStore};
use serde::{Deserialize, Serialize};
use tokio::sync::Barrier;

/// Branches of the wide join: every call of `gathered` waits here until all have started, so
/// that they end together, while a commit is in flight.
static GATE: std::sync::OnceLock<Arc<Barrier>> = std::sync::OnceLock::new();

const WIDE: u64 = 1_000;

#[sayiir::task]
async fn gathered(n: u64) -> u64 {
    if let Some(gate) = GATE.get() {
        gate.wait().await;
    }
    n * 3 + 1
}

#[sayiir::workflow]
async fn wide(n: u64) -> Vec<u64> {
    sayiir::join_all((0..n).map(|k| gathered(k))).await
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Hiccup {
    Once(u64),
}

impl RetryPolicy for Hiccup {
    fn is_permanent(&self) -> bool {
        false
    }
}

/// Fails its first attempt for every `n` ending in 3.
#[sayiir::task(retries = 2, backoff = "5ms", max_backoff = "10ms")]
async fn shaky(n: u64) -> Result<u64, Hiccup> {
    let cx = sayiir::TaskContext::current().expect("tasks run with a context");
    if n % 10 == 3 && cx.attempt() == 1 {
        Err(Hiccup::Once(n))
    } else {
        Ok(n + 1000)
    }
}

#[sayiir::workflow]
async fn shaky_join(n: u64) -> Result<Vec<u64>, Hiccup> {
    sayiir::try_join_all((0..n).map(|k| shaky(k))).await
}

fn engine(dir: &tempfile::TempDir) -> Engine {
    let store = SqliteStore::open(dir.path().join("fanout.db")).unwrap();
    Engine::builder(store)
        .register::<wide>()
        .register::<shaky_join>()
        .build()
        .unwrap()
}

/// A `task` entry: task, attempt, output.
type Fed = (String, u32, Vec<u8>);

/// The `task` entries of `history`, by slot.
fn task_entries(history: &[HistoryEntry]) -> BTreeMap<Vec<u32>, Vec<Fed>> {
    let mut out: BTreeMap<Vec<u32>, Vec<Fed>> = BTreeMap::new();
    for h in history.iter().filter(|h| h.kind == "task") {
        let e: TaskEvent = decode(&h.payload);
        out.entry(e.slot)
            .or_default()
            .push((e.task, e.attempt, e.output));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_branch_join_folds_results_and_records_each_once() {
    GATE.get_or_init(|| Arc::new(Barrier::new(usize::try_from(WIDE).unwrap())));
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let worker = engine.spawn_worker();
    let out = common::within(
        "a 1,000-branch join_all to complete",
        common::run_to_end::<wide>(&engine, "wide", WIDE),
    )
    .await;
    let expected: Vec<u64> = (0..WIDE).map(|n| n * 3 + 1).collect();
    assert_eq!(out, expected, "the join's output in argument order");

    let history = engine.history("wide").await.unwrap();
    let seqs: Vec<u64> = history.iter().map(|h| h.seq).collect();
    assert_eq!(
        seqs,
        (0..u64::try_from(history.len()).unwrap()).collect::<Vec<_>>(),
        "history is gapless"
    );
    let tasks = task_entries(&history);
    assert_eq!(
        tasks.len(),
        usize::try_from(WIDE).unwrap(),
        "one slot per branch"
    );
    let mut outputs = BTreeSet::new();
    for (slot, entries) in &tasks {
        assert_eq!(
            entries.len(),
            1,
            "branch at {slot:?} recorded once: {entries:?}"
        );
        let (task, attempt, output) = &entries[0];
        assert_eq!((task.as_str(), *attempt), ("gathered", 1));
        outputs.insert(decode::<u64>(output));
    }
    assert_eq!(
        outputs,
        expected.iter().copied().collect::<BTreeSet<_>>(),
        "every branch's value is in history"
    );

    // Every history entry after the creation is a committed transition's; fewer commits than
    // entries means some commits carried several results.
    let entries = engine.metrics().transitions();
    let (_, commits) = engine.metrics().commit_batches();
    assert_eq!(
        entries,
        u64::try_from(history.len() - 1).unwrap(),
        "transitions counts history entries"
    );
    assert!(
        commits < entries,
        "{commits} commits for {entries} entries: no result was folded"
    );
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_branches_of_a_wide_join_still_retry_and_record_their_retries() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let worker = engine.spawn_worker();
    let n = 200u64;
    let out = common::within(
        "a 200-branch try_join_all with retries to complete",
        common::run_to_end::<shaky_join>(&engine, "shaky", n),
    )
    .await;
    assert_eq!(out, Ok((0..n).map(|k| k + 1000).collect::<Vec<_>>()));

    let history = engine.history("shaky").await.unwrap();
    let mut retried = BTreeMap::new();
    for h in history.iter().filter(|h| h.kind == "retry") {
        let e: RetryEvent = decode(&h.payload);
        assert_eq!((e.task.as_str(), e.failed_attempt), ("shaky", 1));
        *retried.entry(e.slot).or_insert(0) += 1;
    }
    let tasks = task_entries(&history);
    assert_eq!(tasks.len(), usize::try_from(n).unwrap());
    let mut second = 0;
    for (slot, entries) in &tasks {
        assert_eq!(entries.len(), 1, "branch at {slot:?}: {entries:?}");
        let (_, attempt, _) = &entries[0];
        match retried.get(slot) {
            Some(1) => {
                assert_eq!(*attempt, 2, "a retried branch ends on attempt 2");
                second += 1;
            }
            None => assert_eq!(*attempt, 1),
            Some(k) => panic!("branch at {slot:?} retried {k} times"),
        }
    }
    assert_eq!(
        second,
        n / 10,
        "every branch ending in 3 failed once and retried"
    );
    assert_eq!(retried.len(), usize::try_from(n / 10).unwrap());
    assert!(engine.metrics().task_retries() >= n / 10);
    worker.shutdown().await.unwrap();
}

/// Branches of `parking_join` wait here until all have started, so that the failing one ends
/// among the others (possibly while a fold takes them).
static PARK_GATE: std::sync::OnceLock<Arc<Barrier>> = std::sync::OnceLock::new();

const PARKING: u64 = 300;

/// Fails for `n == 150`, once and for all: its call parks.
#[sayiir::task(on_exhausted = "park")]
async fn parks_at_150(n: u64) -> Result<u64, Hiccup> {
    if let Some(gate) = PARK_GATE.get() {
        gate.wait().await;
    }
    if n == 150 {
        Err(Hiccup::Once(n))
    } else {
        Ok(n)
    }
}

#[sayiir::workflow]
async fn parking_join(n: u64) -> Result<Vec<u64>, Hiccup> {
    sayiir::try_join_all((0..n).map(|k| parks_at_150(k))).await
}

/// A branch whose call parks among many ending at once parks the instance (whether its end
/// came first or was taken by a fold), and every other branch's value is recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parking_branch_among_folded_ones_parks_the_instance() {
    PARK_GATE.get_or_init(|| Arc::new(Barrier::new(usize::try_from(PARKING).unwrap())));
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("parking.db")).unwrap();
    let engine = Engine::builder(store)
        .register::<parking_join>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    engine
        .start::<parking_join>("parking", PARKING)
        .await
        .unwrap();
    crate::admin::blocked_with(&engine, "parking", sayiir::store::BlockKind::Parked).await;
    // The park is committed with its `parked` entry; the branches fed before it are recorded
    // once each, and the parked call's is not among them.
    let history = engine.history("parking").await.unwrap();
    assert_eq!(
        history.iter().filter(|h| h.kind == "parked").count(),
        1,
        "one `parked` entry"
    );
    assert_eq!(history.last().map(|h| h.kind.as_str()), Some("parked"));
    let tasks = task_entries(&history);
    assert!(tasks.len() < usize::try_from(PARKING).unwrap());
    for (slot, entries) in &tasks {
        assert_eq!(entries.len(), 1, "branch at {slot:?}: {entries:?}");
    }
    worker.shutdown().await.unwrap();
}
