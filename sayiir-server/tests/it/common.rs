//! Stores populated by a real engine, and requests to the router.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use sayiir::schedule::ScheduleSpec;
use sayiir::{Engine, InstanceStatus};
use sayiir_server::{Role, Tokens};
use serde_json::Value;
use tower::ServiceExt;

use crate::flows;

/// How long a test waits for an event before it calls the engine stuck.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// Polls `check` every 10 ms until it gives `Some`; panics after [`PATIENCE`].
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still waiting for {what} after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The ids [`populate`] leaves, in order, with what each is left doing.
pub(crate) const INSTANCES: [(&str, &str); 8] = [
    ("doomed-1", "failed"),
    ("fragile-1", "blocked: panicked"),
    ("nap-1", "running: asleep for a day"),
    ("order-1", "running: waits for `approve`"),
    ("order-2", "running: waits for `approve`"),
    ("order-3", "paused while waiting for `approve`"),
    ("parcel-1", "blocked: parked"),
    ("quick-1", "completed"),
];

/// Starts the instances of [`INSTANCES`] with `engine` (the flows registered), runs a worker
/// until each is where the table says, pauses `order-3`, stops the worker, and creates the
/// schedule `yearly`.
pub(crate) async fn populate(engine: &Engine) {
    let worker = engine.spawn_worker();
    for n in 1..=3 {
        engine
            .start::<flows::order>(format!("order-{n}"), n)
            .await
            .unwrap();
    }
    engine.start::<flows::quick>("quick-1", 5).await.unwrap();
    engine.start::<flows::doomed>("doomed-1", 7).await.unwrap();
    engine.start::<flows::nap>("nap-1", 1).await.unwrap();
    engine
        .start::<flows::fragile>("fragile-1", 3)
        .await
        .unwrap();
    engine.start::<flows::parcel>("parcel-1", 4).await.unwrap();
    for (id, state) in [
        ("order-1", "signal:approve#1"),
        ("order-2", "signal:approve#1"),
        ("order-3", "signal:approve#1"),
        ("nap-1", "sleep#1"),
    ] {
        eventually(&format!("{id} in {state}"), || async {
            let info = engine.status(id).await.unwrap();
            (info.state.as_deref() == Some(state)).then_some(())
        })
        .await;
    }
    for (id, done) in [
        ("quick-1", InstanceStatus::Completed),
        ("doomed-1", InstanceStatus::Failed),
    ] {
        eventually(&format!("{id} {done:?}"), || async {
            (engine.status(id).await.unwrap().status == done).then_some(())
        })
        .await;
    }
    for id in ["fragile-1", "parcel-1"] {
        eventually(&format!("{id} blocked"), || async {
            matches!(
                engine.status(id).await.unwrap().status,
                InstanceStatus::Blocked { .. }
            )
            .then_some(())
        })
        .await;
    }
    engine.pause("order-3").await.unwrap();
    worker.shutdown().await.unwrap();
    // Midnight on 1 January in Paris: it does not fire during the tests.
    let yearly = ScheduleSpec::new("0 0 1 1 *", 9).time_zone("Europe/Paris");
    engine
        .schedule::<flows::quick>("yearly", yearly)
        .await
        .unwrap();
}

/// The tokens of the tests' principals, one of each role.
pub(crate) const ADMIN: &str = "sy_test-admin-token";
pub(crate) const OPERATOR: &str = "sy_test-operator-token";
pub(crate) const VIEWER: &str = "sy_test-viewer-token";
/// An operator of the namespace `acme` only.
pub(crate) const ACME: &str = "sy_test-acme-token";

/// `ada` (admin), `olga` (operator, namespace `default`), `vic` (viewer) and `ana` (operator,
/// namespace `acme`).
pub(crate) fn tokens() -> Tokens {
    Tokens::new()
        .with_token("ada", Role::Admin, None, ADMIN)
        .unwrap()
        .with_token(
            "olga",
            Role::Operator,
            Some(vec!["default".into()]),
            OPERATOR,
        )
        .unwrap()
        .with_token("vic", Role::Viewer, None, VIEWER)
        .unwrap()
        .with_token("ana", Role::Operator, Some(vec!["acme".into()]), ACME)
        .unwrap()
}

/// The API nested under `/sayiir` in an application's router, as the docs show.
pub(crate) fn app(engine: Engine) -> Router {
    Router::new().nest("/sayiir", sayiir_server::router(engine, tokens()))
}

/// One request to `app` as the operator: its status and its body as JSON.
pub(crate) async fn call(
    app: &Router,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    call_as(app, Some(OPERATOR), method, path, body).await
}

/// One request to `app` with `token` (none: no `Authorization` header).
pub(crate) async fn call_as(
    app: &Router,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("/sayiir{path}"))
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{path}: the body is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, json)
}

/// `GET path`, which must answer 200.
pub(crate) async fn get_ok(app: &Router, path: &str) -> Value {
    let (status, json) = call(app, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {json}");
    json
}

/// The error of a response: its status and kind, checked, and its message.
pub(crate) fn error((status, json): (StatusCode, Value), want: StatusCode, kind: &str) -> String {
    assert_eq!(status, want, "{json}");
    assert_eq!(json["error"]["kind"], kind, "{json}");
    let message = json["error"]["message"].as_str().unwrap().to_owned();
    assert!(!message.is_empty());
    message
}

/// The ids of a listing.
pub(crate) fn ids(listing: &Value) -> Vec<String> {
    listing["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}
