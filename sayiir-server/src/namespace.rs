//! The namespace of each request: which of the store's namespaces it reads and acts in.
//!
//! Asked for by the header `Sayiir-Namespace`, else the query parameter `namespace` (removed
//! from the query before the endpoint reads it), else, for the dashboard, the cookie
//! `sayiir_ns` that its namespace selector sets; without any, the server engine's namespace
//! when the token may see it, else the first namespace the token is bound to. A token bound to
//! namespaces asking for another one is refused (403 `forbidden_namespace`); a malformed name
//! is 400 `invalid_namespace`. The request's endpoint then gets the engine rebound to that
//! namespace ([`Engine::in_namespace`], no I/O) as an `Extension<Engine>`, and the principal
//! with [`Principal::namespace`] set.

use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sayiir::Engine;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::guard::cookie;

/// The header naming a request's namespace.
pub const NAMESPACE_HEADER: &str = "sayiir-namespace";
/// The dashboard's cookie holding the namespace chosen in its selector.
pub const NAMESPACE_COOKIE: &str = "sayiir_ns";
/// The query parameter naming a request's namespace.
const PARAM: &str = "namespace";

/// The namespace a request without a choice acts in.
pub(crate) fn default_for(principal: &Principal, engine: &Engine) -> String {
    if principal.sees(engine.namespace()) {
        return engine.namespace().to_owned();
    }
    principal
        .namespaces
        .as_ref()
        .and_then(|list| list.first().cloned())
        .unwrap_or_else(|| engine.namespace().to_owned())
}

/// `uri` without the `namespace` query parameter, and that parameter's value.
fn take_param(uri: &Uri) -> (Option<Uri>, Option<String>) {
    let Some(query) = uri.query() else {
        return (None, None);
    };
    let mut found = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == PARAM {
            found = Some(v.into_owned());
        } else {
            rest.append_pair(&k, &v);
        }
    }
    if found.is_none() {
        return (None, None);
    }
    let rest = rest.finish();
    let path_and_query = if rest.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{rest}", uri.path())
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    (Uri::from_parts(parts).ok(), found)
}

fn forbidden(principal: &Principal, name: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden_namespace",
        format!(
            "the token `{}` is not bound to the namespace `{name}`",
            principal.name
        ),
    )
}

/// The engine of the namespace `name` for `principal`: 403 when the token may not see it, 400
/// when the name is malformed.
pub(crate) fn scoped(
    engine: &Engine,
    principal: &Principal,
    name: &str,
) -> Result<Engine, ApiError> {
    if !principal.sees(name) {
        return Err(forbidden(principal, name));
    }
    engine.in_namespace(name).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_namespace",
            format!("`{name}` is not a namespace name: {e}"),
        )
    })
}

/// The layer: finds the request's namespace, rebinds the engine to it.
pub(crate) async fn scope(State(engine): State<Engine>, mut req: Request, next: Next) -> Response {
    // The authentication layer runs first; a request without a principal is one of its own
    // pages (login), which has no namespace.
    let Some(mut principal) = req.extensions().get::<Principal>().cloned() else {
        return next.run(req).await;
    };
    let header = req
        .headers()
        .get(NAMESPACE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (stripped, param) = take_param(req.uri());
    if let Some(uri) = stripped {
        *req.uri_mut() = uri;
    }
    let asked = header.or(param);
    let name = match asked {
        Some(name) => name,
        None => cookie(req.headers(), NAMESPACE_COOKIE)
            .map(str::to_owned)
            // A stale choice (the token lost that namespace) falls back to the default.
            .filter(|n| principal.sees(n) && sayiir::store::Namespace::new(n).is_ok())
            .unwrap_or_else(|| default_for(&principal, &engine)),
    };
    let engine = match scoped(&engine, &principal, &name) {
        Ok(e) => e,
        Err(e) => return e.into_response(),
    };
    principal.namespace = engine.namespace().to_owned();
    req.extensions_mut().insert(principal);
    req.extensions_mut().insert(engine);
    next.run(req).await
}
