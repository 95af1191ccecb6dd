//! The authentication layer: every request gets its [`Principal`] or is refused.
//!
//! - `Authorization: Bearer <token>`: a configured token ([`Tokens`]); an unknown one is 401
//!   `unauthorized` (with `WWW-Authenticate: Bearer`). No CSRF token: a browser never sends
//!   the header on its own.
//! - else the dashboard's session cookie (set by `POST /ui/login`): the session's principal,
//!   with the session's CSRF token. A request that is not `GET`/`HEAD`/`OPTIONS` must come
//!   from the same site (`Sec-Fetch-Site` not `cross-site`, `Origin` the request's host if
//!   given) and carry the CSRF token (header `X-CSRF-Token`, or field `csrf` of a urlencoded
//!   form), else 403 `csrf`.
//! - else: 401 `unauthorized` for the API, a redirect to the login page for `/ui/...`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::tokens::{Tokens, random_base64};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "sayiir_session";
/// How long a session lasts after its login.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// The largest form body the CSRF check reads.
const MAX_FORM: usize = 1 << 20;

/// One login.
#[derive(Clone)]
struct Session {
    principal: Principal,
    expires: Instant,
}

/// The tokens and the live sessions.
pub(crate) struct Auth {
    tokens: Tokens,
    sessions: Mutex<HashMap<String, Session>>,
}

impl Auth {
    pub(crate) fn new(tokens: Tokens) -> Arc<Self> {
        Arc::new(Self {
            tokens,
            sessions: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session of `principal`: its id (the cookie's value).
    pub(crate) fn open(&self, mut principal: Principal) -> Result<String, ApiError> {
        let random = |n| {
            random_base64(n).map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("no randomness from the operating system: {e}"),
                )
            })
        };
        let id = random(32)?;
        principal.csrf = random(32)?;
        let now = Instant::now();
        let mut sessions = self.sessions();
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(
            id.clone(),
            Session {
                principal,
                expires: now + SESSION_TTL,
            },
        );
        Ok(id)
    }

    /// The principal of the live session `id`.
    fn session(&self, id: &str) -> Option<Principal> {
        let sessions = self.sessions();
        sessions
            .get(id)
            .filter(|s| s.expires > Instant::now())
            .map(|s| s.principal.clone())
    }

    /// Ends the session `id`.
    pub(crate) fn close(&self, id: &str) {
        self.sessions().remove(id);
    }
}

/// The value of cookie `name` in `headers`.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// 401 `unauthorized`, with `WWW-Authenticate: Bearer`.
fn unauthorized(message: &str) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

fn csrf_error(message: &str) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, "csrf", message).into_response()
}

/// Whether a request comes from another site: `Sec-Fetch-Site: cross-site`, or an `Origin`
/// whose host is not the request's `Host`.
pub(crate) fn cross_site(headers: &HeaderMap) -> bool {
    let value = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if value(header::HeaderName::from_static("sec-fetch-site")) == Some("cross-site") {
        return true;
    }
    match value(header::ORIGIN) {
        None => false,
        Some(origin) => {
            let host = origin.split_once("://").map(|(_, h)| h);
            host.is_none() || host != value(header::HOST)
        }
    }
}

/// A relative reference from `path` (under the router) to `/ui/login`: relative, so that it
/// holds wherever the router is nested.
pub(crate) fn login_location(path: &str) -> String {
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    match dir.matches('/').count() {
        0 | 1 => "ui/login".to_owned(),
        n => format!("{}login", "../".repeat(n - 2)),
    }
}

fn is_safe(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD || *method == Method::OPTIONS
}

/// The middleware: finds the request's principal and puts it in its extensions.
pub(crate) async fn guard(State(auth): State<Arc<Auth>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path == "/ui/login" {
        return next.run(req).await;
    }
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(token) = token else {
            return unauthorized("the Authorization header must be `Bearer <token>`");
        };
        let Some(principal) = auth.tokens.authenticate(token) else {
            return unauthorized("unknown token");
        };
        let mut req = req;
        req.extensions_mut().insert(principal);
        return next.run(req).await;
    }
    let session = cookie(req.headers(), SESSION_COOKIE).and_then(|id| auth.session(id));
    let Some(principal) = session else {
        if path == "/ui" || path.starts_with("/ui/") {
            return (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, login_location(&path))],
            )
                .into_response();
        }
        return unauthorized("this needs `Authorization: Bearer <token>`");
    };
    let req = if is_safe(req.method()) {
        req
    } else {
        match check_csrf(req, &principal.csrf).await {
            Ok(req) => req,
            Err(r) => return r,
        }
    };
    let mut req = req;
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// The CSRF checks of a cookie request that changes something; the request (its body read
/// back into it) when they pass.
async fn check_csrf(req: Request, expected: &str) -> Result<Request, Response> {
    if cross_site(req.headers()) {
        return Err(csrf_error(
            "a request from another site cannot use the session",
        ));
    }
    let matches = |given: &str| bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
    if let Some(given) = req.headers().get("x-csrf-token") {
        return if given.to_str().is_ok_and(matches) {
            Ok(req)
        } else {
            Err(csrf_error("the X-CSRF-Token header is not this session's"))
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(csrf_error(
            "this needs the session's CSRF token (header X-CSRF-Token, or form field csrf)",
        ));
    }
    let (parts, body) = req.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, MAX_FORM)
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read the form: {e}")).into_response())?;
    let ok = form_urlencoded::parse(&bytes).any(|(k, v)| k == "csrf" && matches(&v));
    if !ok {
        return Err(csrf_error("the form's csrf field is not this session's"));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_locations_are_relative() {
        for (path, expected) in [
            ("/ui", "ui/login"),
            ("/ui/", "login"),
            ("/ui/instances", "login"),
            ("/ui/instances/", "../login"),
            ("/ui/instances/order-1", "../login"),
            ("/ui/instances/order-1/history", "../../login"),
        ] {
            assert_eq!(login_location(path), expected, "{path}");
        }
    }

    #[test]
    fn sessions_expire_and_close() {
        use crate::auth::Role;
        let auth = Auth::new(Tokens::new());
        let principal = Principal {
            name: "olga".into(),
            role: Role::Operator,
            namespaces: None,
            csrf: String::new(),
            namespace: String::new(),
        };
        let live = auth.open(principal.clone()).unwrap();
        let other = auth.open(principal).unwrap();
        assert_ne!(live, other, "a new session id each time");
        let p = auth.session(&live).unwrap();
        assert_eq!(p.name, "olga");
        assert_eq!(p.csrf.len(), 43);
        assert_ne!(
            p.csrf,
            auth.session(&other).unwrap().csrf,
            "a CSRF token per session"
        );
        // Expired: refused, and pruned by the next login.
        auth.sessions().get_mut(&other).unwrap().expires = Instant::now();
        assert!(auth.session(&other).is_none());
        auth.close(&live);
        assert!(auth.session(&live).is_none());
        assert!(auth.session("made-up").is_none());
    }

    #[test]
    fn cookies_and_origins() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; sayiir_session=xyz; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
        h.insert(header::HOST, HeaderValue::from_static("ops.example:8080"));
        assert!(!cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://ops.example:8080"),
        );
        assert!(!cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(cross_site(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(cross_site(&h));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&h));
    }
}
