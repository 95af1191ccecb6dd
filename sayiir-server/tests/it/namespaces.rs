//! Namespaces through the server: a request acts in the namespace its header, query or
//! dashboard cookie names (else the default of its token), only in one its token is bound to;
//! nothing of another namespace shows or is touched, and the audit log is per namespace.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use sayiir::Engine;
use sayiir::store::Store;
use sayiir_store::pg_harness;
use serde_json::Value;
use tower::ServiceExt;

use crate::common::{ACME, ADMIN, OPERATOR, app, call_as, error, ids, populate};
use crate::flows;

/// `GET path` with `token` and the `Sayiir-Namespace` header.
async fn get_in(app: &Router, token: &str, ns: &str, path: &str) -> (StatusCode, Value) {
    let request = Request::get(format!("/sayiir{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("sayiir-namespace", ns)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn isolation(store: impl Store) {
    let engine = flows::register(Engine::builder(store)).build().unwrap();
    populate(&engine).await;
    let acme = engine.in_namespace("acme").unwrap();
    acme.start::<flows::order>("acme-1", 9).await.unwrap();
    let app = app(engine.clone());
    let get = |token, path: &'static str| call_as(&app, Some(token), Method::GET, path, None);

    // The admin (every namespace): the server's namespace unless asked otherwise.
    let (_, all) = get(ADMIN, "/api/v1/instances").await;
    assert_eq!(ids(&all).len(), 8, "{all}");
    assert!(!ids(&all).contains(&"acme-1".to_owned()));
    let (_, theirs) = get(ADMIN, "/api/v1/instances?namespace=acme").await;
    assert_eq!(ids(&theirs), ["acme-1"]);
    let (status, by_header) = get_in(&app, ADMIN, "acme", "/api/v1/instances?limit=5").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&by_header), ["acme-1"]);
    let (_, stats) = get(ADMIN, "/api/v1/stats?namespace=acme").await;
    assert_eq!(stats["total"]["total"], 1, "{stats}");
    let (_, stats) = get(ADMIN, "/api/v1/stats").await;
    assert_eq!(stats["total"]["total"], 8, "{stats}");
    // An instance of another namespace is not found from this one.
    error(
        get(ADMIN, "/api/v1/instances/acme-1").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (status, _) = get(ADMIN, "/api/v1/instances/acme-1?namespace=acme").await;
    assert_eq!(status, StatusCode::OK);
    error(
        get(ADMIN, "/api/v1/instances?namespace=Not%20Valid").await,
        StatusCode::BAD_REQUEST,
        "invalid_namespace",
    );

    // An operator of `default` only: `acme` is refused, by query or header.
    error(
        get(OPERATOR, "/api/v1/instances?namespace=acme").await,
        StatusCode::FORBIDDEN,
        "forbidden_namespace",
    );
    error(
        get_in(&app, OPERATOR, "acme", "/api/v1/instances").await,
        StatusCode::FORBIDDEN,
        "forbidden_namespace",
    );
    let act = |token, path: &'static str| call_as(&app, Some(token), Method::POST, path, None);
    error(
        act(OPERATOR, "/api/v1/instances/acme-1/pause?namespace=acme").await,
        StatusCode::FORBIDDEN,
        "forbidden_namespace",
    );
    // From its own namespace the other's instance does not exist: not paused.
    error(
        act(OPERATOR, "/api/v1/instances/acme-1/pause").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    // An operator of `acme` only: that is its default; `default` is refused.
    let (_, mine) = get(ACME, "/api/v1/instances").await;
    assert_eq!(ids(&mine), ["acme-1"]);
    let (_, me) = get(ACME, "/api/v1/me").await;
    assert_eq!(me["namespace"], "acme", "{me}");
    error(
        get(ACME, "/api/v1/instances?namespace=default").await,
        StatusCode::FORBIDDEN,
        "forbidden_namespace",
    );
    let (status, done) = act(ACME, "/api/v1/instances/acme-1/pause").await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let paused = acme.status("acme-1").await.unwrap();
    assert!(
        format!("{:?}", paused.status).contains("Paused"),
        "{paused:?}"
    );

    // The audit log is per namespace: the pause is in `acme`'s, not in `default`'s, where the
    // refused attempts of `olga` are.
    let (_, log) = get(ADMIN, "/api/v1/audit?namespace=acme").await;
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(entries[0]["who"], "ana");
    assert_eq!(entries[0]["targets"][0], "acme-1");
    let (_, log) = get(ADMIN, "/api/v1/audit").await;
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["who"] != "ana"),
        "{log}"
    );

    // The dashboard: the selector's cookie puts the pages in `acme`; a namespace the token may
    // not see is refused there too.
    let cookie = crate::session::login(&app, ADMIN).await;
    let request = Request::get("/sayiir/ui/namespace?name=acme")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(set.starts_with("sayiir_ns=acme;"), "{set}");
    let both = format!("{cookie}; sayiir_ns=acme");
    let request = Request::get("/sayiir/ui/instances")
        .header(header::COOKIE, &both)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.into_body().collect().await.unwrap().to_bytes();
    let page = String::from_utf8(page.to_vec()).unwrap();
    assert!(page.contains(r#"data-id="acme-1""#), "the acme list");
    assert!(!page.contains(r#"data-id="order-1""#), "nothing of default");
    let olga = crate::session::login(&app, OPERATOR).await;
    let request = Request::get("/sayiir/ui/namespace?name=acme")
        .header(header::COOKIE, &olga)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    isolation(sayiir::SqliteStore::open(dir.path().join("app.db")).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_on_postgres() {
    let Some(db) = pg_harness::fresh_database("server_ns").await else {
        return; // the harness printed a SKIPPED banner
    };
    isolation(sayiir::PgStore::connect(db.url()).await.unwrap()).await;
}
