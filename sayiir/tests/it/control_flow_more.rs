//! Compensation, `if let`, labeled nested loops, iteration limits and child workflows in joins;
//! `rules`: bodies the macro once compiled wrongly or refused (issue 12).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rules;

use crate::common;

use std::sync::Mutex;

use sayiir::store::BlockKind;
use sayiir::{Engine, EngineError, MemoryStore};

static LEDGER: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record(entry: String) {
    LEDGER.lock().unwrap().push(entry);
}

fn ledger_for(order: &str) -> Vec<String> {
    LEDGER
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.ends_with(order))
        .cloned()
        .collect()
}

#[sayiir::task]
async fn reserve(order: String) -> Result<u32, String> {
    record(format!("reserve {order}"));
    Ok(7)
}

#[sayiir::task]
async fn release(order: String) -> Result<(), String> {
    record(format!("release {order}"));
    Ok(())
}

#[sayiir::task]
async fn charge(order: String, fail: bool) -> Result<u64, String> {
    if fail {
        record(format!("charge-failed {order}"));
        Err("card declined".into())
    } else {
        record(format!("charge {order}"));
        Ok(100)
    }
}

/// Reserve, then charge; if the charge fails, release the reservation (compensation).
#[sayiir::workflow]
async fn saga(order: String, fail: bool) -> Result<u64, String> {
    let slot = reserve(order.clone()).await?;
    let paid = match charge(order.clone(), fail).await {
        Ok(amount) => amount,
        Err(e) => {
            release(order.clone()).await?;
            return Err(format!("{e} (slot {slot} released)"));
        }
    };
    Ok(paid + u64::from(slot))
}

#[sayiir::task]
async fn lookup(n: u64) -> Option<u64> {
    if n.is_multiple_of(2) {
        Some(n / 2)
    } else {
        None
    }
}

#[sayiir::task]
async fn bump(n: u64) -> u64 {
    n + 1
}

#[sayiir::workflow]
async fn if_let(n: u64) -> u64 {
    if let Some(half) = lookup(n).await {
        let b = bump(half).await;
        b * 10
    } else {
        bump(n).await
    }
}

#[sayiir::workflow]
async fn grid(rows: Vec<u64>) -> Vec<(u64, u64)> {
    let mut hits: Vec<(u64, u64)> = Vec::new();
    'outer: for r in rows {
        let cols: Vec<u64> = vec![1, 2, 3, 4];
        for c in cols {
            let v = bump(r * c).await;
            if v.is_multiple_of(5) {
                continue 'outer;
            }
            if v > 30 {
                break 'outer;
            }
            hits.push((r, c));
        }
    }
    hits
}

fn grid_ref(rows: Vec<u64>) -> Vec<(u64, u64)> {
    let mut hits = Vec::new();
    'outer: for r in rows {
        for c in [1, 2, 3, 4] {
            let v = r * c + 1;
            if v.is_multiple_of(5) {
                continue 'outer;
            }
            if v > 30 {
                break 'outer;
            }
            hits.push((r, c));
        }
    }
    hits
}

#[sayiir::workflow(max_iterations = 5)]
async fn runaway(n: u64) -> u64 {
    let mut i: u64 = n;
    loop {
        i = bump(i).await;
    }
}

#[sayiir::workflow]
async fn bounded_loop(n: u64) -> u64 {
    let mut i: u64 = 0;
    #[sayiir::max_iterations(3)]
    while i < n {
        i = bump(i).await;
    }
    i
}

#[sayiir::workflow]
async fn child(n: u64) -> u64 {
    let a = bump(n).await;
    bump(a).await
}

#[sayiir::workflow]
async fn parent(n: u64) -> (u64, u64, Vec<u64>) {
    let (x, y) = sayiir::join!(child(n), child(n + 10)).await;
    let ns: Vec<u64> = vec![1, 2, 3];
    let zs = sayiir::join_all(ns.into_iter().map(|k| child(k))).await;
    (x, y, zs)
}

/// A second parent of `child`: the same child workflow used by several parents.
#[sayiir::workflow]
async fn other_parent(n: u64) -> u64 {
    let a = child(n).await;
    let b = bump(a).await;
    child(b).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_calls() {
    assert_eq!(saga("o-1".into(), false).await, Ok(107));
    assert_eq!(
        saga("o-2".into(), true).await,
        Err("card declined (slot 7 released)".to_string())
    );
    assert_eq!(
        ledger_for("o-2"),
        ["reserve o-2", "charge-failed o-2", "release o-2"]
    );
    assert_eq!(if_let(8).await, 50);
    assert_eq!(if_let(7).await, 8);
    for rows in [vec![1, 2, 3], vec![4, 9, 2], vec![], vec![10, 1]] {
        assert_eq!(
            grid(rows.clone()).await,
            grid_ref(rows.clone()),
            "grid({rows:?})"
        );
    }
    assert_eq!(parent(1).await, (3, 13, vec![3, 4, 5]));
    assert_eq!(other_parent(1).await, 6);
    assert_eq!(bounded_loop(3).await, 3);
}

async fn on_the_engine(store: impl sayiir::store::Store, tag: &str) {
    let engine = Engine::builder(store)
        .register::<other_parent>()
        .register::<saga>()
        .register::<if_let>()
        .register::<grid>()
        .register::<runaway>()
        .register::<bounded_loop>()
        .register::<parent>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    assert_eq!(
        common::run_to_end::<saga>(&engine, "s-ok", (format!("e-1-{tag}"), false)).await,
        Ok(107)
    );
    assert_eq!(
        common::run_to_end::<saga>(&engine, "s-fail", (format!("e-2-{tag}"), true)).await,
        Err("card declined (slot 7 released)".to_string())
    );
    let order = format!("e-2-{tag}");
    assert_eq!(
        ledger_for(&order),
        [
            format!("reserve {order}"),
            format!("charge-failed {order}"),
            format!("release {order}")
        ]
    );
    assert_eq!(common::run_to_end::<if_let>(&engine, "il", 8).await, 50);
    let rows = vec![4, 9, 2, 1];
    assert_eq!(
        common::run_to_end::<grid>(&engine, "g", rows.clone()).await,
        grid_ref(rows)
    );
    assert_eq!(
        common::run_to_end::<parent>(&engine, "p", 1).await,
        (3, 13, vec![3, 4, 5])
    );

    // A loop past its limit: the instance is blocked with a typed error, not run forever.
    engine.start::<runaway>("r", 0).await.unwrap();
    match engine.result::<runaway>("r").await {
        Err(EngineError::Blocked {
            kind: BlockKind::IterationLimit,
            reason,
            ..
        }) => {
            assert!(reason.contains("limit of 5 iterations"), "{reason}")
        }
        other => panic!("expected an iteration-limit block, got {other:?}"),
    }
    let seq = engine.status("r").await.unwrap().seq;
    assert_eq!(
        seq, 5,
        "5 iterations committed (each suspends once), the 6th refused"
    );
    assert_eq!(
        common::run_to_end::<bounded_loop>(&engine, "b-ok", 3).await,
        3
    );
    engine.start::<bounded_loop>("b-over", 4).await.unwrap();
    assert!(matches!(
        engine.result::<bounded_loop>("b-over").await,
        Err(EngineError::Blocked {
            kind: BlockKind::IterationLimit,
            ..
        })
    ));
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_memory() {
    on_the_engine(MemoryStore::new(), "mem").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    on_the_engine(
        sayiir::SqliteStore::open(dir.path().join("more.db")).unwrap(),
        "sqlite",
    )
    .await;
}
