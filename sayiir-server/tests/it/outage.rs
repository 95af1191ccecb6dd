//! The store unreachable: 503 `store_unavailable`, on a PostgreSQL cluster of the test's own
//! that it stops (skipped with a banner without PostgreSQL, unless `SAYIIR_REQUIRE_PG=1`).

use std::time::Duration;

use axum::http::{Method, StatusCode};
use sayiir::Engine;
use sayiir::store::{PgOptions, PgStore};
use sayiir_store::pg_harness::PgCluster;

use crate::common::{app, call, error, get_ok};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_is_503() {
    let cluster = match PgCluster::start() {
        Ok(c) => c,
        Err(why) => {
            if std::env::var("SAYIIR_REQUIRE_PG").is_ok_and(|v| v == "1") {
                panic!("SAYIIR_REQUIRE_PG=1 but no PostgreSQL cluster can be started: {why}");
            }
            eprintln!("!! outage SKIPPED: cannot start a PostgreSQL cluster: {why}");
            return;
        }
    };
    let db = cluster.fresh_database("outage").await;
    let options = PgOptions::default().acquire_timeout(Duration::from_millis(500));
    let store = PgStore::connect_with(db.url(), options).await.unwrap();
    let app = app(Engine::builder(store).build().unwrap());
    let stats = get_ok(&app, "/api/v1/stats").await;
    assert_eq!(stats["total"]["total"], 0);
    // Kept until the end: dropping it removes the cluster's directory.
    let _stopped = tokio::task::spawn_blocking(move || {
        cluster.stop().unwrap();
        cluster
    })
    .await
    .unwrap();
    let r = call(&app, Method::GET, "/api/v1/stats", None).await;
    error(r, StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
    let r = call(&app, Method::GET, "/api/v1/instances/order-1", None).await;
    error(r, StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
}
