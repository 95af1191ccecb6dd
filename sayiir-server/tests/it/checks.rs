//! What every store must give through the API (populated by `common::populate`).

use axum::Router;
use axum::http::{Method, StatusCode};
use sayiir::{Engine, InstanceStatus};
use serde_json::json;

use crate::common::{INSTANCES, call, error, eventually, get_ok, ids};

/// Listing with filters and pages.
pub(crate) async fn list(app: &Router) {
    let all = get_ok(app, "/api/v1/instances").await;
    let want: Vec<&str> = INSTANCES.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids(&all), want);
    assert_eq!(all["next"], json!(null), "one page holds them all");
    assert_eq!(all["damaged"], json!([]));
    let order1 = &all["instances"][3];
    assert_eq!(order1["workflow"], "order");
    assert_eq!(order1["status"], "running");
    assert_eq!(order1["state"], "signal:approve#1");

    let cases: [(&str, &[&str]); 7] = [
        ("workflow=order", &["order-1", "order-2", "order-3"]),
        ("status=failed", &["doomed-1"]),
        ("status=completed", &["quick-1"]),
        ("status=paused", &["order-3"]),
        ("needs_attention=true", &["fragile-1", "parcel-1"]),
        ("blocked=parked", &["parcel-1"]),
        ("id_prefix=order-&status=running", &["order-1", "order-2"]),
    ];
    for (query, want) in cases {
        let page = get_ok(app, &format!("/api/v1/instances?{query}")).await;
        assert_eq!(ids(&page), want, "{query}");
    }
    let blocked = get_ok(app, "/api/v1/instances?blocked=panicked").await;
    assert_eq!(blocked["instances"][0]["block"]["kind"], "panicked");
    assert_eq!(blocked["instances"][0]["block"]["needs_attention"], true);

    // Keyset pages: three, then the next three after the cursor, then the last two.
    let first = get_ok(app, "/api/v1/instances?limit=3").await;
    assert_eq!(ids(&first), want[..3]);
    assert_eq!(first["next"], "nap-1");
    let second = get_ok(app, "/api/v1/instances?limit=3&after=nap-1").await;
    assert_eq!(ids(&second), want[3..6]);
    let cursor = second["next"].as_str().unwrap();
    let third = get_ok(app, &format!("/api/v1/instances?limit=3&after={cursor}")).await;
    assert_eq!(ids(&third), want[6..]);
    assert_eq!(third["next"], json!(null));

    for bad in [
        "limit=0",
        "limit=x",
        "status=asleep",
        "blocked=bored",
        "colour=red",
    ] {
        let r = call(app, Method::GET, &format!("/api/v1/instances?{bad}"), None).await;
        error(r, StatusCode::BAD_REQUEST, "bad_request");
    }
}

/// Stats, versions, workers, limits, schedules.
pub(crate) async fn overview(app: &Router) {
    let stats = get_ok(app, "/api/v1/stats").await;
    let total = &stats["total"];
    assert_eq!(total["total"], 8, "{stats}");
    assert_eq!(total["running"], 3, "order-1, order-2, nap-1: {stats}");
    assert_eq!(total["paused"], 1);
    assert_eq!(total["needs_attention"], 2);
    assert_eq!(total["completed"], 1);
    assert_eq!(total["failed"], 1);
    assert_eq!(total["cancelled"], 0);
    let order = stats["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["workflow"] == "order")
        .unwrap();
    assert_eq!(order["total"], 3);
    assert_eq!(order["paused"], 1);
    assert_eq!(stats["workers"]["alive"], 0, "the worker was shut down");

    let versions = get_ok(app, "/api/v1/versions").await;
    let order = versions
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["workflow"] == "order")
        .unwrap();
    assert_eq!(order["running"], 2, "{versions}");
    assert_eq!(order["blocked"], 1, "the paused one");
    assert_eq!(order["drained"], false);

    let workers = get_ok(app, "/api/v1/workers").await;
    assert!(!workers.as_array().unwrap().is_empty(), "{workers}");
    assert_eq!(workers[0]["alive"], false);

    let limits = get_ok(app, "/api/v1/limits").await;
    assert_eq!(limits, json!({"concurrency": [], "rates": []}));

    let schedules = get_ok(app, "/api/v1/schedules").await;
    assert_eq!(schedules.as_array().unwrap().len(), 1);
    assert_eq!(schedules[0]["id"], "yearly");
    let yearly = get_ok(app, "/api/v1/schedules/yearly").await;
    assert_eq!(yearly["workflow"], "quick");
    assert_eq!(yearly["cron"], "0 0 1 1 *");
    assert_eq!(yearly["state"], "active");
    let (status, paused) = call(app, Method::POST, "/api/v1/schedules/yearly/pause", None).await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    assert_eq!(paused["state"], "paused");
    let (status, resumed) = call(app, Method::POST, "/api/v1/schedules/yearly/resume", None).await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert_eq!(resumed["state"], "active");
    let r = call(app, Method::GET, "/api/v1/schedules/weekly", None).await;
    error(r, StatusCode::NOT_FOUND, "not_found");
}

