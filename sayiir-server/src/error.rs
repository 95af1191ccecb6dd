//! The one error body of the API, `{"error": {"kind": "...", "message": "..."}}`, and the
//! HTTP status each failure gives.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sayiir::EngineError;
use sayiir::schedule::ScheduleError;
use sayiir::store::{InvalidId, StoreError};
use serde::Serialize;

/// An error of an endpoint: its status, a stable kind (`not_found`, `bad_payload`, ...) and
/// the message of the typed error it comes from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What kind of failure, in `snake_case` (stable; clients branch on it).
    pub kind: &'static str,
    /// The message, for people.
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    kind: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error of `status` and `kind`.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
        }
    }

    /// 400: a request that does not parse (a query parameter, a body that is not JSON).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 400: a malformed instance id.
    pub(crate) fn invalid_id(given: &str, reason: &InvalidId) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("`{given}` is not a valid instance id: {reason}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                kind: self.kind,
                message: &self.message,
            },
        };
        crate::json::with_status(self.status, &body)
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let (status, kind) = engine_status(&e);
        Self::new(status, kind, e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let (status, kind) = store_status(&e);
        Self::new(status, kind, e.to_string())
    }
}

fn engine_status(e: &EngineError) -> (StatusCode, &'static str) {
    match e {
        EngineError::InvalidId(_) => (StatusCode::BAD_REQUEST, "invalid_id"),
        EngineError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
        EngineError::UnknownSignal { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_signal"),
        EngineError::SignalType { .. } | EngineError::BadPayload { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "bad_payload")
        }
        EngineError::WrongWorkflow { .. }
        | EngineError::NotRegistered { .. }
        | EngineError::UnknownWorkflow { .. }
        | EngineError::WrongInput { .. }
        | EngineError::InputChanged { .. }
        | EngineError::BadStartOptions { .. }
        | EngineError::Encode { .. }
        | EngineError::TooLarge { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "bad_input"),
        // Nothing to check a payload against: this engine lacks the workflow's types (the
        // standalone server registers none).
        EngineError::UnknownDefinition { .. } => (StatusCode::CONFLICT, "unknown_definition"),
        EngineError::Finished { .. } => (StatusCode::CONFLICT, "finished"),
        EngineError::NotPaused { .. } => (StatusCode::CONFLICT, "not_paused"),
        EngineError::NotAllowed { .. } => (StatusCode::CONFLICT, "not_allowed"),
        EngineError::Cancelled { .. } => (StatusCode::CONFLICT, "cancelled"),
        EngineError::Blocked { .. } => (StatusCode::CONFLICT, "blocked"),
        EngineError::VersionMismatch(_) | EngineError::WrongDefinition(_) => {
            (StatusCode::CONFLICT, "version_mismatch")
        }
        EngineError::Schedule(ScheduleError::NotFound { .. }) => {
            (StatusCode::NOT_FOUND, "not_found")
        }
        EngineError::Schedule(ScheduleError::Stored { .. }) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "schedule")
        }
        EngineError::Schedule(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_schedule"),
        EngineError::Store(s) => store_status(s),
        // Corrupt, WorkerCrashed and whatever later versions add.
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

fn store_status(e: &StoreError) -> (StatusCode, &'static str) {
    match e {
        StoreError::NotFound { .. } | StoreError::ScheduleNotFound { .. } => {
            (StatusCode::NOT_FOUND, "not_found")
        }
        StoreError::Finished { .. } => (StatusCode::CONFLICT, "finished"),
        StoreError::Paused { .. } | StoreError::BlockState { .. } => {
            (StatusCode::CONFLICT, "not_allowed")
        }
        StoreError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
        StoreError::Locked { .. }
        | StoreError::Connect { .. }
        | StoreError::Unavailable { .. }
        | StoreError::DatabaseMissing { .. }
        | StoreError::Io { .. } => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
        // SchemaTooNew, NotADatabase, Corrupt, DiskFull, InvalidData, Backend and whatever
        // later versions add.
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "store"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sayiir::InstanceId;

    #[test]
    fn statuses_follow_the_documented_table() {
        let id = InstanceId::new("x").unwrap();
        let cases: Vec<(ApiError, StatusCode, &str)> = vec![
            (
                EngineError::NotFound { id: id.clone() }.into(),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                EngineError::NotPaused { id: id.clone() }.into(),
                StatusCode::CONFLICT,
                "not_paused",
            ),
            (
                EngineError::Store(StoreError::Unavailable {
                    detail: "refused".into(),
                })
                .into(),
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
            ),
        ];
        for (e, status, kind) in cases {
            assert_eq!((e.status, e.kind), (status, kind), "{e}");
        }
    }
}
