//! The engine on real stores: start, run, status, list, history, idempotency; the public API's
//! shape (`engine/api.rs`): `Send` futures, `Debug` output, worker panics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod limits;
mod outbox;
mod own_pool;
mod workers;

use crate::common::{self, hooked};

use std::time::Duration;

use sayiir::store::Status;
use sayiir::{Engine, EngineError, InstanceStatus, ListQuery, MemoryStore, SqliteStore};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Order {
    id: u64,
    total: u64,
}

#[sayiir::task]
async fn validate(order: Order) -> Result<Order, String> {
    if order.total == 0 {
        Err("empty order".into())
    } else {
        Ok(order)
    }
}

#[sayiir::task]
async fn charge(order: Order) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    Ok(order.total * 100)
}

#[sayiir::task]
async fn label(id: u64, cents: u64) -> String {
    format!("#{id}: {cents}c")
}

#[sayiir::workflow]
async fn checkout(order: Order) -> Result<String, String> {
    let order = validate(order).await?;
    let cents = charge(order.clone()).await?;
    let text = label(order.id, cents).await;
    Ok(text)
}

#[sayiir::workflow]
async fn other(n: u32) -> u32 {
    n
}

/// A `mut` variable kept across awaits and changed in several transitions.
#[sayiir::workflow]
async fn tally(order: Order) -> Result<u64, String> {
    let mut cents: u64 = 1;
    let order = validate(order).await?;
    cents += order.total;
    let charged = charge(order.clone()).await?;
    cents += charged;
    let again = charge(order).await?;
    cents *= again;
    Ok(cents)
}

