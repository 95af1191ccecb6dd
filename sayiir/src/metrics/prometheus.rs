//! The Prometheus recorder with sayiir's buckets, and the `/metrics` endpoint: an axum router
//! an application merges into its own, or serves alone with [`serve_prometheus`].

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{
    BuildError, Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::task::JoinHandle;

use super::names;

/// Buckets of the durations, in seconds: from half a millisecond (a step on SQLite) to a
/// minute (a slow task).
const SECONDS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// Buckets of the batch sizes (the default `max_commit_batch` is 512).
const SIZES: [f64; 11] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// How often the recorder drains its histograms' samples into their buckets.
const UPKEEP: Duration = Duration::from_secs(5);

/// Why the Prometheus recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrometheusError {
    /// The recorder could not be built or installed (a global recorder is already installed).
    #[error("cannot install the Prometheus recorder: {0}")]
    Build(#[from] BuildError),
    /// The thread that drains the histograms could not be started.
    #[error("cannot start the Prometheus recorder's upkeep thread: {0}")]
    Upkeep(std::io::Error),
}

/// A [`PrometheusBuilder`] with sayiir's histogram buckets (durations in seconds, batch
/// sizes), to add the application's own settings to before installing it; remember to call
/// [`PrometheusHandle::run_upkeep`] periodically, as [`install_prometheus`] does.
pub fn prometheus_builder() -> Result<PrometheusBuilder, PrometheusError> {
    Ok(PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS)?
        .set_buckets_for_metric(Matcher::Full(names::COMMIT_BATCH_SIZE.into()), &SIZES)?
        .set_buckets_for_metric(Matcher::Full(names::START_BATCH_SIZE.into()), &SIZES)?)
}

/// Installs the Prometheus recorder (from [`prometheus_recorder`]) as the process's global
/// recorder and describes sayiir's metrics to it. Returns its handle: `handle.render()` is
/// the text a scrape reads (see [`serve_prometheus`]). Call it once per process, before
/// building the engine; a second call fails (a global recorder is already installed).
pub fn install_prometheus() -> Result<PrometheusHandle, PrometheusError> {
    let (recorder, handle) = prometheus_recorder()?;
    ::metrics::set_global_recorder(recorder).map_err(|e| PrometheusError::Build(e.into()))?;
    super::describe();
    Ok(handle)
}

/// The Prometheus recorder (from [`prometheus_builder`]), not installed, and its handle; its
/// histograms are drained every 5 s on a thread of its own, for as long as the process runs.
/// For an engine of its own, build the engine inside
/// `metrics::with_local_recorder(&recorder, || builder.build())`: its metrics go to this
/// recorder whatever the global one is (`sayiir-bench --recorder` does so).
pub fn prometheus_recorder() -> Result<(PrometheusRecorder, PrometheusHandle), PrometheusError> {
    let recorder = prometheus_builder()?.build_recorder();
    let handle = recorder.handle();
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("sayiir-metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP);
                upkeep.run_upkeep();
            }
        })
        .map_err(PrometheusError::Upkeep)?;
    Ok((recorder, handle))
}

/// The content type of the Prometheus text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// An axum router answering `GET /metrics` with `handle`'s text (the Prometheus text format);
/// other methods on `/metrics` get 405, other paths 404. Merge it into an application's own
/// router (`app.merge(prometheus_router(handle))`, axum 0.8), or serve it alone with
/// [`serve_prometheus`].
pub fn prometheus_router(handle: PrometheusHandle) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let text = handle.render();
                async move { ([(header::CONTENT_TYPE, TEXT_FORMAT)], text) }
            }),
        )
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "not found; metrics are at /metrics\n",
            )
                .into_response()
        })
}

/// The `/metrics` endpoint [`serve_prometheus`] started. Dropping it leaves it serving; call
/// [`PrometheusEndpoint::stop`] to stop it.
#[derive(Debug)]
pub struct PrometheusEndpoint {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl PrometheusEndpoint {
    /// The address it listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving: the listener closes, requests in progress are cut off.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Serves [`prometheus_router`] on `addr` (HTTP/1.1) in a tokio task, until
/// [`PrometheusEndpoint::stop`]. Fails only when `addr` cannot be bound.
pub async fn serve_prometheus(
    addr: impl ToSocketAddrs,
    handle: PrometheusHandle,
) -> std::io::Result<PrometheusEndpoint> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = prometheus_router(handle);
    let task = tokio::spawn(async move {
        // axum's `serve` retries failed accepts itself; it returns only if the listener is
        // gone, which ends the endpoint.
        let _ = axum::serve(listener, app).await;
    });
    Ok(PrometheusEndpoint { addr, task })
}
