//! The three stores, each fresh, for tests that check one behaviour on every backend.

use std::path::Path;
use std::sync::Arc;

use sayiir::store::{PgStore, Store};
use sayiir_store::pg_harness;

/// A memory store, a SQLite file in `dir` and, when the harness has a server (always in CI),
/// a fresh PostgreSQL database, each named for `label`.
pub(crate) async fn all(label: &str, dir: &Path) -> Vec<(&'static str, Arc<dyn Store>)> {
    let mut out: Vec<(&'static str, Arc<dyn Store>)> = vec![
        ("memory", Arc::new(sayiir::MemoryStore::new())),
        (
            "sqlite",
            Arc::new(sayiir::SqliteStore::open(dir.join(format!("{label}.db"))).unwrap()),
        ),
    ];
    if let Some(db) = pg_harness::fresh_database(label).await {
        out.push((
            "postgres",
            Arc::new(PgStore::connect(db.url()).await.unwrap()),
        ));
        std::mem::forget(db); // dropped with the server (or the harness cluster)
    }
    out
}
