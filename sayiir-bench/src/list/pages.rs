//! The HTTP API's and the dashboard's list and stats pages over the filled store: each request
//! goes through the whole router (authentication, namespace, handler, rendering) in process
//! (`tower::ServiceExt::oneshot`, no socket), timed `reps` times; the median is reported.

use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sayiir::Engine;
use sayiir::store::Store;
use sayiir_server::{Role, Tokens};
use tower::ServiceExt;

use crate::BoxError;
use crate::baseline::quantile_ms;
use crate::figures::Row;

/// The token the timed requests carry (a viewer's: pages are reads).
const TOKEN: &str = "sy_bench-viewer-token";

/// The pages timed: a name for the figures, and the path.
const PAGES: [(&str, &str); 8] = [
    ("api_list", "/api/v1/instances"),
    ("api_list_failed", "/api/v1/instances?status=failed"),
    ("api_stats", "/api/v1/stats"),
    ("ui_list", "/ui/instances"),
    ("ui_list_failed", "/ui/instances?status=failed"),
    ("ui_list_workflow", "/ui/instances?workflow=refund"),
    ("ui_attention", "/ui/attention"),
    ("ui_versions", "/ui/versions"),
];

/// Times every page of [`PAGES`] on `store` (an engine that registers no workflow, as
/// `sayiir serve` runs); each must answer 200.
pub(super) async fn time_pages(
    store: impl Store,
    reps: usize,
    label: &str,
    row: &mut Row,
) -> Result<(), BoxError> {
    let engine = Engine::builder(store).build()?;
    let tokens = Tokens::new().with_token("bench", Role::Viewer, None, TOKEN)?;
    let app = sayiir_server::router(engine, tokens);
    for (name, path) in PAGES {
        let mut times = Vec::with_capacity(reps);
        let mut bytes = 0;
        for _ in 0..reps {
            let request = Request::get(path)
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(Body::empty())?;
            let t = Instant::now();
            let response = app.clone().oneshot(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            times.push(t.elapsed());
            if status != StatusCode::OK {
                return Err(
                    format!("GET {path}: {status}: {}", String::from_utf8_lossy(&body)).into(),
                );
            }
            bytes = body.len();
        }
        let ms = quantile_ms(&mut times, 0.5);
        eprintln!("{label}: page {path:<34} {ms:>8.3} ms ({bytes} bytes)");
        row.set(&format!("page_{name}_ms"), ms);
    }
    Ok(())
}
