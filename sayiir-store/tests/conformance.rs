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
