//! Authentication and roles through the API, and the audit log of the actions the checks
//! asked for (run after them, on each store).

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::{ADMIN, OPERATOR, VIEWER, call_as, error, get_ok};

/// 401 without a token, with an unknown one, with another scheme.
pub(crate) async fn unauthenticated(app: &Router) {
    for auth in [
        None,
        Some("Bearer sy_nobody"),
        Some("Basic YWRhOnNlY3JldA=="),
    ] {
        let mut request = Request::get("/sayiir/api/v1/stats");
        if let Some(a) = auth {
            request = request.header(header::AUTHORIZATION, a);
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
    let r = call_as(
        app,
        None,
        Method::POST,
        "/api/v1/instances/order-2/pause",
        None,
    )
    .await;
    error(r, StatusCode::UNAUTHORIZED, "unauthorized");
    let r = call_as(app, Some("sy_nobody"), Method::GET, "/api/v1/nothing", None).await;
    error(r, StatusCode::UNAUTHORIZED, "unauthorized");
}

/// The actions a viewer is refused, as `(path, body)`.
const ACTIONS: [(&str, Option<&str>); 8] = [
    (
        "/api/v1/instances/order-2/signal/approve",
        Some(r#"{"by": "vic", "limit": 1}"#),
    ),
    (
        "/api/v1/instances/order-2/cancel",
        Some(r#"{"reason": "mine"}"#),
    ),
    ("/api/v1/instances/order-2/pause", None),
    ("/api/v1/instances/order-3/resume", None),
    ("/api/v1/instances/parcel-1/retry", None),
    ("/api/v1/instances/parcel-1/fail", None),
    ("/api/v1/schedules/yearly/pause", None),
    ("/api/v1/schedules/yearly/resume", None),
];

/// A viewer reads and is refused every action and the audit log; an operator is refused the
/// audit log; `me` tells each who they are.
pub(crate) async fn roles(app: &Router) {
    for path in [
        "/api/v1/stats",
        "/api/v1/instances",
        "/api/v1/schedules/yearly",
    ] {
        let (status, body) = call_as(app, Some(VIEWER), Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    for (path, body) in ACTIONS {
        let r = call_as(app, Some(VIEWER), Method::POST, path, body).await;
        let message = error(r, StatusCode::FORBIDDEN, "forbidden");
        assert!(message.contains("`vic` is a viewer"), "{message}");
    }
    let d = get_ok(app, "/api/v1/instances/order-2").await;
    assert_eq!(
        d["instance"]["status"], "running",
        "the viewer changed nothing"
    );
    for token in [VIEWER, OPERATOR] {
        let r = call_as(app, Some(token), Method::GET, "/api/v1/audit", None).await;
        error(r, StatusCode::FORBIDDEN, "forbidden");
    }
    let (_, me) = call_as(app, Some(OPERATOR), Method::GET, "/api/v1/me", None).await;
    assert_eq!(
        me,
        json!({"name": "olga", "role": "operator", "namespaces": ["default"], "namespace": "default", "csrf": ""})
    );
}

/// One expected entry: who, action, target, detail, error kind (`None`: done).
type Expected = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

/// An entry as read back: who, action, target, detail, error kind.
type Got = (String, String, String, Option<String>, Option<String>);

/// The audit log holds every action of the checks and of [`roles`], oldest last, with who,
/// what, on what and how it ended; it pages by `after`.
pub(crate) async fn audit(app: &Router) {
    let reason = Some("cancelled through the HTTP API");
    let expected: Vec<Expected> = vec![
        ("olga", "pause_schedule", "yearly", None, None),
        ("olga", "resume_schedule", "yearly", None, None),
        (
            "olga",
            "signal",
            "order-1",
            Some("approve"),
            Some("bad_payload"),
        ),
        (
            "olga",
            "signal",
            "order-1",
            Some("approve"),
            Some("bad_request"),
        ),
        (
            "olga",
            "signal",
            "order-1",
            Some("reject"),
            Some("unknown_signal"),
        ),
        ("olga", "signal", "nope", Some("approve"), Some("not_found")),
        ("olga", "signal", "order-1", Some("approve"), None),
        ("olga", "pause", "order-2", None, None),
        ("olga", "resume", "order-2", None, None),
        ("olga", "resume", "order-2", None, Some("not_paused")),
        ("olga", "pause", "quick-1", None, Some("finished")),
        ("olga", "fail", "order-2", None, Some("not_allowed")),
        ("olga", "retry", "nope", None, Some("not_found")),
        ("olga", "cancel", "nap-1", Some("no more naps"), None),
        ("olga", "cancel", "nap-1", reason, Some("finished")),
        ("olga", "cancel", "order-2", None, Some("bad_request")),
        ("olga", "retry", "parcel-1", None, None),
        ("olga", "fail", "fragile-1", None, Some("not_allowed")),
        (
            "vic",
            "signal",
            "order-2",
            Some("approve"),
            Some("forbidden"),
        ),
        ("vic", "cancel", "order-2", None, Some("forbidden")),
        ("vic", "pause", "order-2", None, Some("forbidden")),
        ("vic", "resume", "order-3", None, Some("forbidden")),
        ("vic", "retry", "parcel-1", None, Some("forbidden")),
        ("vic", "fail", "parcel-1", None, Some("forbidden")),
        ("vic", "pause_schedule", "yearly", None, Some("forbidden")),
        ("vic", "resume_schedule", "yearly", None, Some("forbidden")),
    ];
    let (status, all) = call_as(
        app,
        Some(ADMIN),
        Method::GET,
        "/api/v1/audit?limit=1000",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let entries = all["entries"].as_array().unwrap();
    let got: Vec<Got> = entries
        .iter()
        .rev()
        .map(|e| {
            assert_eq!(e["targets"].as_array().unwrap().len(), 1, "{e}");
            let s = |v: &Value| v.as_str().map(str::to_owned);
            let kind = match e["result"].as_str().unwrap() {
                "ok" => None,
                "failed" => {
                    assert!(!e["message"].as_str().unwrap().is_empty(), "{e}");
                    Some(e["kind"].as_str().unwrap().to_owned())
                }
                other => panic!("result {other}: {e}"),
            };
            (
                s(&e["who"]).unwrap(),
                s(&e["action"]).unwrap(),
                s(&e["targets"][0]).unwrap(),
                s(&e["detail"]),
                kind,
            )
        })
        .collect();
    let want: Vec<_> = expected
        .iter()
        .map(|(w, a, t, d, k)| {
            (
                w.to_string(),
                a.to_string(),
                t.to_string(),
                d.map(str::to_owned),
                k.map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(all["next"], json!(null));
    let at = entries[0]["at"].as_str().unwrap();
    assert!(at.ends_with('Z') && at.len() == 24, "RFC 3339 in ms: {at}");

    // Pages of 10, newest first, continuing below `next`.
    let mut ids = Vec::new();
    let mut after = String::new();
    loop {
        let page = get_as_admin(app, &format!("/api/v1/audit?limit=10&after={after}")).await;
        for e in page["entries"].as_array().unwrap() {
            ids.push(e["id"].as_u64().unwrap());
        }
        match page["next"].as_u64() {
            Some(next) => after = next.to_string(),
            None => break,
        }
    }
    let all_ids: Vec<u64> = entries.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, all_ids, "the pages cover the log once, newest first");
    for bad in ["limit=0", "after=x", "before=3"] {
        let r = call_as(
            app,
            Some(ADMIN),
            Method::GET,
            &format!("/api/v1/audit?{bad}"),
            None,
        )
        .await;
        error(r, StatusCode::BAD_REQUEST, "bad_request");
    }
}

async fn get_as_admin(app: &Router, path: &str) -> Value {
    let (status, body) = call_as(app, Some(ADMIN), Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}
