//! Deleting and backfilling a schedule through the API: the runs of a range's ticks started
//! once, a viewer refused, bad bodies refused, both recorded in the audit log.

use axum::http::{Method, StatusCode};
use sayiir::Engine;
use sayiir::schedule::ScheduleSpec;
use sayiir::store::Store;
use sayiir_store::pg_harness;

use crate::common::{ADMIN, VIEWER, app, call, call_as, error, get_ok, ids};
use crate::flows;

const RANGE: &str = r#"{"from": "2021-06-01T00:00:00Z", "to": "2024-06-01T00:00:00Z"}"#;

async fn schedule_actions(store: impl Store) {
    let engine = flows::register(Engine::builder(store)).build().unwrap();
    // Midnight on 1 January in Paris: three ticks in the range, none during the test.
    let yearly = ScheduleSpec::new("0 0 1 1 *", 9).time_zone("Europe/Paris");
    engine
        .schedule::<flows::quick>("yearly", yearly)
        .await
        .unwrap();
    let app = app(engine.clone());
    let backfill = "/api/v1/schedules/yearly/backfill";

    // A viewer may do neither.
    let r = call_as(&app, Some(VIEWER), Method::POST, backfill, Some(RANGE)).await;
    error(r, StatusCode::FORBIDDEN, "forbidden");
    let r = call_as(
        &app,
        Some(VIEWER),
        Method::DELETE,
        "/api/v1/schedules/yearly",
        None,
    )
    .await;
    error(r, StatusCode::FORBIDDEN, "forbidden");

    // The range's three ticks start once; again, they already have their runs.
    let (status, done) = call(&app, Method::POST, backfill, Some(RANGE)).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let started: Vec<&str> = done["started"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // The ids name each tick in UTC: midnight in Paris is 23:00 the day before.
    assert_eq!(
        started,
        [
            "yearly@2021-12-31T23:00:00Z",
            "yearly@2022-12-31T23:00:00Z",
            "yearly@2023-12-31T23:00:00Z"
        ],
        "{done}"
    );
    assert_eq!(done["existing"].as_array().unwrap().len(), 0, "{done}");
    let listed = get_ok(&app, "/api/v1/instances?id_prefix=yearly%40").await;
    assert_eq!(ids(&listed), started, "the runs are instances");
    let (status, again) = call(&app, Method::POST, backfill, Some(RANGE)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["started"].as_array().unwrap().len(), 0, "{again}");
    assert_eq!(again["existing"], done["started"], "{again}");

    // Bad bodies and ranges.
    let r = call(
        &app,
        Method::POST,
        backfill,
        Some(r#"{"from": "2021", "to": "x"}"#),
    )
    .await;
    error(r, StatusCode::BAD_REQUEST, "bad_request");
    let r = call(
        &app,
        Method::POST,
        backfill,
        Some(r#"{"from": "2021-06-01T00:00:00Z"}"#),
    )
    .await;
    error(r, StatusCode::BAD_REQUEST, "bad_request");
    let r = call(&app, Method::POST, backfill, Some(r#"{"start": "x"}"#)).await;
    error(r, StatusCode::BAD_REQUEST, "bad_request");
    let backwards = r#"{"from": "2024-06-01T00:00:00Z", "to": "2021-06-01T00:00:00Z"}"#;
    let r = call(&app, Method::POST, backfill, Some(backwards)).await;
    error(r, StatusCode::UNPROCESSABLE_ENTITY, "bad_schedule");
    let r = call(
        &app,
        Method::POST,
        "/api/v1/schedules/nope/backfill",
        Some(RANGE),
    )
    .await;
    error(r, StatusCode::NOT_FOUND, "not_found");

    // Delete: the schedule is gone, its runs are kept.
    let (status, deleted) = call(&app, Method::DELETE, "/api/v1/schedules/yearly", None).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted, serde_json::json!({"deleted": "yearly"}));
    let r = call(&app, Method::GET, "/api/v1/schedules/yearly", None).await;
    error(r, StatusCode::NOT_FOUND, "not_found");
    let r = call(&app, Method::DELETE, "/api/v1/schedules/yearly", None).await;
    error(r, StatusCode::NOT_FOUND, "not_found");
    let listed = get_ok(&app, "/api/v1/instances?id_prefix=yearly%40").await;
    assert_eq!(ids(&listed).len(), 3, "the runs are kept");

    // The audit log: newest first.
    let (_, log) = call_as(&app, Some(ADMIN), Method::GET, "/api/v1/audit", None).await;
    let got: Vec<(String, String, String)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["who"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["kind"].as_str().unwrap_or("ok").to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("olga", "delete_schedule", "not_found"),
        ("olga", "delete_schedule", "ok"),
        ("olga", "backfill_schedule", "not_found"),
        ("olga", "backfill_schedule", "bad_schedule"),
        ("olga", "backfill_schedule", "bad_request"),
        ("olga", "backfill_schedule", "bad_request"),
        ("olga", "backfill_schedule", "bad_request"),
        ("olga", "backfill_schedule", "ok"),
        ("olga", "backfill_schedule", "ok"),
        ("vic", "delete_schedule", "forbidden"),
        ("vic", "backfill_schedule", "forbidden"),
    ]
    .iter()
    .map(|(w, a, k)| ((*w).to_owned(), (*a).to_owned(), (*k).to_owned()))
    .collect();
    assert_eq!(got, want, "{log}");
    let first = &log["entries"].as_array().unwrap()[8];
    assert_eq!(
        first["detail"],
        "2021-06-01T00:00:00Z to 2024-06-01T00:00:00Z"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_delete_and_backfill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    schedule_actions(sayiir::SqliteStore::open(dir.path().join("app.db")).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_delete_and_backfill_on_postgres() {
    let Some(db) = pg_harness::fresh_database("server_schedules").await else {
        return; // the harness printed a SKIPPED banner
    };
    schedule_actions(sayiir::PgStore::connect(db.url()).await.unwrap()).await;
}
