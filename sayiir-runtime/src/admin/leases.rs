//! The live leases of the namespace: which worker runs which instance right now.

use std::num::NonZeroUsize;

use sayiir_store::LeaseInfo;
use tracing::Instrument;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::trace_context::store_span;

impl Engine {
    /// The running instances of this engine's namespace that a worker holds a live lease on
    /// now (by the engine's clock), ordered by worker then instance id: at most `limit` of
    /// them. A worker holds a lease while it runs a step of the instance (its task included);
    /// an instance sleeping or waiting for a signal is not leased.
    pub async fn leases(&self, limit: NonZeroUsize) -> Result<Vec<LeaseInfo>, EngineError> {
        let now = self.inner.now();
        Ok(self
            .inner
            .store
            .leases(now, limit)
            .instrument(store_span!("leases"))
            .await?)
    }
}
