//! A store that delegates every call to another and lets a test watch or fail some of them.

#![allow(dead_code)]

use std::sync::Arc;

use sayiir::store::{
    Backlog, BlockChange, Blocked, Claim, ClaimRequest, Claimed, CommitResult, CreateResult,
    Created, DefinitionRecord, HistoryEntry, InstanceId, InstanceRecord, InstanceSummary,
    ListQuery, Listing, NewInstance, NewSignal, Restart, SignalRecord, Store, StoreError,
    Timestamp, Transition, VersionCount, WorkerId, WorkerRecord, WorkflowKey,
};

/// What a test watches. Every hook defaults to doing nothing.
pub(crate) trait Hooks: Send + Sync + 'static {
    /// Runs before every `claim` call (it may panic, as a store bug would).
    fn before_claim(&self) {}
    /// Sees the outcome of every `claim` call.
    fn claimed(&self, _outcome: &Result<Vec<Claimed>, StoreError>) {}
    /// Runs before every `renew` call; an error is returned instead of renewing.
    fn before_renew(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Runs before every `signals` call; an error is returned instead of reading.
    fn before_signals(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// `inner`, with `hooks` on some calls.
pub(crate) struct Hooked<H> {
    pub(crate) inner: Arc<dyn Store>,
    pub(crate) hooks: H,
}

#[async_trait::async_trait]
impl<H: Hooks> Store for Hooked<H> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    fn namespace(&self) -> &sayiir_store::Namespace {
        self.inner.namespace()
    }
    fn in_namespace(&self, _: &sayiir_store::Namespace) -> Result<Arc<dyn Store>, StoreError> {
        Err(StoreError::Backend {
            detail: "the hooked test store has no namespaces".into(),
        })
    }
    async fn create(&self, n: NewInstance) -> Result<Created, StoreError> {
        self.inner.create(n).await
    }
    async fn create_batch(&self, n: Vec<NewInstance>) -> Result<Vec<CreateResult>, StoreError> {
        self.inner.create_batch(n).await
    }
    async fn load(&self, id: &InstanceId) -> Result<InstanceRecord, StoreError> {
        self.inner.load(id).await
    }
    async fn commit(&self, t: Transition) -> Result<(), StoreError> {
        self.inner.commit(t).await
    }
    async fn commit_batch(&self, t: Vec<Transition>) -> Result<Vec<CommitResult>, StoreError> {
        self.inner.commit_batch(t).await
    }
    async fn claim(&self, r: ClaimRequest) -> Result<Vec<Claimed>, StoreError> {
        self.hooks.before_claim();
        let out = self.inner.claim(r).await;
        self.hooks.claimed(&out);
        out
    }
    async fn renew(
        &self,
        o: &WorkerId,
        claims: &[Claim],
        u: Timestamp,
    ) -> Result<Vec<Claim>, StoreError> {
        self.hooks.before_renew()?;
        self.inner.renew(o, claims, u).await
    }
    async fn release(&self, o: &WorkerId, claims: &[Claim]) -> Result<(), StoreError> {
        self.inner.release(o, claims).await
    }
    async fn next_due(&self, k: &[WorkflowKey]) -> Result<Option<Timestamp>, StoreError> {
        self.inner.next_due(k).await
    }
    async fn find_version_mismatches(
        &self,
        s: &[String],
        k: &[WorkflowKey],
    ) -> Result<Vec<InstanceSummary>, StoreError> {
        self.inner.find_version_mismatches(s, k).await
    }
    async fn set_blocked(&self, id: &InstanceId, b: Option<Blocked>) -> Result<(), StoreError> {
        self.inner.set_blocked(id, b).await
    }
    async fn update_block(&self, c: BlockChange) -> Result<(), StoreError> {
        self.inner.update_block(c).await
    }
    async fn backlog(&self, now: Timestamp) -> Result<Backlog, StoreError> {
        self.inner.backlog(now).await
    }
    async fn heartbeat(&self, w: WorkerRecord) -> Result<(), StoreError> {
        self.inner.heartbeat(w).await
    }
    async fn acquire_slot(&self, request: sayiir_store::SlotRequest) -> Result<bool, StoreError> {
        self.inner.acquire_slot(request).await
    }
    async fn release_slot(
        &self,
        key: &str,
        holder: &sayiir_store::SlotHolder,
    ) -> Result<(), StoreError> {
        self.inner.release_slot(key, holder).await
    }
    async fn reserve_start(
        &self,
        request: sayiir_store::RateRequest,
    ) -> Result<Timestamp, StoreError> {
        self.inner.reserve_start(request).await
    }
    async fn limit_usage(
        &self,
        now: Timestamp,
    ) -> Result<Vec<sayiir_store::LimitUsage>, StoreError> {
        self.inner.limit_usage(now).await
    }
    async fn leases(
        &self,
        now: Timestamp,
        limit: std::num::NonZeroUsize,
    ) -> Result<Vec<sayiir_store::LeaseInfo>, StoreError> {
        self.inner.leases(now, limit).await
    }
    async fn rate_usage(&self) -> Result<Vec<sayiir_store::RateUsage>, StoreError> {
        self.inner.rate_usage().await
    }
    async fn workers(&self) -> Result<Vec<WorkerRecord>, StoreError> {
        self.inner.workers().await
    }

    async fn append_audit(&self, e: sayiir::store::NewAuditEntry) -> Result<u64, StoreError> {
        self.inner.append_audit(e).await
    }

    async fn audit(
        &self,
        q: sayiir::store::AuditQuery,
    ) -> Result<Vec<sayiir::store::AuditEntry>, StoreError> {
        self.inner.audit(q).await
    }
    async fn list(&self, q: &ListQuery) -> Result<Listing, StoreError> {
        self.inner.list(q).await
    }
    async fn history(
        &self,
        id: &InstanceId,
        a: Option<u64>,
        l: Option<std::num::NonZeroUsize>,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        self.inner.history(id, a, l).await
    }
    async fn register_worker(&self, o: &WorkerId) -> Result<(), StoreError> {
        self.inner.register_worker(o).await
    }
    async fn unregister_worker(&self, o: &WorkerId) -> Result<(), StoreError> {
        self.inner.unregister_worker(o).await
    }
    async fn send_signal(&self, s: NewSignal) -> Result<u64, StoreError> {
        self.inner.send_signal(s).await
    }
    async fn signals(&self, id: &InstanceId) -> Result<Vec<SignalRecord>, StoreError> {
        self.hooks.before_signals()?;
        self.inner.signals(id).await
    }
    async fn restart(&self, r: Restart) -> Result<(), StoreError> {
        self.inner.restart(r).await
    }
    async fn load_input(&self, id: &InstanceId) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.load_input(id).await
    }
    async fn save_definitions(&self, d: Vec<DefinitionRecord>) -> Result<(), StoreError> {
        self.inner.save_definitions(d).await
    }
    async fn definitions(&self, w: Option<&str>) -> Result<Vec<DefinitionRecord>, StoreError> {
        self.inner.definitions(w).await
    }
    async fn version_counts(&self) -> Result<Vec<VersionCount>, StoreError> {
        self.inner.version_counts().await
    }
    fn wakeups(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        self.inner.wakeups()
    }
    async fn create_schedule(
        &self,
        s: sayiir::store::ScheduleRecord,
    ) -> Result<sayiir::store::ScheduleRecord, StoreError> {
        self.inner.create_schedule(s).await
    }
    async fn load_schedule(&self, id: &str) -> Result<sayiir::store::ScheduleRecord, StoreError> {
        self.inner.load_schedule(id).await
    }
    async fn schedules(&self) -> Result<Vec<sayiir::store::ScheduleRecord>, StoreError> {
        self.inner.schedules().await
    }
    async fn claim_schedules(
        &self,
        c: sayiir::store::ScheduleClaim,
    ) -> Result<Vec<sayiir::store::ScheduleRecord>, StoreError> {
        self.inner.claim_schedules(c).await
    }
    async fn write_schedule(
        &self,
        w: sayiir::store::ScheduleWrite,
    ) -> Result<sayiir::store::ScheduleRecord, StoreError> {
        self.inner.write_schedule(w).await
    }
    async fn delete_schedule(&self, id: &str) -> Result<(), StoreError> {
        self.inner.delete_schedule(id).await
    }
    async fn next_schedule_due(&self, s: &[String]) -> Result<Option<Timestamp>, StoreError> {
        self.inner.next_schedule_due(s).await
    }
}
