//! The sayiir HTTP API: JSON endpoints for what the admin API does, as an [`axum::Router`].
//!
//! Two ways to run it:
//!
//! - **embedded**, in an application's own axum service, with its engine (its workflows
//!   registered: `describe` decodes their state with their types, `signal` checks payloads
//!   against them):
//!
//!   ```no_run
//!   # async fn app(engine: sayiir::Engine) {
//!   let app = axum::Router::new().nest("/sayiir", sayiir_server::router(engine));
//!   # let _ = app;
//!   # }
//!   ```
//!
//! - **standalone**: `sayiir serve --store URL --listen ADDR` (the command line), with an
//!   engine that registers no workflow (read-mostly: what needs the workflows' types fails
//!   with an error that says so).
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
//! | `GET /api/v1/limits` | `{concurrency, rates}` |
//! | `GET /api/v1/workers` | the workers recorded in the store |
//!
//! The dashboard, HTML pages over the same engine calls, is under `/ui` (`GET /ui/instances`,
//! `/ui/instances/{id}`, `/ui/workflows/{name}`, `/ui/attention`, `/ui/versions`,
//! `/ui/workers`, `/ui/schedules`, `/ui/limits`; see `docs/dashboard.md`). Its routes take the
//! request's [`Principal`] from the request's extensions (the authentication layer's).
//!
//! The JSON is what `sayiir … --json` prints. Errors are
//! `{"error": {"kind": "...", "message": "..."}}` ([`ApiError`]): 400 for a malformed id or
//! query, 404 for an unknown instance or schedule, 409 for an action the instance's status
//! refuses, 422 for a payload of the wrong type, 503 when the store is unreachable, 500
//! otherwise.

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use sayiir::Engine;

mod auth;
mod error;
mod instances;
mod json;
mod overview;
mod ui;
mod views;

pub use auth::{Principal, Role};
pub use error::ApiError;

/// The API's routes, with `engine` as their state: nest it under a path of the application's
/// router (`Router::new().nest("/sayiir", sayiir_server::router(engine))`), or serve it alone.
pub fn router(engine: Engine) -> Router {
    Router::new()
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
        .route("/api/v1/schedules", get(overview::schedules))
        .route("/api/v1/schedules/{id}", get(overview::schedule))
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
        .with_state(engine)
}

/// [`router`] with `GET /metrics`: `handle`'s text, in the Prometheus text format (the
/// facade's [`install_prometheus`](sayiir::metrics::install_prometheus) gives the handle).
#[cfg(feature = "prometheus")]
pub fn router_with_metrics(engine: Engine, handle: sayiir::metrics::PrometheusHandle) -> Router {
    use axum::http::header;
    router(engine).route(
        "/metrics",
        get(move || {
            let text = handle.render();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    text,
                )
            }
        }),
    )
}
