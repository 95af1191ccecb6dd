//! The schedule actions that change more than a schedule's state: delete and backfill.

use std::time::SystemTime;

use axum::Extension;
use axum::body::Bytes;
use axum::response::Response;
use sayiir::Engine;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Action};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::json::{self, Path};

/// `DELETE /api/v1/schedules/{id}`: `{"deleted": id}` (as `sayiir schedules delete --json`).
/// The instances the schedule started are kept.
pub(crate) async fn delete(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let result = async {
        who.require(Role::Operator)?;
        engine.delete_schedule(&id).await?;
        Ok(json::ok(&serde_json::json!({ "deleted": id })))
    }
    .await;
    audit::record(&engine, &who, Action::new("delete_schedule", &id), result).await
}

/// The body of `backfill`: the range, RFC 3339 times, both included.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BackfillBody {
    from: Option<String>,
    to: Option<String>,
}

/// What `backfill` answers (as `sayiir schedules backfill --json`).
#[derive(Serialize)]
struct Backfilled<'a> {
    started: Vec<&'a str>,
    existing: Vec<&'a str>,
}

/// `text`, an RFC 3339 time named `name` in the body, as a system time; 400 otherwise.
fn time(name: &str, text: Option<String>) -> Result<SystemTime, ApiError> {
    let text = text.ok_or_else(|| {
        ApiError::bad_request(format!("the body needs `{name}`, an RFC 3339 time"))
    })?;
    let at: jiff::Timestamp = text.parse().map_err(|e| {
        ApiError::bad_request(format!("`{name}` is not an RFC 3339 time (`{text}`): {e}"))
    })?;
    Ok(SystemTime::from(at))
}

/// `POST /api/v1/schedules/{id}/backfill`, body `{"from": "...", "to": "..."}`: starts the
/// runs of the range's ticks that have none (`Engine::backfill`); `{"started": [ids],
/// "existing": [ids]}`. The serving engine must run the schedule's workflow (422
/// `bad_schedule` otherwise, as from `sayiir serve` without the application's code).
pub(crate) async fn backfill(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut detail = None;
    let result = async {
        who.require(Role::Operator)?;
        let body: BackfillBody = json::body(&body)?;
        detail = Some(format!(
            "{} to {}",
            body.from.as_deref().unwrap_or("?"),
            body.to.as_deref().unwrap_or("?")
        ));
        let (from, to) = (time("from", body.from)?, time("to", body.to)?);
        let done = engine.backfill(&id, from, to).await?;
        Ok(json::ok(&Backfilled {
            started: done.started.iter().map(|i| i.as_str()).collect(),
            existing: done.existing.iter().map(|i| i.as_str()).collect(),
        }))
    }
    .await;
    audit::record(
        &engine,
        &who,
        Action::new("backfill_schedule", &id).detail(detail),
        result,
    )
    .await
}
