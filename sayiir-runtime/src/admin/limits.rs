//! The usage of flow-control limits, for operators and dashboards.

use std::time::Duration;

use sayiir_store::{LimitUsage, RateUsage, Timestamp};
use serde::Serialize;
use tracing::Instrument;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::trace_context::store_span;

/// One concurrency limit and its current usage, as [`Engine::limits`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LimitInfo {
    /// What the limit counts: `task:<name>` for `#[task(concurrency = N)]`,
    /// `workflow:<name>` for `#[workflow(concurrency = N)]`, `key:<key>` for the instances
    /// started with `StartOptions::concurrency_key`.
    pub key: String,
    /// At most this many slots at once (as last asked: by the last worker that asked for a
    /// task's slot, by the last start of a workflow type or key).
    pub limit: u32,
    /// Slots held now: by live task attempts (a task's limit), by admitted unfinished
    /// instances (a workflow type's or key's), across all workers sharing the store.
    pub in_use: u64,
    /// Waiting for a slot: attempts refused one (their instance is held by a live worker
    /// that asks again), or instances waiting for admission (a workflow type's or key's).
    pub waiting: u64,
}

impl From<LimitUsage> for LimitInfo {
    fn from(u: LimitUsage) -> Self {
        Self {
            key: u.key,
            limit: u.limit,
            in_use: u.in_use,
            waiting: u.waiting,
        }
    }
}

/// One rate limit and its current usage, as [`Engine::rate_limits`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RateInfo {
    /// What the limit counts: `task:<name>` for `#[task(rate = "…")]`.
    pub key: String,
    /// The time between two starts past the burst (1/100 s for `"100/s"`), as last asked.
    pub interval: Duration,
    /// How many starts may fall at the same instant, as last asked.
    pub burst: u32,
    /// Of the burst, the starts in use now (a new attempt starts at once while this is below
    /// `burst`).
    pub in_use: u64,
    /// Starts reserved for later: attempts waiting for their turn (an attempt that ended
    /// without using its reservation still holds its turn until then).
    pub waiting: u64,
}

impl RateInfo {
    fn at(u: &RateUsage, now: Timestamp) -> Self {
        Self {
            key: u.key.clone(),
            interval: Duration::from_micros(u.interval_us),
            burst: u.burst,
            in_use: u.in_use(now),
            waiting: u.waiting(now),
        }
    }
}

impl Engine {
    /// Every rate limit a start was reserved of on this store, ordered by key, with its use
    /// now: the starts of its burst in use and the starts reserved for later (waiting). A
    /// rate limit appears once an attempt asked for a start.
    pub async fn rate_limits(&self) -> Result<Vec<RateInfo>, EngineError> {
        let now = self.inner.now();
        let usage = self
            .inner
            .store
            .rate_usage()
            .instrument(store_span!("rate_usage"))
            .await?;
        Ok(usage.iter().map(|u| RateInfo::at(u, now)).collect())
    }

    /// Every concurrency limit used on this store, ordered by key, with the slots in use and
    /// what waits for one now: tasks' limits (a limit appears once some attempt asked for one
    /// of its slots; holders whose lease has expired, a dead worker's, are not counted) and
    /// the admission gates of workflow types and concurrency keys (a gate appears once an
    /// instance was started with it; its slots are held by admitted unfinished instances,
    /// whatever their workers). Rate limits are listed by
    /// [`Engine::rate_limits`].
    pub async fn limits(&self) -> Result<Vec<LimitInfo>, EngineError> {
        let now = self.inner.now();
        let usage = self
            .inner
            .store
            .limit_usage(now)
            .instrument(store_span!("limit_usage"))
            .await?;
        Ok(usage.into_iter().map(LimitInfo::from).collect())
    }
}
