//! The sayiir HTTP API: JSON endpoints for what the admin API does, as an [`axum::Router`].
//!
//! Two ways to run it:
//!
//! - **embedded**, in an application's own axum service, with its engine (its workflows
//!   registered: `describe` decodes their state with their types, `signal` checks payloads
//!   against them):
//!
//!   ```no_run
//!   # async fn app(engine: sayiir::Engine) -> Result<(), sayiir_server::TokenError> {
//!   use sayiir_server::Tokens;
//!   let tokens = Tokens::load("tokens.json".as_ref())?;
//!   let app = axum::Router::new().nest("/sayiir", sayiir_server::router(engine, tokens));
//!   # let _ = app;
//!   # Ok(())
//!   # }
//!   ```
//!
//! - **standalone**: `sayiir serve --store URL --listen ADDR --tokens FILE` (the command
//!   line), with an engine that registers no workflow (read-mostly: what needs the workflows'
//!   types fails with an error that says so).
//!
//! Every request is authenticated ([`Tokens`]: `Authorization: Bearer <token>`, or the
//! dashboard's session cookie opened at `/ui/login`, whose actions need its CSRF token) and
//! its role checked ([`Role`]: reads are `viewer`, actions `operator`, the audit log
//! `admin`); every action is recorded in the store's audit log, done or refused.
//!
//! Endpoints (under the path the router is nested at; see `docs/server.md`):
//!
//! | method and path | what |
//! |---|---|
//! | `GET /api/v1/instances?workflow=&version=&state=&status=&blocked=&needs_attention=&id_prefix=&after=&limit=` | a page of instances; `next` is the `after` of the next page |
//! | `GET /api/v1/stats` | instances by workflow and status, the backlog, the workers |
//! | `GET /api/v1/instances/{id}` | one instance in full |
//! | `GET /api/v1/instances/{id}/history` | its committed transitions |
//! | `POST /api/v1/instances/{id}/signal/{name}` | a signal, the body its JSON payload |
//! | `POST /api/v1/instances/{id}/cancel` | body `{"reason": "..."}` (optional) |
//! | `POST /api/v1/instances/{id}/pause`, `resume`, `retry`, `fail` | operator's actions |
//! | `GET /api/v1/versions` | instances of each definition by status |
//! | `GET /api/v1/schedules`, `GET /api/v1/schedules/{id}` | schedules |
//! | `POST /api/v1/schedules/{id}/pause`, `resume` | the schedule after |
//! | `DELETE /api/v1/schedules/{id}` | `{"deleted": id}` (its instances are kept) |
//! | `POST /api/v1/schedules/{id}/backfill` | body `{"from", "to"}` (RFC 3339): the runs of the range's ticks |
//! | `GET /api/v1/limits` | `{concurrency, rates}` |
//! | `GET /api/v1/workers` | the workers recorded in the store |
//! | `GET /api/v1/leases?limit=` | the instances workers hold a live lease on, by worker |
//! | `GET /api/v1/audit?after=&limit=` | the audit log, newest first (admin) |
//! | `GET /api/v1/me` | the request's principal and its session's CSRF token |
//! | `GET /ui/login`, `POST /ui/login`, `POST /ui/logout` | the dashboard's session |
//!
//! The dashboard, HTML pages over the same engine calls, is under `/ui` (`GET /ui/instances`,
//! `/ui/instances/{id}`, `/ui/workflows/{name}`, `/ui/attention`, `/ui/versions`,
//! `/ui/workers`, `/ui/schedules`, `/ui/limits`; see `docs/dashboard.md`). Its routes take the
//! request's [`Principal`] from the request's extensions (the authentication layer's).
//!
//! The JSON is what `sayiir … --json` prints. Errors are
//! `{"error": {"kind": "...", "message": "..."}}` ([`ApiError`]): 401 `unauthorized` without
//! a valid token, 403 `forbidden` for a role that may not, 403 `csrf` for a session's request
//! without its CSRF token, 400 for a malformed id or query, 404 for an unknown instance or
//! schedule, 409 for an action the instance's status refuses, 422 for a payload of the wrong
//! type, 503 when the store is unreachable, 500 otherwise.

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use sayiir::Engine;

