//! JSON in and out without axum's `json` and `query` features (they would add
//! serde_path_to_error and serde_urlencoded): bodies through serde_json, query strings
//! through form_urlencoded.

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `value` as a JSON response of `status`.
pub(crate) fn with_status<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "application/json")],
            format!(
                r#"{{"error":{{"kind":"internal","message":"cannot encode the response: {}"}}}}"#,
                e.to_string().replace(['"', '\\'], "'")
            ),
        )
            .into_response(),
    }
}

/// `value` as a 200 JSON response.
pub(crate) fn ok<T: Serialize + ?Sized>(value: &T) -> Response {
    with_status(StatusCode::OK, value)
}

/// A JSON body as `T`; an empty body as `T::default()`.
pub(crate) fn body<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!("the body is not valid JSON for this endpoint: {e}"))
    })
}

/// The pairs of a query string, decoded.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// axum's `Path` whose rejection (a segment that is not UTF-8 once decoded) is the API's JSON
/// error body (400 `bad_request`) rather than axum's plain text.
pub(crate) struct Path<T>(pub(crate) T);

impl<T, S> axum::extract::FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(t)| Path(t))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}
