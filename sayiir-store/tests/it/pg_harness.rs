//! The PostgreSQL test harness itself: a fresh database per call, a cluster that can be
//! stopped and started (for fault tests).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sayiir_store::pg_harness::{PgCluster, fresh_database, with_database};
use sqlx::Connection;

#[test]
fn urls_get_their_database_replaced() {
    assert_eq!(
        with_database("postgres://u:p@h:5/postgres?sslmode=disable", "x"),
        "postgres://u:p@h:5/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}

#[tokio::test]
async fn each_call_gets_an_empty_database_of_its_own() {
    let Some(a) = fresh_database("harness a").await else {
        return;
    };
    let b = fresh_database("harness b").await.unwrap();
    assert_ne!(a.url(), b.url());
    let mut c = sqlx::PgConnection::connect(a.url()).await.unwrap();
    sqlx::query("CREATE TABLE t (x INT)")
        .execute(&mut c)
        .await
        .unwrap();
    let mut d = sqlx::PgConnection::connect(b.url()).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE tablename = 't'")
        .fetch_one(&mut d)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn an_owned_cluster_stops_and_starts_again() {
    let cluster = match PgCluster::start() {
        Ok(c) => c,
        Err(why) => {
            eprintln!("!! PostgreSQL cluster test SKIPPED: {why}");
            assert_ne!(std::env::var("SAYIIR_REQUIRE_PG").as_deref(), Ok("1"));
            return;
        }
    };
    let db = cluster.fresh_database("restart").await;
    let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
    sqlx::query("SELECT 1").execute(&mut c).await.unwrap();
    cluster.stop().unwrap();
    assert!(sqlx::query("SELECT 1").execute(&mut c).await.is_err());
    cluster.start_server().unwrap();
    let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
    sqlx::query("SELECT 1").execute(&mut c).await.unwrap();
}
