//! A store (for unit tests) that answers every batch with one result too few, as a buggy
//! backend would; everything else goes to a [`MemoryStore`].

use sayiir_store::{
    Backlog, BlockChange, Blocked, Claim, ClaimRequest, Claimed, CommitResult, CreateResult,
    Created, DefinitionRecord, HistoryEntry, InstanceId, InstanceRecord, InstanceSummary,
    ListQuery, Listing, MemoryStore, NewInstance, NewSignal, Restart, SignalRecord, Store,
    StoreError, Timestamp, Transition, VersionCount, WorkerId, WorkerRecord, WorkflowKey,
};

/// Drops the last result of `create_batch` and `commit_batch`.
#[derive(Default)]
pub(crate) struct WrongCount(pub(crate) MemoryStore);

#[async_trait::async_trait]
impl Store for WrongCount {
    fn backend(&self) -> &'static str {
        "wrong-count"
    }
    fn namespace(&self) -> &sayiir_store::Namespace {
        self.0.namespace()
    }
    fn in_namespace(
        &self,
        _: &sayiir_store::Namespace,
    ) -> Result<std::sync::Arc<dyn Store>, StoreError> {
        Err(StoreError::Backend {
            detail: "the test wrapper has no namespaces".into(),
        })
    }
    async fn create(&self, new: NewInstance) -> Result<Created, StoreError> {
        self.0.create(new).await
    }
    async fn create_batch(&self, news: Vec<NewInstance>) -> Result<Vec<CreateResult>, StoreError> {
        let mut results = self.0.create_batch(news).await?;
        results.pop();
        Ok(results)
    }
    async fn load(&self, id: &InstanceId) -> Result<InstanceRecord, StoreError> {
        self.0.load(id).await
    }
    async fn commit(&self, transition: Transition) -> Result<(), StoreError> {
        self.0.commit(transition).await
    }
    async fn commit_batch(
        &self,
        transitions: Vec<Transition>,
    ) -> Result<Vec<CommitResult>, StoreError> {
        let mut results = self.0.commit_batch(transitions).await?;
        results.pop();
        Ok(results)
    }
    async fn claim(&self, request: ClaimRequest) -> Result<Vec<Claimed>, StoreError> {
        self.0.claim(request).await
    }
    async fn renew(
        &self,
        owner: &WorkerId,
        claims: &[Claim],
        until: Timestamp,
    ) -> Result<Vec<Claim>, StoreError> {
        self.0.renew(owner, claims, until).await
    }
    async fn release(&self, owner: &WorkerId, claims: &[Claim]) -> Result<(), StoreError> {
        self.0.release(owner, claims).await
    }
    async fn next_due(&self, known: &[WorkflowKey]) -> Result<Option<Timestamp>, StoreError> {
        self.0.next_due(known).await
    }
    async fn find_version_mismatches(
        &self,
        served: &[String],
        known: &[WorkflowKey],
    ) -> Result<Vec<InstanceSummary>, StoreError> {
        self.0.find_version_mismatches(served, known).await
    }
    async fn set_blocked(
        &self,
        id: &InstanceId,
        blocked: Option<Blocked>,
    ) -> Result<(), StoreError> {
        self.0.set_blocked(id, blocked).await
    }
    async fn update_block(&self, change: BlockChange) -> Result<(), StoreError> {
        self.0.update_block(change).await
    }
    async fn backlog(&self, now: Timestamp) -> Result<Backlog, StoreError> {
        self.0.backlog(now).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Listing, StoreError> {
        self.0.list(query).await
    }
    async fn history(
        &self,
        id: &InstanceId,
        after: Option<u64>,
        limit: Option<std::num::NonZeroUsize>,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        self.0.history(id, after, limit).await
    }
    async fn register_worker(&self, owner: &WorkerId) -> Result<(), StoreError> {
        self.0.register_worker(owner).await
    }
    async fn unregister_worker(&self, owner: &WorkerId) -> Result<(), StoreError> {
        self.0.unregister_worker(owner).await
    }
    async fn send_signal(&self, signal: NewSignal) -> Result<u64, StoreError> {
        self.0.send_signal(signal).await
    }
    async fn signals(&self, id: &InstanceId) -> Result<Vec<SignalRecord>, StoreError> {
        self.0.signals(id).await
    }
    async fn restart(&self, restart: Restart) -> Result<(), StoreError> {
        self.0.restart(restart).await
    }
    async fn load_input(&self, id: &InstanceId) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.load_input(id).await
    }
    async fn save_definitions(&self, definitions: Vec<DefinitionRecord>) -> Result<(), StoreError> {
        self.0.save_definitions(definitions).await
    }
    async fn definitions(
        &self,
        workflow: Option<&str>,
    ) -> Result<Vec<DefinitionRecord>, StoreError> {
        self.0.definitions(workflow).await
    }
    async fn version_counts(&self) -> Result<Vec<VersionCount>, StoreError> {
        self.0.version_counts().await
    }
    async fn heartbeat(&self, worker: WorkerRecord) -> Result<(), StoreError> {
        self.0.heartbeat(worker).await
    }
    async fn acquire_slot(&self, request: sayiir_store::SlotRequest) -> Result<bool, StoreError> {
        self.0.acquire_slot(request).await
    }
    async fn release_slot(
        &self,
        key: &str,
        holder: &sayiir_store::SlotHolder,
    ) -> Result<(), StoreError> {
        self.0.release_slot(key, holder).await
    }
    async fn reserve_start(
        &self,
        request: sayiir_store::RateRequest,
    ) -> Result<Timestamp, StoreError> {
        self.0.reserve_start(request).await
    }
    async fn limit_usage(
        &self,
        now: Timestamp,
    ) -> Result<Vec<sayiir_store::LimitUsage>, StoreError> {
        self.0.limit_usage(now).await
    }
    async fn leases(
        &self,
        now: Timestamp,
        limit: std::num::NonZeroUsize,
    ) -> Result<Vec<sayiir_store::LeaseInfo>, StoreError> {
        self.0.leases(now, limit).await
    }
    async fn rate_usage(&self) -> Result<Vec<sayiir_store::RateUsage>, StoreError> {
        self.0.rate_usage().await
    }
    async fn workers(&self) -> Result<Vec<WorkerRecord>, StoreError> {
        self.0.workers().await
    }
    async fn append_audit(&self, e: sayiir_store::NewAuditEntry) -> Result<u64, StoreError> {
        self.0.append_audit(e).await
    }
    async fn audit(
        &self,
        q: sayiir_store::AuditQuery,
    ) -> Result<Vec<sayiir_store::AuditEntry>, StoreError> {
        self.0.audit(q).await
    }
    async fn create_schedule(
        &self,
        s: sayiir_store::ScheduleRecord,
    ) -> Result<sayiir_store::ScheduleRecord, StoreError> {
        self.0.create_schedule(s).await
    }
    async fn load_schedule(&self, id: &str) -> Result<sayiir_store::ScheduleRecord, StoreError> {
        self.0.load_schedule(id).await
    }
    async fn schedules(&self) -> Result<Vec<sayiir_store::ScheduleRecord>, StoreError> {
        self.0.schedules().await
    }
    async fn claim_schedules(
        &self,
        c: sayiir_store::ScheduleClaim,
    ) -> Result<Vec<sayiir_store::ScheduleRecord>, StoreError> {
        self.0.claim_schedules(c).await
    }
    async fn write_schedule(
        &self,
        w: sayiir_store::ScheduleWrite,
    ) -> Result<sayiir_store::ScheduleRecord, StoreError> {
        self.0.write_schedule(w).await
    }
    async fn delete_schedule(&self, id: &str) -> Result<(), StoreError> {
        self.0.delete_schedule(id).await
    }
    async fn next_schedule_due(&self, s: &[String]) -> Result<Option<Timestamp>, StoreError> {
        self.0.next_schedule_due(s).await
    }
}
