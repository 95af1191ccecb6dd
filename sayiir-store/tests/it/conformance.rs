//! The conformance suite against every backend of this crate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sayiir_store::MemoryStore;
use sayiir_store::conformance::run_all;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_conforms() {
    run_all(|| async { MemoryStore::new() }).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_conforms() {
    use sayiir_store::SqliteStore;

    let dir = tempfile::TempDir::new().unwrap();
    let mut n = 0;
    run_all(|| {
        n += 1;
        let path = dir.path().join(format!("conformance-{n}.db"));
        async move { SqliteStore::open(&path).unwrap() }
    })
    .await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "current_thread")]
async fn sqlite_store_conforms_on_a_current_thread_runtime() {
    use sayiir_store::SqliteStore;

    let dir = tempfile::TempDir::new().unwrap();
    let mut n = 0;
    run_all(|| {
        n += 1;
        let path = dir.path().join(format!("conformance-{n}.db"));
        async move { SqliteStore::open_with(&path, sayiir_store::SqliteOptions::default()).unwrap() }
    })
    .await;
}

/// Every check on a database of its own (the harness skips, loudly, without PostgreSQL).
#[cfg(feature = "pg-harness")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_conforms() {
    use std::sync::{Arc, Mutex};

    use sayiir_store::PgStore;
    use sayiir_store::pg_harness::fresh_database;

    if fresh_database("conformance probe").await.is_none() {
        return;
    }
    // The databases live until the end of the run (dropping one drops the database).
    let dbs = Arc::new(Mutex::new(Vec::new()));
    run_all(|| {
        let dbs = Arc::clone(&dbs);
        async move {
            let db = fresh_database("conformance").await.unwrap();
            let store = PgStore::connect(db.url()).await.unwrap();
            dbs.lock().unwrap().push(db);
            store
        }
    })
    .await;
}
