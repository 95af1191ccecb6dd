//! The outbox pattern on SQLite, in a `rusqlite::Transaction` of the application's own
//! connection to the store's file.

use std::path::Path;
use std::time::Duration;

use sayiir::rusqlite::{Connection, TransactionBehavior};
use sayiir::{EngineError, SqliteOptions, SqliteStore};

use super::{
    OPEN, approval, assert_not_found, engine, fulfilment, ran, result, waiting_for_approval,
};

/// The application's connection to the store's file, with its table `orders`.
fn app_connection(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY)")
        .unwrap();
    conn
}

fn order_exists(conn: &Connection, id: i64) -> bool {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM orders WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_instance_started_in_a_transaction_runs_once_it_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let engine = engine(SqliteStore::open(&path).unwrap());
    let mut conn = app_connection(&path);
    let worker = engine.spawn_worker();

    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO orders (id) VALUES (201)", [])
        .unwrap();
    let handle = engine
        .start_in::<fulfilment>(&tx, "order-201", 201)
        .await
        .unwrap();
    match engine.start_in::<approval>(&tx, "order-201", 201).await {
        Err(EngineError::WrongWorkflow { .. }) => {}
        other => panic!("expected WrongWorkflow, got {other:?}"),
    }
    tokio::time::sleep(OPEN).await;
    assert!(!ran(201), "the task ran before the commit");
    assert_not_found(engine.status("order-201").await, "before the commit");
    tx.commit().unwrap();
    engine.wake_workers();

    let out = tokio::time::timeout(Duration::from_secs(20), handle.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out, "order 201 fulfilled");
    assert!(order_exists(&conn, 201));
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_instance_started_in_a_rolled_back_transaction_never_exists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let engine = engine(SqliteStore::open(&path).unwrap());
    let mut conn = app_connection(&path);
    let worker = engine.spawn_worker();

    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO orders (id) VALUES (202)", [])
        .unwrap();
    engine
        .start_in::<fulfilment>(&tx, "order-202", 202)
        .await
        .unwrap();
    tokio::time::sleep(OPEN).await;
    assert!(!ran(202), "the task ran before the commit");
    tx.rollback().unwrap();
    engine.wake_workers();

    tokio::time::sleep(OPEN).await;
    assert!(!ran(202), "the task ran after a rollback");
    assert_not_found(engine.status("order-202").await, "after the rollback");
    assert!(!order_exists(&conn, 202));
    engine.start::<fulfilment>("order-202", 202).await.unwrap();
    assert_eq!(
        result::<fulfilment>(&engine, "order-202").await,
        "order 202 fulfilled"
    );
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_signal_sent_in_a_transaction_arrives_once_it_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let engine = engine(SqliteStore::open(&path).unwrap());
    let mut conn = app_connection(&path);
    let worker = engine.spawn_worker();
    engine.start::<approval>("approval-203", 203).await.unwrap();
    waiting_for_approval(&engine, "approval-203").await;
    let id = "approval-203".parse().unwrap();

    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO orders (id) VALUES (203)", [])
        .unwrap();
    engine
        .signal_in(&tx, "approval-203", "approve", &"ada".to_string())
        .await
        .unwrap();
    tokio::time::sleep(OPEN).await;
    assert!(engine.store().signals(&id).await.unwrap().is_empty());
    tx.rollback().unwrap();
    engine.wake_workers();
    tokio::time::sleep(OPEN).await;
    assert!(!ran(203), "the task ran after a rolled-back signal");
    assert!(engine.store().signals(&id).await.unwrap().is_empty());
    waiting_for_approval(&engine, "approval-203").await;
    assert!(!order_exists(&conn, 203));

    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO orders (id) VALUES (203)", [])
        .unwrap();
    match engine
        .signal_in(&tx, "approval-203", "approve", &7_u32)
        .await
    {
        Err(EngineError::SignalType { .. }) => {}
        other => panic!("expected SignalType, got {other:?}"),
    }
    engine
        .signal_in(&tx, "approval-203", "approve", &"bob".to_string())
        .await
        .unwrap();
    tokio::time::sleep(OPEN).await;
    assert!(!ran(203), "the signal was delivered before the commit");
    assert!(engine.store().signals(&id).await.unwrap().is_empty());
    tx.commit().unwrap();
    engine.wake_workers();
    assert_eq!(
        result::<approval>(&engine, "approval-203").await,
        "order 203 fulfilled, approved by bob"
    );
    assert!(order_exists(&conn, 203));
    worker.shutdown().await.unwrap();
}

/// Before any worker or `start` of the engine saved the definitions, `start_in` saves them in
/// the application's transaction: through the store, it would wait for the write lock that
/// transaction holds (the store's busy timeout, an hour here, then an error).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_start_in_saves_the_definitions_in_the_applications_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let options = SqliteOptions::default().busy_timeout(Duration::from_secs(3600));
    let engine = engine(SqliteStore::open_with(&path, options).unwrap());
    let mut conn = app_connection(&path);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO orders (id) VALUES (204)", [])
        .unwrap();
    crate::common::within(
        "start_in, which must not wait for the lock of its own transaction",
        engine.start_in::<fulfilment>(&tx, "order-204", 204),
    )
    .await
    .unwrap();
    tx.commit().unwrap();
    let saved = engine
        .store()
        .definitions(Some("fulfilment"))
        .await
        .unwrap();
    assert_eq!(saved.len(), 1, "{saved:?}");
    // A plain connection (no transaction open): each call commits on its own.
    engine
        .start_in::<fulfilment>(&conn, "order-205", 205)
        .await
        .unwrap();
    assert_eq!(engine.status("order-205").await.unwrap().seq, 0);
}