#[tokio::test]
async fn direct_call_runs_every_step() {
    assert_eq!(
        checkout(Order { id: 7, total: 3 }).await,
        Ok("#7: 300c".to_string())
    );
    assert_eq!(
        checkout(Order { id: 7, total: 0 }).await,
        Err("empty order".to_string())
    );
    assert_eq!(
        tally(Order { id: 1, total: 2 }).await,
        Ok((1 + 2 + 200) * 200)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutable_variables_survive_transitions() {
    let engine = Engine::builder(MemoryStore::new())
        .register::<tally>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    assert_eq!(
        common::run_to_end::<tally>(&engine, "t", Order { id: 1, total: 2 }).await,
        Ok(203 * 200)
    );
    worker.shutdown().await.unwrap();
}

async fn exercise(engine: Engine) {
    let worker = engine.spawn_worker();
    let h = engine
        .start::<checkout>("order-1", Order { id: 1, total: 3 })
        .await
        .unwrap();
    assert_eq!(h.result().await.unwrap(), Ok("#1: 300c".to_string()));
    let bad = engine
        .start::<checkout>("order-2", Order { id: 2, total: 0 })
        .await
        .unwrap();
    assert_eq!(bad.result().await.unwrap(), Err("empty order".to_string()));

    let info = engine.status("order-1").await.unwrap();
    assert_eq!(info.status, InstanceStatus::Completed);
    assert_eq!(info.seq, 4, "start + three task transitions");
    assert_eq!(
        engine.status("order-2").await.unwrap().status,
        InstanceStatus::Failed
    );

    let history = engine.history("order-1").await.unwrap();
    let seqs: Vec<u64> = history.iter().map(|h| h.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4]);
    let kinds: Vec<&str> = history.iter().map(|h| h.kind.as_str()).collect();
    assert_eq!(kinds, ["started", "start", "task", "task", "task"]);

    // Idempotent start: same id, same workflow, different input: the existing instance.
    let again = engine
        .start::<checkout>("order-1", Order { id: 9, total: 9 })
        .await
        .unwrap();
    assert_eq!(again.result().await.unwrap(), Ok("#1: 300c".to_string()));
    assert_eq!(engine.history("order-1").await.unwrap().len(), 5);
    // Same id, other workflow: typed error.
    match engine.start::<other>("order-1", 5).await {
        Err(EngineError::WrongWorkflow {
            expected: "other",
            found,
            ..
        }) => assert_eq!(found, "checkout"),
        r => panic!("expected WrongWorkflow, got {r:?}"),
    }
    match engine.result::<other>("order-1").await {
        Err(EngineError::WrongWorkflow { .. }) => {}
        r => panic!("expected WrongWorkflow, got {r:?}"),
    }

    let all = engine.list(&ListQuery::default()).await.unwrap().instances;
    assert_eq!(
        all.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ["order-1", "order-2"]
    );
    let failed = engine
        .list(&ListQuery::new().status(Status::Failed))
        .await
        .unwrap()
        .instances;
    assert_eq!(failed.len(), 1);

    // Many instances concurrently.
    let handles: Vec<_> = futures_join(&engine, 50).await;
    for (i, h) in handles.iter().enumerate() {
        let i = i as u64 + 10;
        assert_eq!(h.result().await.unwrap(), Ok(format!("#{i}: {}c", i * 100)));
    }
    worker.shutdown().await.unwrap();
}

async fn futures_join(engine: &Engine, n: u64) -> Vec<sayiir::InstanceHandle<checkout>> {
    let mut out = Vec::new();
    for i in 10..10 + n {
        out.push(
            engine
                .start::<checkout>(&format!("bulk-{i}"), Order { id: i, total: i })
                .await
                .unwrap(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_memory() {
    exercise(
        Engine::builder(MemoryStore::new())
            .register::<checkout>()
            .register::<other>()
            .build()
            .unwrap(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("engine.db")).unwrap();
    exercise(
        Engine::builder(store)
            .register::<checkout>()
            .register::<other>()
            .build()
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn bad_ids_are_typed_errors() {
    let engine = Engine::builder(MemoryStore::new())
        .register::<checkout>()
        .build()
        .unwrap();
    let order = Order { id: 1, total: 1 };
    for id in ["", " padded", "nul\0byte"] {
        match engine.start::<checkout>(id, order.clone()).await {
            Err(EngineError::InvalidId(_)) => {}
            r => panic!("{id:?}: expected InvalidId, got {r:?}"),
        }
    }
    let long = "x".repeat(256);
    assert!(matches!(
        engine.start::<checkout>(&long, order.clone()).await,
        Err(EngineError::InvalidId(_))
    ));
    assert!(matches!(
        engine.status("missing").await,
        Err(EngineError::NotFound { .. })
    ));
    assert!(matches!(
        engine.result::<checkout>("missing").await,
        Err(EngineError::NotFound { .. })
    ));
    assert!(
        engine
            .store()
            .list(&ListQuery::default())
            .await
            .unwrap()
            .instances
            .is_empty()
    );
}

#[sayiir::workflow]
async fn price(order: Order) -> Result<u64, String> {
    let order = validate(order).await?;
    let cents = charge(order).await?;
    Ok(cents)
}

/// A parent awaiting a child workflow twice: the child's state nests in the parent's.
#[sayiir::workflow]
async fn two_orders(a: Order, b: Order) -> Result<String, String> {
    let first = price(a).await?;
    let second = price(b).await?;
    let text = label(first, second).await;
    Ok(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_workflows_nest_and_commit_each_step() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("child.db")).unwrap();
    let engine = Engine::builder(store)
        .register::<two_orders>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    let input = (Order { id: 1, total: 2 }, Order { id: 3, total: 4 });
    let h = engine
        .start::<two_orders>("parent", input.clone())
        .await
        .unwrap();
    assert_eq!(h.result().await.unwrap(), Ok("#200: 400c".to_string()));
    // start, then per child: start + validate + charge, then label.
    assert_eq!(
        engine.history("parent").await.unwrap().len(),
        1 + 1 + 3 + 3 + 1
    );
    let bad = (Order { id: 1, total: 2 }, Order { id: 3, total: 0 });
    let h = engine.start::<two_orders>("parent-bad", bad).await.unwrap();
    assert_eq!(h.result().await.unwrap(), Err("empty order".to_string()));
    worker.shutdown().await.unwrap();
    assert_eq!(
        two_orders(input.0, input.1).await,
        Ok("#200: 400c".to_string())
    );
    assert_ne!(two_orders::DEFINITION_HASH, price::DEFINITION_HASH);
}
