//! Claim priorities (docs/flow-control.md, "Priorities") on every store: a worker that takes
//! one instance at a time runs them by priority, then start time; and a low-priority instance
//! behind a continuous stream of high-priority ones waits only for its head-start window.
//! The assertions are on the run order the tasks record and the start times the store
//! recorded, never on how long anything took.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sayiir::store::Store;
use sayiir::{Engine, StartOptions, WorkerConfig};

use crate::common::within;

/// The labels `ranked` ran, in order.
static RANKED: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// The labels `streamed` ran, in order, with the time each run started (the engine's clock:
/// the wall clock, in ms).
static STREAMED: Mutex<Vec<(String, i64)>> = Mutex::new(Vec::new());
/// Whether `streamed` takes its time (so that a backlog builds up behind the worker).
static SLOW: AtomicBool = AtomicBool::new(true);

#[sayiir::task]
async fn note_ranked(label: String) -> u64 {
    RANKED.lock().unwrap().push(label);
    1
}

#[sayiir::workflow]
async fn ranked(label: String) -> u64 {
    note_ranked(label).await
}

#[sayiir::task]
async fn note_streamed(label: String) -> u64 {
    let now = sayiir::store::Timestamp::now().0;
    STREAMED.lock().unwrap().push((label, now));
    if SLOW.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    1
}

#[sayiir::workflow]
async fn streamed(label: String) -> u64 {
    note_streamed(label).await
}

fn one_at_a_time() -> WorkerConfig {
    WorkerConfig::default()
        .max_instances(1)
        .claim_batch(1)
        .lease(Duration::from_secs(30))
}

/// The creation (= first due) time the store recorded for `id`, in ms.
async fn created(engine: &Engine, id: &str) -> i64 {
    engine.status(id).await.unwrap().created_at.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_runs_instances_by_priority() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("priority-order", dir.path()).await {
        RANKED.lock().unwrap().clear();
        let step = Duration::from_secs(60);
        let engine = Engine::builder_shared(Arc::clone(&store))
            .register::<ranked>()
            .worker_config(one_at_a_time().priority_step(step))
            .build()
            .unwrap();
        let starts: [(&str, i8); 7] = [
            ("low", -1),
            ("normal-a", 0),
            ("top", 5),
            ("one", 1),
            ("normal-b", 0),
            ("three", 3),
            ("default", 0),
        ];
        for (label, p) in starts {
            if label == "default" {
                // `start` is priority 0.
                engine
                    .start::<ranked>(label, label.to_owned())
                    .await
                    .unwrap();
            } else {
                let options = StartOptions {
                    priority: p,
                    ..Default::default()
                };
                engine
                    .start_with::<ranked>(label, label.to_owned(), options)
                    .await
                    .unwrap();
            }
        }
        // The order claims must take: by rank (first due time less priority × step), then id.
        let mut expected = Vec::new();
        for (label, p) in starts {
            let rank = created(&engine, label).await - i64::from(p) * 60_000;
            expected.push((rank, label.to_owned()));
        }
        expected.sort();
        let expected: Vec<String> = expected.into_iter().map(|(_, l)| l).collect();
        // All started within a minute: the priorities dominate (ties of priority 0 go by
        // start time, then id).
        let priority_of = |l: &String| starts.iter().find(|(s, _)| s == l).unwrap().1;
        let priorities: Vec<i8> = expected.iter().map(priority_of).collect();
        assert_eq!(
            priorities,
            [5, 3, 1, 0, 0, 0, -1],
            "{backend}: {expected:?}"
        );
        for (label, p) in starts {
            let info = engine.status(label).await.unwrap();
            assert_eq!(info.priority, p, "{backend}: status of {label}");
            let head = store.load(&info.id).await.unwrap();
            assert_eq!(
                (head.priority, head.head_start_ms),
                (p, i64::from(p) * 60_000),
                "{backend}: stored head of {label}"
            );
        }
        let worker = engine.spawn_worker();
        for (label, _) in starts {
            let out = within(
                &format!("{backend}: {label}"),
                engine.result::<ranked>(label),
            )
            .await
            .unwrap();
            assert_eq!(out, 1);
        }
        worker.shutdown().await.unwrap();
        assert_eq!(*RANKED.lock().unwrap(), expected, "{backend}: run order");
        drop(store);
    }
}