/// Describe and history; unknown and malformed ids.
pub(crate) async fn describe(app: &Router) {
    let d = get_ok(app, "/api/v1/instances/order-1").await;
    assert_eq!(d["instance"]["id"], "order-1");
    assert_eq!(d["instance"]["status"], "running");
    assert_eq!(d["waiting"][0]["kind"], "signal", "{d}");
    assert_eq!(d["waiting"][0]["name"], "approve");
    assert_eq!(d["decoded_by"]["source"], "registered", "{d}");
    let allowed: Vec<&str> = d["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        allowed.contains(&"pause") && allowed.contains(&"cancel"),
        "{allowed:?}"
    );

    let done = get_ok(app, "/api/v1/instances/quick-1").await;
    assert_eq!(done["instance"]["status"], "completed");
    assert_eq!(done["output"], 500, "reserve(5) = 500: {done}");

    let h = get_ok(app, "/api/v1/instances/quick-1/history").await;
    assert_eq!(h["id"], "quick-1");
    let entries = h["entries"].as_array().unwrap();
    assert!(entries.len() >= 2, "started and completed at least: {h}");
    assert!(
        entries
            .iter()
            .all(|e| e["seq"].is_u64() && e["kind"].is_string())
    );

    for path in ["/api/v1/instances/nope", "/api/v1/instances/nope/history"] {
        let r = call(app, Method::GET, path, None).await;
        let message = error(r, StatusCode::NOT_FOUND, "not_found");
        assert!(message.contains("nope"), "{message}");
    }
    let r = call(app, Method::GET, "/api/v1/instances/%20x", None).await;
    error(r, StatusCode::BAD_REQUEST, "invalid_id");
    let r = call(app, Method::GET, "/api/v1/instances/%FF", None).await;
    error(r, StatusCode::BAD_REQUEST, "bad_request");
    let r = call(app, Method::GET, "/api/v1/nothing-here", None).await;
    error(r, StatusCode::NOT_FOUND, "no_route");
    let r = call(app, Method::GET, "/api/v1/instances/order-1/pause", None).await;
    error(r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

/// A signal through the API completes `order-1`; bad payloads are refused.
pub(crate) async fn signal(app: &Router, engine: &Engine) {
    let path = "/api/v1/instances/order-1/signal/approve";
    let r = call(app, Method::POST, path, Some(r#"{"by": 3}"#)).await;
    let message = error(r, StatusCode::UNPROCESSABLE_ENTITY, "bad_payload");
    assert!(message.contains("approve"), "{message}");
    let r = call(app, Method::POST, path, Some("{not json")).await;
    error(r, StatusCode::BAD_REQUEST, "bad_request");
    let r = call(
        app,
        Method::POST,
        "/api/v1/instances/order-1/signal/reject",
        Some("{}"),
    )
    .await;
    error(r, StatusCode::UNPROCESSABLE_ENTITY, "unknown_signal");
    let r = call(
        app,
        Method::POST,
        "/api/v1/instances/nope/signal/approve",
        Some("{}"),
    )
    .await;
    error(r, StatusCode::NOT_FOUND, "not_found");

    let (status, sent) = call(
        app,
        Method::POST,
        path,
        Some(r#"{"by": "ada", "limit": 1000}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(
        sent,
        json!({"id": "order-1", "signal": "approve", "sent": true})
    );
    let worker = engine.spawn_worker();
    eventually("order-1 completed", || async {
        (engine.status("order-1").await.unwrap().status == InstanceStatus::Completed).then_some(())
    })
    .await;
    worker.shutdown().await.unwrap();
    let d = get_ok(app, "/api/v1/instances/order-1").await;
    assert_eq!(d["instance"]["status"], "completed");
    assert_eq!(d["output"]["Ok"], "order 1: 100 approved by ada", "{d}");
}

/// Pause, resume, cancel, retry, fail: statuses of success and refusal.
pub(crate) async fn actions(app: &Router) {
    let post = |path: String, body: Option<&'static str>| async move {
        call(app, Method::POST, &path, body).await
    };
    let (status, done) = post("/api/v1/instances/order-2/pause".into(), None).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(
        done,
        json!({"id": "order-2", "action": "pause", "ok": true})
    );
    let d = get_ok(app, "/api/v1/instances/order-2").await;
    assert_eq!(d["instance"]["block"]["kind"], "paused", "{d}");
    let (status, _) = post("/api/v1/instances/order-2/resume".into(), None).await;
    assert_eq!(status, StatusCode::OK);
    let r = post("/api/v1/instances/order-2/resume".into(), None).await;
    error(r, StatusCode::CONFLICT, "not_paused");
    let r = post("/api/v1/instances/quick-1/pause".into(), None).await;
    error(r, StatusCode::CONFLICT, "finished");
    let r = post("/api/v1/instances/order-2/fail".into(), None).await;
    error(r, StatusCode::CONFLICT, "not_allowed");
    let r = post("/api/v1/instances/nope/retry".into(), None).await;
    error(r, StatusCode::NOT_FOUND, "not_found");

    let (status, done) = post(
        "/api/v1/instances/nap-1/cancel".into(),
        Some(r#"{"reason": "no more naps"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let d = get_ok(app, "/api/v1/instances/nap-1").await;
    assert_eq!(d["instance"]["status"], "cancelled");
    assert!(d.to_string().contains("no more naps"), "{d}");
    let r = post("/api/v1/instances/nap-1/cancel".into(), None).await;
    error(r, StatusCode::CONFLICT, "finished");
    let r = post(
        "/api/v1/instances/order-2/cancel".into(),
        Some(r#"{"why": 1}"#),
    )
    .await;
    error(r, StatusCode::BAD_REQUEST, "bad_request");

    // A parked call: retry is allowed (it runs again when a worker claims it).
    let (status, done) = post("/api/v1/instances/parcel-1/retry".into(), None).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (status, done) = post("/api/v1/instances/fragile-1/fail".into(), None).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a panicked task is not parked: {done}"
    );
}
