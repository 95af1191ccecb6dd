//! The usage of flow-control limits, for operators and dashboards.

use sayiir_store::LimitUsage;
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

impl Engine {
    /// Every concurrency limit used on this store, ordered by key, with the slots in use and
    /// what waits for one now: tasks' limits (a limit appears once some attempt asked for one
    /// of its slots; holders whose lease has expired, a dead worker's, are not counted) and
    /// the admission gates of workflow types and concurrency keys (a gate appears once an
    /// instance was started with it; its slots are held by admitted unfinished instances,
    /// whatever their workers).
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
