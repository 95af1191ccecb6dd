//! The dashboard's session: login with a token, the cookie, the CSRF token that every
//! cookie request that changes something must carry, cross-site requests refused, logout,
//! and the redirect to the login page.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use sayiir::Engine;
use serde_json::Value;
use tower::ServiceExt;

use crate::common::{ADMIN, OPERATOR, app, call_as};

/// A request: its status, headers and body as text.
async fn send(app: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn form_post(path: &str, cookie: Option<&str>) -> axum::http::request::Builder {
    let mut r = Request::post(format!("/sayiir{path}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "ops.example");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r
}

/// Logs in with `token`: the cookie (`name=value`).
pub(crate) async fn login(app: &Router, token: &str) -> String {
    let body = format!("token={token}");
    let request = form_post("/ui/login", None)
        .header("origin", "http://ops.example")
        .body(Body::from(body))
        .unwrap();
    let (status, headers, text) = send(app, request).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{text}");
    assert_eq!(headers[header::LOCATION], "./");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    cookie.split(';').next().unwrap().to_owned()
}

/// A JSON request with the session cookie and the given extra headers.
async fn with_cookie(
    app: &Router,
    method: Method,
    path: &str,
    cookie: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut r = Request::builder()
        .method(method)
        .uri(format!("/sayiir{path}"))
        .header(header::HOST, "ops.example")
        .header(header::COOKIE, cookie);
    for (k, v) in extra {
        r = r.header(*k, *v);
    }
    let (status, _, text) = send(app, r.body(Body::empty()).unwrap()).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_login_csrf_and_logout() {
    let dir = tempfile::tempdir().unwrap();
    let store = sayiir::SqliteStore::open(dir.path().join("app.db")).unwrap();
    let app = app(Engine::builder(store).build().unwrap());

    // The login page, and a wrong token.
    let (status, headers, page) = send(
        &app,
        Request::get("/sayiir/ui/login")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.contains("name=\"token\"") && page.contains("action=\"login\""),
        "{page}"
    );
    let request = form_post("/ui/login", None)
        .body(Body::from("token=sy_wrong"))
        .unwrap();
    let (status, headers, page) = send(&app, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get(header::SET_COOKIE).is_none());
    assert!(page.contains("unknown token"), "{page}");
    let request = form_post("/ui/login", None)
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(format!("token={OPERATOR}")))
        .unwrap();
    let (status, _, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a login from another site");

    // Without a session, the dashboard's pages send to the login page, relatively.
    for (path, location) in [
        ("/sayiir/ui/", "login"),
        ("/sayiir/ui/instances/order-1", "../login"),
    ] {
        let (status, headers, _) =
            send(&app, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers[header::LOCATION], location, "{path}");
    }

    let cookie = login(&app, OPERATOR).await;
    let (status, me) = with_cookie(&app, Method::GET, "/api/v1/me", &cookie, &[]).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["name"], "olga");
    let csrf = me["csrf"].as_str().unwrap().to_owned();
    assert_eq!(csrf.len(), 43, "32 random bytes in base64url: {csrf}");
    let (status, _) = with_cookie(&app, Method::GET, "/api/v1/stats", &cookie, &[]).await;
    assert_eq!(status, StatusCode::OK);

    // An action by cookie: refused without the CSRF token, with a wrong one, or from another
    // site even with the right one; let through with it (then 404: no such instance).
    let pause = "/api/v1/instances/nope/pause";
    let refusals: [&[(&str, &str)]; 4] = [
        &[],
        &[("x-csrf-token", "not-the-token")],
        &[("x-csrf-token", &csrf), ("origin", "https://evil.example")],
        &[("x-csrf-token", &csrf), ("sec-fetch-site", "cross-site")],
    ];
    for extra in refusals {
        let (status, body) = with_cookie(&app, Method::POST, pause, &cookie, extra).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{extra:?}: {body}");
        assert_eq!(body["error"]["kind"], "csrf", "{extra:?}: {body}");
    }
    let (status, body) = with_cookie(
        &app,
        Method::POST,
        pause,
        &cookie,
        &[("x-csrf-token", &csrf), ("origin", "http://ops.example")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["kind"], "not_found");
    let (_, log) = call_as(&app, Some(ADMIN), Method::GET, "/api/v1/audit", None).await;
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "only the action that got through: {log}");
    assert_eq!(entries[0]["who"], "olga");
    assert_eq!(entries[0]["action"], "pause");
    assert_eq!(entries[0]["kind"], "not_found");

    // A form without its csrf field is refused; logout with it ends the session.
    let request = form_post("/ui/logout", Some(&cookie))
        .body(Body::from("other=1"))
        .unwrap();
    let (status, _, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let request = form_post("/ui/logout", Some(&cookie))
        .body(Body::from(format!("csrf={csrf}")))
        .unwrap();
    let (status, headers, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "login");
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, body) = with_cookie(&app, Method::GET, "/api/v1/stats", &cookie, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // A bearer request needs no CSRF token, even from a browser's cross-site request.
    let r = Request::post("/sayiir/api/v1/instances/nope/resume")
        .header(header::AUTHORIZATION, format!("Bearer {OPERATOR}"))
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(&app, r).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
