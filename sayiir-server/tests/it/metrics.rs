//! `GET /metrics` of `router_with_metrics`: the engine's metrics in the Prometheus text format,
//! next to the JSON endpoints.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use sayiir::{Engine, InstanceStatus};
use tower::ServiceExt;

use crate::common::{VIEWER, eventually, tokens};
use crate::flows;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_next_to_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let store = sayiir::SqliteStore::open(dir.path().join("app.db")).unwrap();
    let (recorder, handle) = sayiir::metrics::prometheus_recorder().unwrap();
    let engine = metrics::with_local_recorder(&recorder, || {
        flows::register(Engine::builder(store)).build().unwrap()
    });
    let worker = engine.spawn_worker();
    engine.start::<flows::quick>("quick-1", 5).await.unwrap();
    eventually("quick-1 completed", || async {
        (engine.status("quick-1").await.unwrap().status == InstanceStatus::Completed).then_some(())
    })
    .await;
    worker.shutdown().await.unwrap();
    let app = axum::Router::new().nest(
        "/sayiir",
        sayiir_server::router_with_metrics(engine, tokens(), handle),
    );
    let unauthorized = Request::get("/sayiir/metrics").body(Body::empty()).unwrap();
    let response = app.clone().oneshot(unauthorized).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "metrics need a token"
    );
    let get = |uri: &'static str| {
        let app = app.clone();
        async move {
            let request = Request::get(uri)
                .header("authorization", format!("Bearer {VIEWER}"))
                .body(Body::empty())
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let kind = response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_owned();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, kind, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let (status, kind, text) = get("/sayiir/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    assert!(
        text.contains(sayiir::metrics::names::STEP_LATENCY),
        "the worker's steps were recorded: {text}"
    );
    let (status, kind, text) = get("/sayiir/api/v1/instances?status=completed").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "application/json");
    assert!(text.contains("\"quick-1\""), "{text}");
}
