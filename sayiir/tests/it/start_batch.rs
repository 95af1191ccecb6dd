//! `Engine::start` through the creation batcher: concurrent starts share store transactions,
//! keep their own outcomes (new, existing, wrong workflow), and work from any tokio runtime,
//! including an engine built outside one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use sayiir::store::{ListQuery, Store};
use sayiir::{Engine, EngineError, InstanceId, MemoryStore, SqliteStore};

#[sayiir::workflow]
async fn echo(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn other(n: u64) -> u64 {
    n + 1
}

/// Starts of many tasks at once: every one answered, fewer store transactions than starts,
/// duplicates and wrong workflows answered like lone starts.
async fn concurrent_starts(engine: Engine) {
    engine.start::<other>("taken", 0).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200u64 {
        let engine = engine.clone();
        tasks.spawn(async move {
            // Every tenth start repeats an id of this burst; one asks for the wrong workflow.
            let id = if i % 10 == 9 {
                format!("n-{:03}", i - 1)
            } else {
                format!("n-{i:03}")
            };
            let id = if i == 100 { "taken".to_owned() } else { id };
            (i, engine.start::<echo>(&id, i).await)
        });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        let (i, result) = r.unwrap();
        match result {
            Ok(handle) => {
                assert_ne!(i, 100);
                ok += 1;
                let expected = if i % 10 == 9 { i - 1 } else { i };
                assert_eq!(handle.id().as_str(), format!("n-{expected:03}"));
            }
            Err(EngineError::WrongWorkflow {
                id,
                expected,
                found,
            }) => {
                assert_eq!(i, 100, "only the start of `taken` has the wrong workflow");
                assert_eq!(id.as_str(), "taken");
                assert_eq!(expected, "echo");
                assert_eq!(found, "other");
            }
            Err(e) => panic!("start {i} failed: {e:?}"),
        }
    }
    assert_eq!(ok, 199);
    let all = engine
        .store()
        .list(&ListQuery::default())
        .await
        .unwrap()
        .instances;
    // 180 distinct `n-` ids (one in ten repeats another), minus the one replaced by `taken`,
    // plus `taken`.
    assert_eq!(all.len(), 180);
    for i in 0..200u64 {
        if i % 10 == 9 || i == 100 {
            continue;
        }
        let id = format!("n-{i:03}");
        let record = engine
            .store()
            .load(&InstanceId::new(id.as_str()).unwrap())
            .await
            .unwrap();
        assert_eq!(record.workflow, "echo");
        assert_eq!(record.seq, 0);
        let history = engine.history(&id).await.unwrap();
        assert_eq!(history.len(), 1, "`{id}`: history entry 0 only");
    }
    let (batches, creations) = engine.metrics().create_batches();
    assert_eq!(creations, 201, "every start went through the batcher");
    assert!(
        batches < 100,
        "concurrent starts share store transactions: {batches} for {creations}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_starts_share_transactions_on_memory() {
    concurrent_starts(
        Engine::builder(MemoryStore::new())
            .register::<echo>()
            .register::<other>()
            .build()
            .unwrap(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_share_transactions_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("starts.db")).unwrap();
    concurrent_starts(
        Engine::builder(store)
            .register::<echo>()
            .register::<other>()
            .build()
            .unwrap(),
    )
    .await;
}

/// Built outside any runtime, used from one runtime, then (that runtime still alive but no
/// longer driven) from another, then from a third after both are gone: every start is
/// answered.
#[test]
fn an_engine_built_outside_a_runtime_starts_from_any_runtime() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let engine = Engine::builder_shared(store)
        .register::<echo>()
        .register::<other>()
        .build()
        .unwrap();

    let first = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    first.block_on(async {
        engine.start::<echo>("a", 1).await.unwrap();
    });

    // `first` is alive but nobody drives it: its batching task cannot run.
    let second = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    second.block_on(async {
        let (b, c) = tokio::join!(engine.start::<echo>("b", 2), engine.start::<echo>("c", 3));
        b.unwrap();
        c.unwrap();
    });
    drop(first);
    drop(second);

    let third = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    third.block_on(async {
        engine.start::<echo>("d", 4).await.unwrap();
        // Idempotent across runtimes.
        engine.start::<echo>("a", 99).await.unwrap();
        let all = engine
            .store()
            .list(&ListQuery::default())
            .await
            .unwrap()
            .instances;
        let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d"]);
    });
}