mod audit;
mod auth;
mod error;
mod guard;
mod instances;
mod json;
mod login;
mod namespace;
mod overview;
mod schedules;
mod tokens;
mod ui;
mod views;

pub use auth::{Principal, Role};
pub use error::ApiError;
pub use guard::{SESSION_COOKIE, SESSION_TTL};
pub use namespace::{NAMESPACE_COOKIE, NAMESPACE_HEADER};
pub use tokens::{TOKEN_PREFIX, TokenEntry, TokenError, Tokens};

/// The API's routes, with `engine` as their state, behind the authentication of `tokens`
/// (every request needs one of them, or a dashboard session opened with one): nest it under a
/// path of the application's router
/// (`Router::new().nest("/sayiir", sayiir_server::router(engine, tokens))`), or serve it alone.
pub fn router(engine: Engine, tokens: Tokens) -> Router {
    guarded(routes(engine), tokens)
}

/// The authentication layer over `routes`, and the login and logout of the dashboard.
fn guarded(routes: Router, tokens: Tokens) -> Router {
    let auth = guard::Auth::new(tokens);
    let login: Router = Router::new()
        .route("/ui/login", get(login::form).post(login::login))
        .route("/ui/logout", post(login::logout))
        .with_state(auth.clone());
    routes
        .merge(login)
        .layer(axum::middleware::from_fn_with_state(auth, guard::guard))
}

fn routes(engine: Engine) -> Router {
    Router::new()
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/me", get(login::me))
        .route("/api/v1/instances", get(instances::list))
        .route("/api/v1/instances/{id}", get(instances::describe))
        .route("/api/v1/instances/{id}/history", get(instances::history))
        .route(
            "/api/v1/instances/{id}/signal/{name}",
            post(instances::signal),
        )
        .route("/api/v1/instances/{id}/cancel", post(instances::cancel))
        .route("/api/v1/instances/{id}/pause", post(instances::pause))
        .route("/api/v1/instances/{id}/resume", post(instances::resume))
        .route("/api/v1/instances/{id}/retry", post(instances::retry))
        .route("/api/v1/instances/{id}/fail", post(instances::fail))
        .route("/api/v1/stats", get(overview::stats))
        .route("/api/v1/versions", get(overview::versions))
        .route("/api/v1/limits", get(overview::limits))
        .route("/api/v1/workers", get(overview::workers))
        .route("/api/v1/leases", get(overview::leases))
        .route("/api/v1/schedules", get(overview::schedules))
        .route(
            "/api/v1/schedules/{id}",
            get(overview::schedule).delete(schedules::delete),
        )
        .route("/api/v1/schedules/{id}/backfill", post(schedules::backfill))
        .route(
            "/api/v1/schedules/{id}/pause",
            post(overview::pause_schedule),
        )
        .route(
            "/api/v1/schedules/{id}/resume",
            post(overview::resume_schedule),
        )
        .merge(ui::routes())
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method (reads are GET, actions POST)",
            )
            .into_response()
        })
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_route",
                "no such endpoint; the API is under /api/v1",
            )
            .into_response()
        })
        // Runs after the authentication layer (an outer layer): the principal is known.
        .layer(axum::middleware::from_fn_with_state(
            engine.clone(),
            namespace::scope,
        ))
        .with_state(engine)
}

/// [`router`] with `GET /metrics`: `handle`'s text, in the Prometheus text format (the
/// facade's [`install_prometheus`](sayiir::metrics::install_prometheus) gives the handle).
#[cfg(feature = "prometheus")]
pub fn router_with_metrics(
    engine: Engine,
    tokens: Tokens,
    handle: sayiir::metrics::PrometheusHandle,
) -> Router {
    use axum::Extension;
    use axum::http::header;
    let routes = routes(engine).route(
        "/metrics",
        get(move |Extension(who): Extension<Principal>| {
            let text = handle.render();
            async move {
                who.require(Role::Viewer)?;
                Ok::<_, ApiError>((
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    text,
                ))
            }
        }),
    );
    guarded(routes, tokens)
}
