//! The outbox pattern on PostgreSQL, in a `sqlx::Transaction<'_, Postgres>` of the store's
//! pool.

use sayiir::EngineError;
use sayiir::store::PgStore;
use sayiir::store::sqlx::{self, PgPool};
use sayiir_store::pg_harness::{self, PgTestDb};

use super::{
    OPEN, SOON, approval, assert_not_found, engine, fulfilment, ran, result, waiting_for_approval,
};

/// A store on a fresh database with the application's table `orders`.
async fn setup(label: &str) -> Option<(PgTestDb, PgStore)> {
    let db = pg_harness::fresh_database(label).await?;
    let store = PgStore::connect(db.url()).await.unwrap();
    sqlx::query("CREATE TABLE orders (id BIGINT PRIMARY KEY)")
        .execute(store.pool())
        .await
        .unwrap();
    Some((db, store))
}

async fn order_exists(pool: &PgPool, id: i64) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orders WHERE id = $1)")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_an_instance_started_in_a_transaction_runs_once_it_commits() {
    let Some((_db, store)) = setup("outbox start commit").await else {
        return;
    };
    let pool = store.pool().clone();
    let engine = engine(store);
    let worker = engine.spawn_worker();
    let (opened, is_open) = tokio::sync::oneshot::channel();
    let (commit, go) = tokio::sync::oneshot::channel::<()>();
    // The application's transaction runs in a task of its own: `start_in` on PostgreSQL is
    // `Send`, as a web handler needs.
    let app = tokio::spawn({
        let (engine, pool) = (engine.clone(), pool.clone());
        async move {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("INSERT INTO orders (id) VALUES (101)")
                .execute(&mut *tx)
                .await
                .unwrap();
            let handle = engine
                .start_in::<fulfilment>(&mut *tx, "order-101", 101)
                .await
                .unwrap();
            // Idempotent on the id within the transaction too, and refused for another
            // workflow as `start` refuses it; the transaction goes on.
            engine
                .start_in::<fulfilment>(&mut *tx, "order-101", 999)
                .await
                .unwrap();
            match engine
                .start_in::<approval>(&mut *tx, "order-101", 101)
                .await
            {
                Err(EngineError::WrongWorkflow { .. }) => {}
                other => panic!("expected WrongWorkflow, got {other:?}"),
            }
            opened.send(()).unwrap();
            go.await.unwrap();
            tx.commit().await.unwrap();
            handle
        }
    });
    is_open.await.unwrap();
    tokio::time::sleep(OPEN).await;
    assert!(!ran(101), "the task ran before the commit");
    assert_not_found(engine.status("order-101").await, "before the commit");
    assert!(!order_exists(&pool, 101).await);

    commit.send(()).unwrap();
    let handle = app.await.unwrap();
    let out = tokio::time::timeout(SOON, handle.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out, "order 101 fulfilled", "with the first start's input");
    assert!(ran(101));
    assert!(order_exists(&pool, 101).await);
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_an_instance_started_in_a_rolled_back_transaction_never_exists() {
    let Some((_db, store)) = setup("outbox start rollback").await else {
        return;
    };
    let pool = store.pool().clone();
    let engine = engine(store);
    let worker = engine.spawn_worker();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO orders (id) VALUES (102)")
        .execute(&mut *tx)
        .await
        .unwrap();
    // `&mut tx` works as `&mut *tx` does.
    engine
        .start_in::<fulfilment>(&mut tx, "order-102", 102)
        .await
        .unwrap();
    tokio::time::sleep(OPEN).await;
    assert!(!ran(102), "the task ran before the commit");
    assert_not_found(engine.status("order-102").await, "before the rollback");
    tx.rollback().await.unwrap();

    tokio::time::sleep(OPEN).await;
    assert!(!ran(102), "the task ran after a rollback");
    assert_not_found(engine.status("order-102").await, "after the rollback");
    assert!(!order_exists(&pool, 102).await);
    // The id is free.
    engine.start::<fulfilment>("order-102", 102).await.unwrap();
    assert_eq!(
        result::<fulfilment>(&engine, "order-102").await,
        "order 102 fulfilled"
    );
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_a_signal_sent_in_a_transaction_arrives_once_it_commits() {
    let Some((_db, store)) = setup("outbox signal").await else {
        return;
    };
    let pool = store.pool().clone();
    let engine = engine(store);
    let worker = engine.spawn_worker();
    engine.start::<approval>("approval-103", 103).await.unwrap();
    waiting_for_approval(&engine, "approval-103").await;
    let id = "approval-103".parse().unwrap();

    // Rolled back: the signal never existed.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO orders (id) VALUES (103)")
        .execute(&mut *tx)
        .await
        .unwrap();
    engine
        .signal_in(&mut *tx, "approval-103", "approve", &"ada".to_string())
        .await
        .unwrap();
    tokio::time::sleep(OPEN).await;
    assert!(engine.store().signals(&id).await.unwrap().is_empty());
    tx.rollback().await.unwrap();
    tokio::time::sleep(OPEN).await;
    assert!(!ran(103), "the task ran after a rolled-back signal");
    assert!(engine.store().signals(&id).await.unwrap().is_empty());
    waiting_for_approval(&engine, "approval-103").await;
    assert!(!order_exists(&pool, 103).await);

    // Committed: delivered, after the commit only. Refusals leave the transaction usable.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO orders (id) VALUES (103)")
        .execute(&mut *tx)
        .await
        .unwrap();
    match engine
        .signal_in(&mut *tx, "approval-103", "approve", &7_u32)
        .await
    {
        Err(EngineError::SignalType { .. }) => {}
        other => panic!("expected SignalType, got {other:?}"),
    }
    match engine
        .signal_in(&mut *tx, "no-such-approval", "approve", &"x".to_string())
        .await
    {
        Err(EngineError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    engine
        .signal_in(&mut *tx, "approval-103", "approve", &"bob".to_string())
        .await
        .unwrap();
    tokio::time::sleep(OPEN).await;
    assert!(!ran(103), "the signal was delivered before the commit");
    assert!(engine.store().signals(&id).await.unwrap().is_empty());
    tx.commit().await.unwrap();
    assert_eq!(
        result::<approval>(&engine, "approval-103").await,
        "order 103 fulfilled, approved by bob"
    );
    assert!(order_exists(&pool, 103).await);
    worker.shutdown().await.unwrap();
}
