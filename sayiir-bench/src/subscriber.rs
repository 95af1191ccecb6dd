//! The tracing subscriber of `--recorder traced`: what an application installs without an
//! exporter (a `tracing_subscriber` registry with an fmt layer at INFO, here writing to a sink
//! so that the figures are the engine's and the formatting's, not a terminal's).
//!
//! A global subscriber cannot be removed once set, so the process installs it once, behind a
//! level filter it can reload: off (no span or event enabled, and the callsites' cached
//! interest rebuilt, so that a disabled span costs what it costs without a subscriber) for
//! the runs without it, INFO for the runs with it.

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Registry, filter::LevelFilter, fmt, reload};

use crate::BoxError;

/// The installed subscriber's switch.
pub(crate) struct Tracing(reload::Handle<LevelFilter, Registry>);

impl Tracing {
    /// Installs the subscriber, switched off.
    pub(crate) fn install() -> Result<Self, BoxError> {
        let (filter, handle) = reload::Layer::new(LevelFilter::OFF);
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt::layer().with_writer(std::io::sink))
            .try_init()?;
        Ok(Self(handle))
    }

    /// Switches it on (INFO) or off.
    pub(crate) fn set(&self, on: bool) -> Result<(), BoxError> {
        let level = if on {
            LevelFilter::INFO
        } else {
            LevelFilter::OFF
        };
        self.0.reload(level)?;
        Ok(())
    }
}