/// A priority-0 instance `low`, then high-priority (5) instances started every 30 ms, faster
/// than the one-at-a-time worker runs them (150 ms each): without aging `low` would wait for
/// as long as the stream lasts. With a step of 100 ms (head start 500 ms), every high one that
/// runs before `low` fell due less than 500 ms after it; `low` runs while high ones that fell
/// due before it was claimed still wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_priority_instance_waits_only_its_head_start_window() {
    const HEAD_START_MS: i64 = 500;
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("priority-aging", dir.path()).await {
        STREAMED.lock().unwrap().clear();
        SLOW.store(true, Ordering::SeqCst);
        let engine = Engine::builder_shared(Arc::clone(&store))
            .register::<streamed>()
            .worker_config(one_at_a_time().priority_step(Duration::from_millis(100)))
            .build()
            .unwrap();
        engine
            .start::<streamed>("low", "low".to_owned())
            .await
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let producer = {
            let (engine, stop) = (engine.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut n = 0u32;
                while !stop.load(Ordering::SeqCst) && n < 400 {
                    let id = format!("high-{n:03}");
                    let options = StartOptions {
                        priority: 5,
                        ..Default::default()
                    };
                    engine
                        .start_with::<streamed>(&id, id.clone(), options)
                        .await
                        .unwrap();
                    n += 1;
                    tokio::time::sleep(Duration::from_millis(30)).await;
                }
                n
            })
        };
        // A few high ones are waiting when the worker starts.
        crate::common::eventually(&format!("{backend}: five high ones"), || {
            let engine = engine.clone();
            async move { engine.status("high-004").await.ok().map(|_| ()) }
        })
        .await;
        let worker = engine.spawn_worker();
        within(&format!("{backend}: low"), engine.result::<streamed>("low"))
            .await
            .unwrap();
        stop.store(true, Ordering::SeqCst);
        SLOW.store(false, Ordering::SeqCst);
        let started = producer.await.unwrap();
        for n in 0..started {
            within(
                &format!("{backend}: high-{n:03}"),
                engine.result::<streamed>(&format!("high-{n:03}")),
            )
            .await
            .unwrap();
        }
        worker.shutdown().await.unwrap();

        let runs = STREAMED.lock().unwrap().clone();
        let order: Vec<&str> = runs.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            order.len(),
            started as usize + 1,
            "{backend}: each ran once"
        );
        let at = order.iter().position(|l| *l == "low").unwrap();
        assert!(at > 0, "{backend}: high ones ran first: {order:?}");
        let created_low = created(&engine, "low").await;
        // The instance that ran just before `low` started running before `low` was claimed
        // (one instance at a time): what was created before that was due at `low`'s claim.
        let started_prev = runs[at - 1].1;
        let mut passed_over = 0;
        for (i, label) in order.iter().enumerate() {
            if *label == "low" {
                continue;
            }
            let c = created(&engine, label).await;
            let ahead = (c - HEAD_START_MS, *label) < (created_low, "low");
            if i < at {
                // The aging bound: nothing that fell due 500 ms or more after `low` ran
                // before it.
                assert!(
                    ahead,
                    "{backend}: {label} (due {c}) ran before low (due {created_low})"
                );
            } else if ahead {
                // Ranked before `low` yet ran after it: it was not due when `low` was claimed.
                assert!(
                    c > started_prev,
                    "{backend}: {label} (due {c}) ran after low"
                );
            } else if c < started_prev {
                passed_over += 1;
            }
        }
        // `low` did not wait for the stream to end: it ran while high ones that were due
        // still waited.
        assert!(
            passed_over > 0,
            "{backend}: low ran at {at} of {order:?} with none passed over"
        );
        println!(
            "{backend}: low ran {at}th, passing over {passed_over} due high ones; {started} high ones in all"
        );
        drop(store);
    }
}

/// `start_in_with` stores the priority in the application's transaction (SQLite, PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_in_a_transaction_with_a_priority() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in-tx.db");
    let options = StartOptions {
        priority: -4,
        ..Default::default()
    };
    let store = Arc::new(sayiir::SqliteStore::open(&path).unwrap());
    let engine = Engine::builder_shared(Arc::clone(&store) as Arc<dyn Store>)
        .register::<ranked>()
        .worker_config(WorkerConfig::default().priority_step(Duration::from_secs(2)))
        .build()
        .unwrap();
    {
        let mut app = rusqlite::Connection::open(&path).unwrap();
        let tx = app.transaction().unwrap();
        engine
            .start_in_with::<ranked>(&tx, "in-tx", "in-tx".to_owned(), options.clone())
            .await
            .unwrap();
        tx.commit().unwrap();
    }
    assert_eq!(engine.status("in-tx").await.unwrap().priority, -4, "sqlite");
    let head = store.load(&"in-tx".parse().unwrap()).await.unwrap();
    assert_eq!((head.priority, head.head_start_ms), (-4, -8_000), "sqlite");

    let Some(db) = sayiir_store::pg_harness::fresh_database("priority in tx").await else {
        return;
    };
    let pg = Arc::new(sayiir::store::PgStore::connect(db.url()).await.unwrap());
    let engine = Engine::builder_shared(Arc::clone(&pg) as Arc<dyn Store>)
        .register::<ranked>()
        .worker_config(WorkerConfig::default().priority_step(Duration::from_secs(2)))
        .build()
        .unwrap();
    let mut tx = pg.pool().begin().await.unwrap();
    engine
        .start_in_with::<ranked>(&mut *tx, "in-tx", "in-tx".to_owned(), options)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        engine.status("in-tx").await.unwrap().priority,
        -4,
        "postgres"
    );
    let head = pg.load(&"in-tx".parse().unwrap()).await.unwrap();
    assert_eq!(
        (head.priority, head.head_start_ms),
        (-4, -8_000),
        "postgres"
    );
}
