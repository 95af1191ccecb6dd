//! Stores are cheap to clone, and a PostgreSQL store can run on the application's own pool.

use std::time::Duration;

use sayiir::store::sqlx::postgres::PgPoolOptions;
use sayiir::store::{PgStore, Store, StoreError};
use sayiir::{Engine, SqliteStore, WorkerConfig};
use sayiir_store::pg_harness;

use super::outbox::fulfilment;

/// A store made on a pool of the test's: migrated through it, runs a workflow to the end, and
/// its worker is woken by the wake-up listener (opened with the pool's settings) when another
/// process starts an instance, long before its idle poll. A clone is the same store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_a_store_on_the_applications_pool_runs_workflows_and_its_clones_share_it() {
    let Some(db) = pg_harness::fresh_database("own pool").await else {
        return;
    };
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(db.url())
        .await
        .unwrap();
    let store = PgStore::from_pool(pool.clone()).await.unwrap();
    let applied: i64 = sayiir::store::sqlx::query_scalar("SELECT count(*) FROM sayiir_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        usize::try_from(applied).unwrap(),
        PgStore::schema_versions().len()
    );
    let clone = store.clone();

    let config = WorkerConfig::default().idle_poll(Duration::from_secs(120));
    let engine = Engine::builder(store)
        .register::<fulfilment>()
        .worker_config(config)
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    // Another process: its own store and engine, no worker.
    let other = Engine::builder(PgStore::connect(db.url()).await.unwrap())
        .register::<fulfilment>()
        .build()
        .unwrap();
    // Let the worker go idle (it subscribed to the wake-ups when it started).
    tokio::time::sleep(Duration::from_millis(500)).await;
    other.start::<fulfilment>("pool-301", 301).await.unwrap();
    let out = crate::common::within(
        "the notification to wake the worker (its idle poll is 120 s)",
        engine.result::<fulfilment>("pool-301"),
    )
    .await
    .unwrap();
    assert_eq!(out, "order 301 fulfilled");

    // The clone reads what the engine's store wrote, on the same pool.
    let record = clone.load(&"pool-301".parse().unwrap()).await.unwrap();
    assert_eq!(record.status, sayiir::store::Status::Completed);
    assert!(clone.pool().size() >= 1);
    worker.shutdown().await.unwrap();
    drop(engine);
    // The engine (and its store) gone, the clone still works.
    assert_eq!(
        clone.load(&"pool-301".parse().unwrap()).await.unwrap().seq,
        record.seq
    );
}

#[tokio::test]
async fn pg_a_pool_that_cannot_connect_is_unavailable() {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy("postgres://sayiir:p00l-s3cret@127.0.0.1:1/sayiir")
        .unwrap();
    let err = PgStore::from_pool(pool).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(!err.to_string().contains("p00l-s3cret"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_clones_share_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("clones.db")).unwrap();
    let clone = store.clone();
    assert_eq!(clone.path(), store.path());
    let engine = Engine::builder(store)
        .register::<fulfilment>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    engine.start::<fulfilment>("clone-401", 401).await.unwrap();
    engine.result::<fulfilment>("clone-401").await.unwrap();
    worker.shutdown().await.unwrap();
    drop(engine);
    let record = clone.load(&"clone-401".parse().unwrap()).await.unwrap();
    assert_eq!(record.status, sayiir::store::Status::Completed);
}
