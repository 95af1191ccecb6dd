//! How long starting many instances at once takes: `Engine::start` from many concurrent tasks,
//! no worker running, on SQLite (`synchronous` FULL and NORMAL) and PostgreSQL (the test
//! harness's server; skipped without one). A measurement, not a check: ignored by default, run
//! with `cargo test -p sayiir --release --test start_many -- --ignored --nocapture`.
//!
//! `SAYIIR_STARTS=N` changes the number of instances (default 100,000), `SAYIIR_STARTERS=K`
//! the number of concurrent tasks calling `start` (default 1,000; each one starts its share in
//! sequence). With `SAYIIR_COMPARE=1` each store is also measured with one `Store::create` per
//! start, as `Engine::start` did before creations were batched.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use sayiir::store::{
    DefinitionHash, DefinitionRef, Event, Fingerprint, ListQuery, NewInstance, PgStore, Status,
    Store, Timestamp,
};
use sayiir::{Engine, InstanceId, SqliteOptions, SqliteStore, Synchronous};

use crate::common::env_or;

#[sayiir::task]
async fn step(n: u64) -> u64 {
    n + 1
}

#[sayiir::workflow]
async fn started(n: u64) -> u64 {
    step(n).await
}

/// What `Engine::start` stores, for the unbatched comparison.
fn new_instance(i: u64) -> NewInstance {
    let now = Timestamp::from_system(std::time::SystemTime::now());
    let def = DefinitionRef {
        version: 1,
        hash: DefinitionHash([0; 32]),
        fingerprint: Fingerprint::UNKNOWN,
    };
    let event = Event {
        kind: "started".into(),
        payload: vec![7; 24],
    };
    let id = InstanceId::new(format!("i-{i:07}")).unwrap();
    NewInstance::new(id, "started", def, "start", vec![7; 24], event, now)
}

/// Starts `n` instances from `starters` tasks; returns the elapsed time and the number of
/// store transactions used. `batched: false` calls `Store::create` once per instance instead.
async fn start_all(store: Arc<dyn Store>, n: u64, starters: u64, batched: bool) -> (Duration, u64) {
    let engine = Engine::builder_shared(store)
        .register::<started>()
        .build()
        .unwrap();
    let clock = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for s in 0..starters {
        let engine = engine.clone();
        tasks.spawn(async move {
            let mut i = s;
            while i < n {
                if batched {
                    engine
                        .start::<started>(&format!("i-{i:07}"), i)
                        .await
                        .unwrap();
                } else {
                    engine.store().create(new_instance(i)).await.unwrap();
                }
                i += starters;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let elapsed = clock.elapsed();
    let running = engine
        .store()
        .list(&ListQuery::new().status(Status::Running))
        .await
        .unwrap()
        .instances;
    assert_eq!(running.len() as u64, n, "every instance was created once");
    let (batches, created) = engine.metrics().create_batches();
    if !batched {
        return (elapsed, n);
    }
    assert_eq!(created, n, "every start went through the batcher");
    (elapsed, batches)
}

fn report(what: &str, n: u64, starters: u64, batched: bool, (elapsed, txs): (Duration, u64)) {
    let how = if batched {
        "Engine::start, batched"
    } else {
        "one Store::create each"
    };
    println!(
        "{what}: {n} instances from {starters} tasks ({how}) in {elapsed:?}: {:.0}/s, {txs} \
         store transactions",
        n as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn start_many() {
    let n = env_or("SAYIIR_STARTS", 100_000);
    let starters = env_or("SAYIIR_STARTERS", 1_000).max(1);
    let modes: &[bool] = if env_or("SAYIIR_COMPARE", 0) == 1 {
        &[false, true]
    } else {
        &[true]
    };
    for (name, synchronous) in [("FULL", Synchronous::Full), ("NORMAL", Synchronous::Normal)] {
        for &batched in modes {
            let dir = tempfile::tempdir().unwrap();
            let options = SqliteOptions::default().synchronous(synchronous);
            let store = SqliteStore::open_with(dir.path().join("starts.db"), options).unwrap();
            let measured = start_all(Arc::new(store), n, starters, batched).await;
            report(
                &format!("SQLite synchronous={name}"),
                n,
                starters,
                batched,
                measured,
            );
        }
    }
    for &batched in modes {
        let Some(db) = sayiir_store::pg_harness::fresh_database("start_many").await else {
            return;
        };
        let store = PgStore::connect(db.url()).await.unwrap();
        let measured = start_all(Arc::new(store), n, starters, batched).await;
        report("PostgreSQL", n, starters, batched, measured);
    }
}
