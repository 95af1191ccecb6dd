//! The audit log of operators' actions: what the HTTP API records of every action it is asked
//! for (who, what, when, on which instances, how it ended), for administrators to read.

use std::num::NonZeroUsize;

use sayiir_store::{AuditEntry, AuditQuery, NewAuditEntry};
use tracing::Instrument;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::trace_context::store_span;

impl Engine {
    /// Appends `entry` to the store's audit log; its id.
    pub async fn record_audit(&self, entry: NewAuditEntry) -> Result<u64, EngineError> {
        Ok(self
            .inner
            .store
            .append_audit(entry)
            .instrument(store_span!("append_audit"))
            .await?)
    }

    /// A page of the audit log, newest first: at most `limit` entries with an id below
    /// `before` (the id of the last entry of the previous page; `None`: the newest).
    pub async fn audit(
        &self,
        before: Option<u64>,
        limit: NonZeroUsize,
    ) -> Result<Vec<AuditEntry>, EngineError> {
        Ok(self
            .inner
            .store
            .audit(AuditQuery { before, limit })
            .instrument(store_span!("audit"))
            .await?)
    }
}
