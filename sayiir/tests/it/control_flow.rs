//! Branches, matches, loops, joins and compensation inside workflow bodies, run directly (in
//! memory) and on the engine over SQLite; every result is compared with the same logic in plain
//! Rust.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sayiir::{Engine, MemoryStore, SqliteStore, TaskContext};
use tokio::sync::Barrier;

#[sayiir::task]
async fn double(n: u64) -> u64 {
    n * 2
}

#[sayiir::task]
async fn check(n: u64) -> Result<u64, String> {
    if n.is_multiple_of(7) {
        Err(format!("{n} is a multiple of 7"))
    } else {
        Ok(n)
    }
}

#[sayiir::task]
async fn add(a: u64, b: u64) -> u64 {
    a + b
}

/// One barrier per instance of `concurrent`.
static MEETINGS: Mutex<BTreeMap<String, Arc<Barrier>>> = Mutex::new(BTreeMap::new());

/// Returns once `n` calls of the same instance are running at once: the branches of a join
/// only all get here if they run concurrently.
#[sayiir::task]
async fn meet(n: u64) -> u64 {
    let instance = TaskContext::current().unwrap().instance().to_owned();
    let barrier = MEETINGS
        .lock()
        .unwrap()
        .entry(instance)
        .or_insert_with(|| Arc::new(Barrier::new(n as usize)))
        .clone();
    barrier.wait().await;
    n
}

#[sayiir::workflow]
async fn branches(n: u64) -> u64 {
    let mut acc: u64 = n;
    if n > 10 {
        acc = double(acc).await;
    } else if n > 5 {
        let d = double(n).await;
        acc = add(acc, d).await;
    } else {
        acc += 1;
    }
    let label: u64 = if acc.is_multiple_of(2) {
        add(acc, 100).await
    } else {
        7
    };
    match check(label).await {
        Ok(v) if v > 200 => add(v, acc).await,
        Ok(v) => {
            let w = double(v).await;
            w + 1
        }
        Err(e) => e.len() as u64,
    }
}

fn branches_ref(n: u64) -> u64 {
    let acc = if n > 10 {
        n * 2
    } else if n > 5 {
        n + n * 2
    } else {
        n + 1
    };
    let label = if acc.is_multiple_of(2) { acc + 100 } else { 7 };
    if label.is_multiple_of(7) {
        format!("{label} is a multiple of 7").len() as u64
    } else if label > 200 {
        label + acc
    } else {
        label * 2 + 1
    }
}

#[sayiir::workflow]
async fn loops(items: Vec<u64>, limit: u64) -> (u64, u64, Vec<u64>) {
    let mut total: u64 = 0;
    let mut seen: Vec<u64> = Vec::new();
    for x in items {
        if x == 0 {
            continue;
        }
        let d = double(x).await;
        if d > limit {
            break;
        }
        total = add(total, d).await;
        seen.push(x);
    }
    let mut n: u64 = 0;
    while n < 3 {
        n = add(n, 1).await;
    }
    let found: u64 = loop {
        let c = check(total + n).await;
        match c {
            Ok(v) => break v,
            Err(_) => n += 1,
        }
    };
    (found, n, seen)
}

fn loops_ref(items: Vec<u64>, limit: u64) -> (u64, u64, Vec<u64>) {
    let mut total = 0;
    let mut seen = Vec::new();
    for x in items {
        if x == 0 {
            continue;
        }
        if x * 2 > limit {
            break;
        }
        total += x * 2;
        seen.push(x);
    }
    let mut n = 3;
    while (total + n).is_multiple_of(7) {
        n += 1;
    }
    (total + n, n, seen)
}

#[sayiir::workflow]
async fn fan_out(ns: Vec<u64>) -> Result<(u64, u64, Vec<u64>), String> {
    let (a, b) = sayiir::join!(double(3), check(5)).await;
    let b = b?;
    let all = sayiir::join_all(ns.iter().map(|n| double(*n))).await;
    let checked = sayiir::try_join_all(all.clone().into_iter().map(|n| check(n + 1))).await?;
    let (x, y) = sayiir::try_join!(check(a), check(b)).await?;
    let _ = checked;
    Ok((x, y, all))
}

#[sayiir::workflow]
async fn concurrent(n: u64) -> Vec<u64> {
    let v: Vec<u64> = (0..n).map(|_| n).collect();
    sayiir::join_all(v.into_iter().map(|n| meet(n))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_calls_match_plain_rust() {
    for n in [0, 3, 6, 8, 11, 12, 50, 96] {
        assert_eq!(branches(n).await, branches_ref(n), "branches({n})");
    }
    for (items, limit) in [
        (vec![1, 0, 2, 3], 100),
        (vec![5, 9, 1], 12),
        (vec![], 1),
        (vec![0, 0], 3),
    ] {
        assert_eq!(
            loops(items.clone(), limit).await,
            loops_ref(items.clone(), limit),
            "loops({items:?}, {limit})"
        );
    }
    assert_eq!(fan_out(vec![1, 2, 4]).await, Ok((6, 5, vec![2, 4, 8])));
    assert_eq!(
        fan_out(vec![3]).await,
        Err("7 is a multiple of 7".to_string())
    );
}

async fn on_engine(store: impl sayiir::store::Store, label: &str) {
    let engine = Engine::builder(store)
        .register::<branches>()
        .register::<loops>()
        .register::<fan_out>()
        .register::<concurrent>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    for n in [0, 3, 6, 8, 11, 12, 50, 96] {
        let out = common::run_to_end::<branches>(&engine, &format!("b-{n}"), n).await;
        assert_eq!(out, branches_ref(n), "branches({n})");
    }
    for (i, (items, limit)) in [(vec![1, 0, 2, 3], 100), (vec![5, 9, 1], 12), (vec![], 1)]
        .into_iter()
        .enumerate()
    {
        let out =
            common::run_to_end::<loops>(&engine, &format!("l-{i}"), (items.clone(), limit)).await;
        assert_eq!(out, loops_ref(items, limit));
    }
    assert_eq!(
        common::run_to_end::<fan_out>(&engine, "f-ok", vec![1, 2, 4]).await,
        Ok((6, 5, vec![2, 4, 8]))
    );
    assert_eq!(
        common::run_to_end::<fan_out>(&engine, "f-err", vec![3]).await,
        Err("7 is a multiple of 7".to_string())
    );
    // Branches run concurrently: each of 8 waits until all 8 are running.
    let out = common::within(
        "8 branches of a join_all to run at once",
        common::run_to_end::<concurrent>(&engine, &format!("c-{label}"), 8),
    )
    .await;
    assert_eq!(out, vec![8; 8]);
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_on_memory() {
    on_engine(MemoryStore::new(), "memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("flow.db")).unwrap();
    on_engine(store, "sqlite").await;
}
