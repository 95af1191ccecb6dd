//! An in-memory store with the same contract as the persistent backends. For tests and for
//! workflows that need no durability.

mod gates;
mod limits;
mod rows;

use std::num::NonZeroUsize;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{
    AuditEntry, AuditQuery, Backlog, BlockChange, BlockKind, Blocked, Claim, ClaimRequest, Claimed,
    CommitResult, CreateResult, Created, DefinitionRecord, HistoryEntry, InstanceId,
    InstanceRecord, InstanceSummary, LeaseHolder, LeaseInfo, LimitUsage, ListQuery, Listing,
    Namespace, NewAuditEntry, NewInstance, NewSignal, RateRequest, RateUsage, Restart,
    ScheduleClaim, ScheduleRecord, ScheduleWrite, SignalRecord, SlotHolder, SlotRequest, Status,
    Store, StoreError, Timestamp, Transition, VersionCount, WorkerId, WorkerRecord, WorkflowKey,
};

#[derive(Debug)]
struct Row {
    /// The namespace the instance belongs to.
    ns: Namespace,
    /// The head, its lease included.
    record: InstanceRecord,
    /// The input it was created or last restarted with.
    input: Option<Vec<u8>>,
    /// The generation of its last claim (0: never claimed).
    generation: u64,
    history: Vec<HistoryEntry>,
    /// Pending signals, in send order (increasing ids).
    signals: Vec<SignalRecord>,
    /// Its admission gates, if it has any.
    gate: Option<gates::Gate>,
}

/// In-memory [`Store`]. Cloning is not supported; share it behind an `Arc`. Handles of other
/// namespaces of the same store: [`MemoryStore::in_namespace`](Store::in_namespace).
#[derive(Debug, Default)]
pub struct MemoryStore {
    shared: Arc<Shared>,
    /// The namespace of this handle.
    ns: Namespace,
}

/// The data of a memory store, shared by its handles of every namespace.
#[derive(Debug, Default)]
struct Shared {
    rows: Mutex<BTreeMap<InstanceId, Row>>,
    /// The last signal id handed out; only changed while `rows` is locked, so ids increase in
    /// send order.
    last_signal_id: AtomicU64,
    /// Registered definitions by `(workflow, hash, fingerprint)`.
    definitions: Mutex<BTreeMap<DefinitionKey, DefinitionRecord>>,
    /// Worker registrations by id.
    workers: Mutex<BTreeMap<String, (Namespace, WorkerRecord)>>,
    /// Schedules by id; locked after `rows` when both are.
    schedules: Mutex<schedules::Schedules>,
    /// The slots of concurrency limits (locked after `rows`).
    limits: Mutex<limits::Limits>,
    /// Rate limits: each key's theoretical arrival time, in µs.
    rates: Mutex<BTreeMap<String, (i64, u64, u32)>>,
    /// Admission gates' limits (locked after `rows`; the instances' places are in their rows).
    gates: Mutex<gates::Gates>,
    audit: Mutex<audit::AuditLog>,
}

mod audit;
mod schedules;

type DefinitionKey = (String, [u8; 32], [u8; 32]);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn rows(&self) -> MutexGuard<'_, BTreeMap<InstanceId, Row>> {
        // A panic while holding the lock cannot leave a row half-updated: every mutation below
        // is computed first and assigned last, so the data behind a poisoned lock is consistent.
        self.shared.rows.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn schedules(&self) -> MutexGuard<'_, schedules::Schedules> {
        // Every mutation is computed first and assigned last.
        self.shared
            .schedules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn limits(&self) -> MutexGuard<'_, limits::Limits> {
        // Every mutation is computed on the entries of one key and applied at once.
        self.shared.limits.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn gates(&self) -> MutexGuard<'_, gates::Gates> {
        // Every mutation is an insert or a counter's increment.
        self.shared.gates.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn definitions(&self) -> MutexGuard<'_, BTreeMap<DefinitionKey, DefinitionRecord>> {
        // Every mutation is a single insert.
        self.shared
            .definitions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

type KnownKey<'a> = (&'a str, [u8; 32], [u8; 32]);

fn known_set(known: &[WorkflowKey]) -> HashSet<KnownKey<'_>> {
    known
        .iter()
        .map(|k| (k.workflow.as_str(), k.hash.0, k.fingerprint.0))
        .collect()
}

/// The key of `r` as [`known_set`] holds them.
fn key_of(r: &InstanceRecord) -> KnownKey<'_> {
    (r.workflow.as_str(), r.hash.0, r.fingerprint.0)
}

