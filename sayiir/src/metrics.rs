//! Metrics. sayiir records through the [`metrics`](https://docs.rs/metrics) facade: the
//! application installs the recorder it wants (with none, recording costs a check per metric)
//! and sayiir's metrics go wherever that recorder sends them. [`names`] lists every metric
//! with its type, unit and labels; [`describe`] tells a recorder installed after the engine
//! was built their units and meanings.
//!
//! Install the recorder **before building the engine**: the engine registers its metrics when
//! it is built, and a metric registered with no recorder stays unrecorded.
//!
//! With the `prometheus` feature, [`install_prometheus`] installs the Prometheus recorder
//! (histogram buckets chosen for sayiir's metrics) and [`serve_prometheus`] serves its text
//! at `GET /metrics`:
//!
//! ```no_run
//! # #[cfg(feature = "prometheus")]
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let handle = sayiir::metrics::install_prometheus()?;
//! let endpoint = sayiir::metrics::serve_prometheus("0.0.0.0:9100", handle).await?;
//! println!("metrics at http://{}/metrics", endpoint.local_addr());
//! // … build the engine, spawn workers …
//! # Ok(())
//! # }
//! ```
//!
//! An application that already runs an axum server merges [`prometheus_router`] into its own
//! router; with another HTTP stack it serves `handle.render()` itself.

pub use sayiir_runtime::metrics::{Metrics, describe, names};

#[cfg(feature = "prometheus")]
mod prometheus;

#[cfg(feature = "prometheus")]
pub use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
#[cfg(feature = "prometheus")]
pub use prometheus::{
    PrometheusEndpoint, PrometheusError, install_prometheus, prometheus_builder,
    prometheus_recorder, prometheus_router, serve_prometheus,
};
