//! The checks on SQLite and on PostgreSQL (`SAYIIR_TEST_PG_URL`, or a throwaway cluster; the
//! PostgreSQL test is skipped with a banner without PostgreSQL, unless `SAYIIR_REQUIRE_PG=1`).

use sayiir::Engine;
use sayiir::store::Store;
use sayiir_store::pg_harness;

use crate::common::{app, populate};
use crate::flows;
use crate::{checks, roles};

async fn every_endpoint(store: impl Store) {
    let engine = flows::register(Engine::builder(store)).build().unwrap();
    populate(&engine).await;
    let app = app(engine.clone());
    checks::list(&app).await;
    checks::overview(&app).await;
    checks::describe(&app).await;
    checks::signal(&app, &engine).await;
    checks::actions(&app).await;
    roles::unauthenticated(&app).await;
    roles::roles(&app).await;
    roles::audit(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    every_endpoint(sayiir::SqliteStore::open(dir.path().join("app.db")).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_on_postgres() {
    let Some(db) = pg_harness::fresh_database("server").await else {
        return; // the harness printed a SKIPPED banner
    };
    every_endpoint(sayiir::PgStore::connect(db.url()).await.unwrap()).await;
}