fn lease_free(r: &InstanceRecord, now: Timestamp) -> bool {
    r.lease.as_ref().is_none_or(|l| !l.live_at(now))
}

/// Whether `r` is leased to `owner` under `generation`.
fn holds(r: &InstanceRecord, owner: &WorkerId, generation: u64) -> bool {
    r.lease
        .as_ref()
        .is_some_and(|l| l.owner == *owner && l.generation == generation)
}

/// Whether a claim may take `r` as far as its block goes (see [`BlockKind::claimable`]).
fn claimable_block(r: &InstanceRecord) -> bool {
    r.blocked.as_ref().is_none_or(|b| b.kind.claimable())
}

/// Whether `r` is claimable at `now` by a worker that knows its definition.
fn claimable(r: &InstanceRecord, now: Timestamp) -> bool {
    r.status == Status::Running
        && r.due_at.is_some_and(|d| d <= now)
        && claimable_block(r)
        && lease_free(r, now)
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn namespace(&self) -> &Namespace {
        &self.ns
    }

    fn in_namespace(&self, namespace: &Namespace) -> Result<Arc<dyn Store>, StoreError> {
        Ok(Arc::new(Self {
            shared: Arc::clone(&self.shared),
            ns: namespace.clone(),
        }))
    }

    async fn create(&self, new: NewInstance) -> Result<Created, StoreError> {
        let mut rows = self.rows();
        rows::create(&mut rows, &mut self.gates(), &self.ns, new)
    }

    async fn create_batch(&self, news: Vec<NewInstance>) -> Result<Vec<CreateResult>, StoreError> {
        let mut rows = self.rows();
        let mut gates = self.gates();
        Ok(news
            .into_iter()
            .map(|new| rows::create(&mut rows, &mut gates, &self.ns, new))
            .collect())
    }

    async fn load(&self, id: &InstanceId) -> Result<InstanceRecord, StoreError> {
        rows::get(&self.rows(), &self.ns, id).map(|r| r.record.clone())
    }

    async fn commit(&self, transition: Transition) -> Result<(), StoreError> {
        let mut rows = self.rows();
        rows::apply(&mut rows, &mut self.gates(), &self.ns, transition)
    }

    async fn commit_batch(
        &self,
        transitions: Vec<Transition>,
    ) -> Result<Vec<CommitResult>, StoreError> {
        let mut rows = self.rows();
        let mut gates = self.gates();
        Ok(transitions
            .into_iter()
            .map(|t| rows::apply(&mut rows, &mut gates, &self.ns, t))
            .collect())
    }

    async fn claim(&self, req: ClaimRequest) -> Result<Vec<Claimed>, StoreError> {
        let known = known_set(&req.known);
        let mut rows = self.rows();
        // By rank (the due time less the head start), then id.
        let mut due: Vec<(i64, InstanceId)> = rows
            .values()
            .filter(|row| {
                let r = &row.record;
                row.ns == self.ns && claimable(r, req.now) && known.contains(&key_of(r))
            })
            .filter_map(|row| {
                let r = &row.record;
                Some((r.due_at?.0.saturating_sub(r.head_start_ms), r.id.clone()))
            })
            .collect();
        due.sort();
        due.truncate(req.limit);
        let mut out = Vec::with_capacity(due.len());
        for (_, id) in due {
            if let Some(row) = rows.get_mut(&id) {
                row.generation += 1;
                let r = &mut row.record;
                let took_over = r.lease.is_some();
                r.lease = Some(LeaseHolder {
                    owner: req.owner.clone(),
                    until: req.lease_until,
                    generation: row.generation,
                });
                // A version mismatch the claimer knows is over; a request is for the claimer.
                if r.blocked
                    .as_ref()
                    .is_some_and(|b| b.kind == BlockKind::VersionMismatch)
                {
                    r.blocked = None;
                }
                out.push(Claimed {
                    record: row.record.clone(),
                    generation: row.generation,
                    took_over,
                });
            }
        }
        Ok(out)
    }

    async fn renew(
        &self,
        owner: &WorkerId,
        claims: &[Claim],
        until: Timestamp,
    ) -> Result<Vec<Claim>, StoreError> {
        let mut rows = self.rows();
        let mut lost = Vec::new();
        for c in claims {
            let row = rows::get_mut(&mut rows, &self.ns, &c.id).ok();
            match row.and_then(|r| r.record.lease.as_mut()) {
                Some(l) if l.owner == *owner && l.generation == c.generation => l.until = until,
                _ => lost.push(c.clone()),
            }
        }
        Ok(lost)
    }

    async fn release(&self, owner: &WorkerId, claims: &[Claim]) -> Result<(), StoreError> {
        let mut rows = self.rows();
        for c in claims {
            if let Ok(row) = rows::get_mut(&mut rows, &self.ns, &c.id)
                && holds(&row.record, owner, c.generation)
            {
                row.record.lease = None;
            }
        }
        Ok(())
    }

    async fn next_due(&self, known: &[WorkflowKey]) -> Result<Option<Timestamp>, StoreError> {
        let known = known_set(known);
        Ok(self
            .rows()
            .values()
            .filter(|row| row.ns == self.ns)
            .map(|row| &row.record)
            .filter(|r| {
                r.status == Status::Running && claimable_block(r) && known.contains(&key_of(r))
            })
            .filter_map(|r| {
                let due = r.due_at?;
                Some(match &r.lease {
                    Some(l) => due.max(l.until),
                    None => due,
                })
            })
            .min())
    }

    async fn find_version_mismatches(
        &self,
        served: &[String],
        known: &[WorkflowKey],
    ) -> Result<Vec<InstanceSummary>, StoreError> {
        let known = known_set(known);
        let served: HashSet<&str> = served.iter().map(String::as_str).collect();
        Ok(self
            .rows()
            .values()
            .filter(|row| row.ns == self.ns)
            .map(|row| &row.record)
            .filter(|r| {
                r.status == Status::Running
                    && r.blocked.is_none()
                    && served.contains(r.workflow.as_str())
                    && !known.contains(&key_of(r))
            })
            .map(InstanceSummary::from)
            .collect())
    }

    async fn set_blocked(
        &self,
        id: &InstanceId,
        blocked: Option<Blocked>,
    ) -> Result<(), StoreError> {
        let mut rows = self.rows();
        let row = rows::get_mut(&mut rows, &self.ns, id)?;
        row.record.blocked = blocked;
        Ok(())
    }

    async fn update_block(&self, change: BlockChange) -> Result<(), StoreError> {
        let mut rows = self.rows();
        let row = rows::get_mut(&mut rows, &self.ns, &change.id)?;
        let r = &mut row.record;
        if r.status.is_terminal() {
            return Err(StoreError::Finished { id: change.id });
        }
        let actual = r.blocked.as_ref().map(|b| b.kind);
        if !change.allows(actual) {
            return Err(StoreError::BlockState {
                id: change.id,
                actual,
            });
        }
        r.blocked = change.to;
        if change.wake {
            r.due_at = Some(r.due_at.map_or(change.now, |d| d.min(change.now)));
        }
        Ok(())
    }

    async fn backlog(&self, now: Timestamp) -> Result<Backlog, StoreError> {
        let rows = self.rows();
        let due = rows
            .values()
            .filter(|row| row.ns == self.ns)
            .map(|row| &row.record)
            .filter(|r| claimable(r, now) && r.blocked.as_ref().is_none_or(|b| b.kind.is_request()))
            .filter_map(|r| r.due_at);
        let mut backlog = Backlog::default();
        for row in rows.values().filter(|row| row.ns == self.ns) {
            if let Some(b) = row.record.blocked.as_ref()
                && b.kind.needs_attention()
            {
                backlog.needs_attention += 1;
                backlog.parked += u64::from(b.kind == BlockKind::Parked);
            }
        }
        for d in due {
            backlog.due += 1;
            backlog.oldest_due = Some(backlog.oldest_due.map_or(d, |o| o.min(d)));
        }
        Ok(backlog)
    }

    async fn list(&self, query: &ListQuery) -> Result<Listing, StoreError> {
        let rows = self.rows();
        let limit = query.limit.map_or(usize::MAX, NonZeroUsize::get);
        let instances = rows
            .values()
            .filter(|row| row.ns == self.ns)
            .map(|row| &row.record)
            .filter(|r| query.after.as_ref().is_none_or(|a| r.id > *a))
            .filter(|r| query.admits(r))
            .take(limit)
            .map(InstanceSummary::from)
            .collect();
        // Nothing is decoded here: a memory store holds no damaged rows.
        Ok(Listing {
            instances,
            damaged: Vec::new(),
        })
    }

    async fn history(
        &self,
        id: &InstanceId,
        after: Option<u64>,
        limit: Option<NonZeroUsize>,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let rows = self.rows();
        let row = rows::get(&rows, &self.ns, id)?;
        let limit = limit.map_or(usize::MAX, NonZeroUsize::get);
        Ok(row
            .history
            .iter()
            .filter(|h| after.is_none_or(|a| h.seq > a))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn create_schedule(
        &self,
        schedule: ScheduleRecord,
    ) -> Result<ScheduleRecord, StoreError> {
        schedules::create_schedule(&mut self.schedules(), &self.ns, schedule)
    }

    async fn load_schedule(&self, id: &str) -> Result<ScheduleRecord, StoreError> {
        schedules::load(&self.schedules(), &self.ns, id)
    }

    async fn schedules(&self) -> Result<Vec<ScheduleRecord>, StoreError> {
        Ok(schedules::list(&self.schedules(), &self.ns))
    }

    async fn claim_schedules(
        &self,
        claim: ScheduleClaim,
    ) -> Result<Vec<ScheduleRecord>, StoreError> {
        Ok(schedules::claim(&mut self.schedules(), &self.ns, &claim))
    }

    async fn write_schedule(&self, write: ScheduleWrite) -> Result<ScheduleRecord, StoreError> {
        let mut rows = self.rows();
        let mut gates = self.gates();
        schedules::write(
            &mut self.schedules(),
            &mut rows,
            &mut gates,
            &self.ns,
            write,
        )
        .map(|(s, _)| s)
    }

    async fn delete_schedule(&self, id: &str) -> Result<(), StoreError> {
        schedules::delete(&mut self.schedules(), &self.ns, id)
    }

    async fn next_schedule_due(&self, served: &[String]) -> Result<Option<Timestamp>, StoreError> {
        Ok(schedules::next_due(&self.schedules(), &self.ns, served))
    }

    async fn register_worker(&self, _owner: &WorkerId) -> Result<(), StoreError> {
        Ok(())
    }

    async fn unregister_worker(&self, owner: &WorkerId) -> Result<(), StoreError> {
        let mut rows = self.rows();
        for row in rows.values_mut().filter(|row| row.ns == self.ns) {
            if row.record.lease.as_ref().is_some_and(|l| l.owner == *owner) {
                row.record.lease = None;
            }
        }
        Ok(())
    }

    async fn heartbeat(&self, mut worker: WorkerRecord) -> Result<(), StoreError> {
        let mut workers = self
            .shared
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let horizon = crate::types::worker_horizon(worker.seen_at);
        workers.retain(|_, (ns, w)| *ns != self.ns || w.alive_until >= horizon);
        worker.runs.sort_by(|a, b| {
            (&a.workflow, a.hash.0, a.fingerprint.0).cmp(&(&b.workflow, b.hash.0, b.fingerprint.0))
        });
        worker.runs.dedup();
        workers.insert(worker.id.0.clone(), (self.ns.clone(), worker));
        Ok(())
    }

    async fn workers(&self) -> Result<Vec<WorkerRecord>, StoreError> {
        let workers = self
            .shared
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        Ok(workers
            .values()
            .filter(|(ns, _)| *ns == self.ns)
            .map(|(_, w)| w.clone())
            .collect())
    }

    async fn acquire_slot(&self, request: SlotRequest) -> Result<bool, StoreError> {
        let rows = self.rows();
        Ok(self.limits().acquire(&rows, request))
    }

    async fn release_slot(&self, key: &str, holder: &SlotHolder) -> Result<(), StoreError> {
        self.limits().release(key, holder);
        Ok(())
    }

    async fn reserve_start(&self, request: RateRequest) -> Result<Timestamp, StoreError> {
        // Every mutation is a single insert.
        let mut rates = self.shared.rates.lock().unwrap_or_else(|e| e.into_inner());
        let (tat, start) = crate::gcra(rates.get(&request.key).map(|r| r.0), &request);
        let (interval, burst) = (request.interval_us.get(), request.burst.get());
        rates.insert(request.key, (tat, interval, burst));
        Ok(start)
    }

    async fn rate_usage(&self) -> Result<Vec<RateUsage>, StoreError> {
        let rates = self.shared.rates.lock().unwrap_or_else(|e| e.into_inner());
        Ok(rates
            .iter()
            .map(|(key, (tat, interval, burst))| RateUsage::new(key, *interval, *burst, *tat))
            .collect())
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<u64, StoreError> {
        Ok(self
            .shared
            .audit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(&self.ns, entry))
    }

    async fn audit(&self, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(self
            .shared
            .audit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .page(&self.ns, query))
    }

    async fn limit_usage(&self, now: Timestamp) -> Result<Vec<LimitUsage>, StoreError> {
        let rows = self.rows();
        let mut usage = self.limits().usage(&rows, now);
        usage.extend(self.gates().usage(&rows));
        usage.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(usage)
    }

    async fn leases(
        &self,
        now: Timestamp,
        limit: NonZeroUsize,
    ) -> Result<Vec<LeaseInfo>, StoreError> {
        let rows = self.rows();
        let mut leases: Vec<LeaseInfo> = rows
            .values()
            .filter(|row| row.ns == self.ns && row.record.status == Status::Running)
            .filter_map(|row| {
                let r = &row.record;
                let lease = r.lease.as_ref().filter(|l| l.live_at(now))?;
                Some(LeaseInfo::new(
                    r.id.clone(),
                    r.workflow.clone(),
                    r.state_id.clone(),
                    lease.owner.clone(),
                    lease.until,
                ))
            })
            .collect();
        leases.sort_by(|a, b| (&a.owner.0, &a.id).cmp(&(&b.owner.0, &b.id)));
        leases.truncate(limit.get());
        Ok(leases)
    }

    async fn send_signal(&self, signal: NewSignal) -> Result<u64, StoreError> {
        let mut rows = self.rows();
        let row = rows::get_mut(&mut rows, &self.ns, &signal.id)?;
        if row.record.status.is_terminal() {
            return Err(StoreError::Finished { id: signal.id });
        }
        let signal_id = self.shared.last_signal_id.fetch_add(1, Ordering::Relaxed) + 1;
        row.signals.push(SignalRecord {
            signal_id,
            name: signal.name,
            payload: signal.payload,
            sent_at: signal.now,
        });
        let due = &mut row.record.due_at;
        *due = Some(due.map_or(signal.now, |d| d.min(signal.now)));
        Ok(signal_id)
    }

    async fn signals(&self, id: &InstanceId) -> Result<Vec<SignalRecord>, StoreError> {
        rows::get(&self.rows(), &self.ns, id).map(|r| r.signals.clone())
    }

    async fn restart(&self, r: Restart) -> Result<(), StoreError> {
        let mut rows = self.rows();
        rows::restart(&mut rows, &mut self.gates(), &self.ns, r)
    }

    async fn load_input(&self, id: &InstanceId) -> Result<Option<Vec<u8>>, StoreError> {
        rows::get(&self.rows(), &self.ns, id).map(|r| r.input.clone())
    }

    async fn save_definitions(&self, definitions: Vec<DefinitionRecord>) -> Result<(), StoreError> {
        let mut stored = self.definitions();
        for d in definitions {
            let key = (d.workflow.clone(), d.hash.0, d.fingerprint.0);
            stored.entry(key).or_insert(d);
        }
        Ok(())
    }

    async fn definitions(
        &self,
        workflow: Option<&str>,
    ) -> Result<Vec<DefinitionRecord>, StoreError> {
        let mut found: Vec<DefinitionRecord> = self
            .definitions()
            .values()
            .filter(|d| workflow.is_none_or(|w| d.workflow == w))
            .cloned()
            .collect();
        found.sort_by(|a, b| {
            (&a.workflow, a.version, a.hash, a.fingerprint).cmp(&(
                &b.workflow,
                b.version,
                b.hash,
                b.fingerprint,
            ))
        });
        Ok(found)
    }

    async fn version_counts(&self) -> Result<Vec<VersionCount>, StoreError> {
        type Group = (String, u32, [u8; 32], [u8; 32], i64, Option<i64>);
        let mut groups: BTreeMap<Group, VersionCount> = BTreeMap::new();
        for row in self.rows().values().filter(|row| row.ns == self.ns) {
            let r = &row.record;
            let blocked = r.blocked.as_ref().map(|b| b.kind);
            let group = (
                r.workflow.clone(),
                r.version,
                r.hash.0,
                r.fingerprint.0,
                r.status.code(),
                blocked.map(BlockKind::code),
            );
            groups
                .entry(group)
                .or_insert_with(|| VersionCount {
                    workflow: r.workflow.clone(),
                    version: r.version,
                    hash: r.hash,
                    fingerprint: r.fingerprint,
                    status: r.status,
                    blocked,
                    count: 0,
                })
                .count += 1;
        }
        Ok(groups.into_values().collect())
    }
}
