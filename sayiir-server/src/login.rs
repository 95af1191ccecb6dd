//! The dashboard's login and logout: `GET /ui/login` (a form where the user pastes a token),
//! `POST /ui/login` (a session: an HttpOnly, SameSite=Strict cookie) and `POST /ui/logout`.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::auth::Principal;
use crate::error::ApiError;
use maud::{DOCTYPE, html};

use crate::guard::{Auth, SESSION_COOKIE, SESSION_TTL, cookie, cross_site};

/// The login page (relative links: it is at `<root>ui/login`), with `message` above the form.
fn page(status: StatusCode, message: Option<&str>) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in · sayiir" }
                link rel="stylesheet" href="assets/style.css";
            }
            body.login {
                main {
                    div.card.login {
                        h1 { span.logo { "◆" } " sayiir" }
                        @if let Some(m) = message { p.error { (m) } }
                        form method="post" action="login" {
                            label {
                                "Token "
                                input type="password" name="token" autocomplete="off" required;
                            }
                            button type="submit" { "Sign in" }
                        }
                        p.muted { "Paste an API token (sayiir token new). Its role decides what \
                            you may do here." }
                    }
                }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// `GET /ui/login`.
pub(crate) async fn form() -> Response {
    page(StatusCode::OK, None)
}

/// `POST /ui/login`, form field `token`: a session and a redirect to the dashboard (`./`).
pub(crate) async fn login(
    State(auth): State<Arc<Auth>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if cross_site(&headers) {
        return Ok(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "a login from another site is refused",
        )
        .into_response());
    }
    let token = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let Some(principal) = auth.tokens().authenticate(&token) else {
        return Ok(page(StatusCode::UNAUTHORIZED, Some("unknown token")));
    };
    let id = auth.open(principal)?;
    let cookie = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_TTL.as_secs()
    );
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, "./".into()),
        ],
    )
        .into_response())
}

/// `POST /ui/logout` (a session's request, with its CSRF token): ends the session.
pub(crate) async fn logout(
    State(auth): State<Arc<Auth>>,
    Extension(_principal): Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        auth.close(id);
    }
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, clear),
            (header::LOCATION, "login".into()),
        ],
    )
        .into_response()
}

/// `GET /api/v1/me`: the request's principal (`name`, `role`, `namespaces` (null: every
/// one), `namespace` (the one this request acts in), and `csrf`, the token a session's
/// scripts send back in `X-CSRF-Token`; empty for a bearer request).
pub(crate) async fn me(Extension(who): Extension<Principal>) -> Response {
    crate::json::ok(&serde_json::json!({
        "name": who.name,
        "role": who.role.name(),
        "namespaces": who.namespaces,
        "namespace": who.namespace,
        "csrf": who.csrf,
    }))
}
