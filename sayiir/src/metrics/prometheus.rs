//! The Prometheus recorder with sayiir's buckets, and a minimal `/metrics` endpoint: HTTP/1.1,
//! one request per connection, no dependency beyond tokio's sockets (an HTTP server crate
//! would bring hyper and more for one route).

use std::net::SocketAddr;
use std::time::Duration;

use metrics_exporter_prometheus::{
    BuildError, Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
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

    /// Stops accepting connections.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Serves `handle`'s text (the Prometheus text format) at `GET /metrics` on `addr`, in a
/// tokio task. Any other path is 404, any other method 405. Requests are read for at most
/// 5 s and 8 KiB each.
pub async fn serve_prometheus(
    addr: impl ToSocketAddrs,
    handle: PrometheusHandle,
) -> std::io::Result<PrometheusEndpoint> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let handle = handle.clone();
                    tokio::spawn(async move {
                        if let Err(e) = answer(stream, &handle).await {
                            tracing::debug!(error = %e, "metrics request failed");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics endpoint cannot accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(PrometheusEndpoint { addr, task })
}

/// Most bytes read of a request's head.
const MAX_HEAD: usize = 8 * 1024;

async fn answer(mut stream: TcpStream, handle: &PrometheusHandle) -> std::io::Result<()> {
    let head = tokio::time::timeout(Duration::from_secs(5), read_head(&mut stream))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "request too slow"))??;
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", handle.render()),
        ("GET", _) => (
            "404 Not Found",
            "not found; metrics are at /metrics\n".to_owned(),
        ),
        _ => ("405 Method Not Allowed", "use GET /metrics\n".to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// The request's head, up to the blank line (or [`MAX_HEAD`] bytes, or the end of the stream).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while buf.len() < MAX_HEAD && !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
