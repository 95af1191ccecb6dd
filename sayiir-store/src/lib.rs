//! Storage for the sayiir durable workflow engine.
//!
//! A [`Store`] persists instances (a head row: state blob, sequence number, status, due time,
//! lease) and an append-only history of their transitions. It stores opaque bytes: encoding is the
//! runtime's business. Every transition is one atomic compare-and-swap on the instance's sequence
//! number ([`Store::commit`]); a batch form ([`Store::commit_batch`]) commits many instances'
//! transitions in one backend transaction while checking each one separately, and
//! [`Store::create_batch`] likewise creates many instances in one backend transaction.
//!
//! Backends: [`MemoryStore`] (tests), with the `sqlite` feature [`SqliteStore`] (one worker
//! process per database file) and with the `postgres` feature [`PgStore`] (any number of worker
//! processes).
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::num::NonZeroUsize;

mod error;
mod listing;
mod memory;
mod types;

#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;

#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;

#[cfg(feature = "pg-harness")]
#[cfg_attr(docsrs, doc(cfg(feature = "pg-harness")))]
pub mod pg_harness;

mod transactional;

/// The sqlx this crate is built with (feature `postgres`), for the pool given to
/// [`PgStore::from_pool`] and the connections given to [`Transactional`] methods. A `sqlx`
/// dependency of your own has the same types only if cargo resolves it to this same version.
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use sqlx;

/// The rusqlite this crate is built with (feature `sqlite`), for the connections and
/// transactions given to [`Transactional`] methods.
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use rusqlite;

pub use error::{FileProblem, InvalidId, StoreError};
pub use listing::{DamagedRow, Listing};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PgOptions, PgStore};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};
pub use transactional::Transactional;
pub use types::{
    AuditEntry, AuditQuery, AuditResult, Backlog, BlockChange, BlockKind, BlockWrite, Blocked,
    Claim, ClaimRequest, Claimed, Created, DefinitionHash, DefinitionRecord, DefinitionRef, Event,
    Fingerprint, GateRequest, HistoryEntry, InstanceId, InstanceRecord, InstanceSummary,
    IntoInstanceId, Lease, LeaseHolder, LeaseInfo, LimitUsage, ListQuery, MAX_INSTANCE_ID_LEN,
    NewAuditEntry, NewInstance, NewSignal, Next, RateRequest, RateUsage, Restart, ScheduleClaim,
    ScheduleLease, ScheduleRecord, ScheduleWrite, SignalRecord, SlotHolder, SlotRequest, Status,
    TimeRange, Timestamp, Transition, VersionCount, WorkerId, WorkerRecord, WorkflowKey, gcra,
};
pub use types::{DEFAULT_NAMESPACE, InvalidNamespace, MAX_NAMESPACE_LEN, Namespace};

/// Result of one transition within a [`Store::commit_batch`].
pub type CommitResult = Result<(), StoreError>;

/// Result of one creation within a [`Store::create_batch`].
pub type CreateResult = Result<Created, StoreError>;

/// The storage contract. Every method is one atomic operation; a method that fails has changed
/// nothing.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Short backend name for logs (`memory`, `sqlite`, `postgres`).
    fn backend(&self) -> &'static str;

    /// The namespace this handle is bound to: every operation of the handle only sees and
    /// touches the instances, signals, schedules and worker registrations of this namespace.
    /// [`Namespace::default`] for a store opened without one.
    fn namespace(&self) -> &Namespace;

    /// A handle of the same store (same pool, connections, worker lock and wake-ups) bound to
    /// `namespace`. Cheap. Fails for a store without namespaces (a test wrapper that does not
    /// forward it).
    fn in_namespace(&self, namespace: &Namespace) -> Result<std::sync::Arc<dyn Store>, StoreError>;

    /// Inserts a new instance at sequence 0 with history entry 0 (keeping its input for
    /// [`Store::load_input`]), or returns the existing instance with that id unchanged.
    ///
    /// An instance with [`NewInstance::gates`] enters each gate's queue (the gate's limit
    /// becomes the one it asks) at the end of the global creation order, then the store admits,
    /// in that order, every waiter of those gates all of whose gates have room (a raised limit
    /// admits earlier waiters first): the new instance is admitted if it is one of them,
    /// otherwise it is created blocked with [`BlockKind::AwaitingAdmission`] (in the record
    /// returned too). It keeps its slot until it finishes. Instances without gates touch no
    /// gate.
    async fn create(&self, new: NewInstance) -> Result<Created, StoreError>;

    /// Creates many instances in one backend transaction. Each one is handled as in
    /// [`Store::create`] and gets its own result, at the same index as its input: inserted at
    /// sequence 0 with history entry 0 ([`Created::New`]), or the existing instance returned
    /// unchanged ([`Created::Existing`]). An id may appear more than once: its first occurrence
    /// is handled first, and the later ones see the instance it created or found as existing.
    /// The outer error means nothing was created.
    async fn create_batch(&self, news: Vec<NewInstance>) -> Result<Vec<CreateResult>, StoreError>;

    /// The head of an instance, with the lease of its last claim while that is held
    /// ([`InstanceRecord::lease`], reported even once expired).
    async fn load(&self, id: &InstanceId) -> Result<InstanceRecord, StoreError>;

    /// Commits one transition: fails with [`StoreError::Conflict`] unless the instance is at
    /// `expected_seq`, with [`StoreError::Finished`] if it has finished, with
    /// [`StoreError::Paused`] if it is blocked with [`BlockKind::Paused`] (unless the
    /// transition finishes it: cancelling a paused instance works; a transition that clears
    /// the block does not lift this); otherwise writes the new head (with its state id, the
    /// definition of [`Transition::redefine`] if set, and the block of [`Transition::block`]
    /// if it sets or clears one), consumes the transition's signals (see
    /// [`Transition::consume_signals`]) and appends history entry `expected_seq + 1`
    /// atomically, releasing [`Transition::release_lease`] if the instance is still leased
    /// under it. A finishing transition also deletes the instance's remaining buffered
    /// signals, clears its state id and releases its lease; it keeps the block unless
    /// [`Transition::block`] says otherwise. A finishing transition of an instance with gates
    /// also, in the same transaction, gives its slots back (or leaves the queues, clearing
    /// its [`BlockKind::AwaitingAdmission`] block) and admits the earliest-created waiters of
    /// those gates all of whose gates have room, clearing their block and making them due
    /// now (a waiter whose other gate is full is skipped).
    async fn commit(&self, transition: Transition) -> Result<(), StoreError>;

    /// Commits many transitions (of distinct instances) in one backend transaction. Each one is
    /// checked as in [`Store::commit`] and gets its own result; a conflict on one does not affect
    /// the others. The outer error means nothing was committed.
    async fn commit_batch(
        &self,
        transitions: Vec<Transition>,
    ) -> Result<Vec<CommitResult>, StoreError>;

    /// Leases up to `limit` runnable instances (running, due, lease free or expired, and not
    /// blocked, or blocked by a version mismatch the caller now knows, or by an operator's
    /// request: [`BlockKind::RetryRequested`], [`BlockKind::FailRequested`]) of the known
    /// definitions (the whole `(workflow, hash, fingerprint)` key must match), earliest due
    /// first. Claiming clears a version-mismatch block and keeps a request, in the row and in
    /// the record returned (the worker performs it and clears it in its first commit, with
    /// [`BlockWrite::Clear`]). Each claim gives its instance the next lease generation (one
    /// more than its previous claim's, 1 for its first), returned with it: the lease is
    /// `(request.owner, generation)` (see [`Lease`]), and the record returned carries it
    /// ([`InstanceRecord::lease`]).
    ///
    /// A row the claim meets that does not decode is not returned: it is marked blocked with
    /// [`BlockKind::CorruptRow`] (the reason names the column and the problem; only the block
    /// columns are written, the rest of the row is left as it was), which keeps it out of
    /// later claims and of [`Store::next_due`], and the claim goes on with the other rows.
    async fn claim(&self, request: ClaimRequest) -> Result<Vec<Claimed>, StoreError>;

    /// Extends the leases `owner` holds by `claims`: those of the instances still leased to
    /// `owner` under the claim's generation (expired or not, as long as no later claim took
    /// them). Returns the claims whose lease `owner` no longer holds under that generation:
    /// released, finished, or claimed again since, by another worker or by `owner` itself.
    async fn renew(
        &self,
        owner: &WorkerId,
        claims: &[Claim],
        until: Timestamp,
    ) -> Result<Vec<Claim>, StoreError>;

    /// Drops the leases `owner` holds by `claims` (each only if the instance is still leased
    /// to `owner` under the claim's generation).
    async fn release(&self, owner: &WorkerId, claims: &[Claim]) -> Result<(), StoreError>;

    /// The earliest time at which an instance of the known versions becomes claimable (its due
    /// time, or its lease expiry if later), if any: over the running instances with a due
    /// time that are not blocked, or blocked by a version mismatch or a request (those a
    /// claim takes).
    async fn next_due(&self, known: &[WorkflowKey]) -> Result<Option<Timestamp>, StoreError>;

    /// Running, unblocked instances of the `served` workflow names whose
    /// `(workflow, hash, fingerprint)` is not among `known`: the instances this binary must
    /// report as blocked. Rows that do not decode are left out (a claim blocks them,
    /// [`Store::list`] reports them).
    async fn find_version_mismatches(
        &self,
        served: &[String],
        known: &[WorkflowKey],
    ) -> Result<Vec<InstanceSummary>, StoreError>;

    /// Sets or clears the block on an instance. Touches nothing else: not the state, not the
    /// sequence number, not the history.
    async fn set_blocked(
        &self,
        id: &InstanceId,
        blocked: Option<Blocked>,
    ) -> Result<(), StoreError>;

    /// An operator's compare-and-set of an instance's block, atomic: fails with
    /// [`StoreError::NotFound`] for an unknown id, with [`StoreError::Finished`] for a finished
    /// instance, and with [`StoreError::BlockState`] (its current block kind) when its block
    /// kind is not among `change.from` (`None` there: not blocked). Otherwise its block
    /// becomes `change.to` (or is cleared) and nothing else is written (not the state, the
    /// sequence number, the history, the lease), except with `change.wake`: its due time then
    /// becomes `min(due_at, now)` (`now` if it had none), so that a worker claims it now. A
    /// stored block code this build does not know matches no kind of `from`: the row is
    /// damaged, and the change fails as reading it does ([`StoreError::InvalidData`] naming
    /// the column). Wakes idle workers (as a signal does) when the instance is left claimable
    /// with a due time.
    async fn update_block(&self, change: BlockChange) -> Result<(), StoreError>;

    /// The instances due but not claimed at `now`: running, `due_at <= now`, not blocked (or
    /// blocked by a request, which claims take), lease free or expired; their number and the
    /// earliest due time. The SQL backends read the due index from its start to `now`: the
    /// cost grows with the instances due by then (including those leased or blocked), not
    /// with the size of the store. With them, the number of instances that need attention
    /// (counted on the partial index that holds only them).
    async fn backlog(&self, now: Timestamp) -> Result<Backlog, StoreError>;

    /// Instances matching `query`, ordered by id, and beside them the matching rows that do
    /// not decode ([`Listing::damaged`], each with the column and the problem): one damaged
    /// row never makes the listing fail. See [`ListQuery`] for the filters an index serves.
    async fn list(&self, query: &ListQuery) -> Result<Listing, StoreError>;

    /// History entries of an instance with `seq > after` (all when `after` is `None`), in order,
    /// at most `limit` (all when `limit` is `None`). An entry that does not decode is
    /// [`StoreError::InvalidData`] naming the entry and the column.
    async fn history(
        &self,
        id: &InstanceId,
        after: Option<u64>,
        limit: Option<NonZeroUsize>,
    ) -> Result<Vec<HistoryEntry>, StoreError>;

    /// Registers a worker before it claims anything. A backend that allows a single worker
    /// process (SQLite) takes an exclusive lock here, fails with [`StoreError::Locked`] if another
    /// process holds it, and then drops the leases left by dead processes.
    async fn register_worker(&self, owner: &WorkerId) -> Result<(), StoreError>;

    /// Undoes [`Store::register_worker`]: releases `owner`'s leases and locks.
    async fn unregister_worker(&self, owner: &WorkerId) -> Result<(), StoreError>;

    /// Buffers a signal for a running instance and makes the instance due now (its due time
    /// becomes `min(due_at, now)`; a `NULL` due time becomes `now`), so a worker looks at it.
    /// Touches neither the state, nor the sequence number, nor the history, nor a block.
    /// Fails with [`StoreError::NotFound`] for an unknown instance and
    /// [`StoreError::Finished`] for a finished one. Returns the signal's id.
    async fn send_signal(&self, signal: NewSignal) -> Result<u64, StoreError>;

    /// The signals buffered for an instance and not yet consumed, in send order.
    async fn signals(&self, id: &InstanceId) -> Result<Vec<SignalRecord>, StoreError>;

    /// Restarts an instance as a new run, whatever its status (running, blocked, paused or
    /// finished): compare-and-swap on `expected_seq` ([`StoreError::NotFound`] for an unknown
    /// id, [`StoreError::Conflict`] if the head moved on), then, atomically: the instance runs
    /// under `restart.definition` (version, hash, fingerprint) with the new input, state,
    /// state id and due time, status [`Status::Running`], sequence number `expected_seq + 1`;
    /// its output, block (of any kind) and lease are cleared; history entry
    /// `expected_seq + 1` is appended. Earlier history entries and buffered signals are kept.
    /// Wakes idle workers as a creation does. An instance with gates that had finished enters
    /// its gates' queues again as a creation does (it may be left waiting for admission); one
    /// still waiting for admission stays blocked so; one admitted keeps its slot.
    async fn restart(&self, restart: Restart) -> Result<(), StoreError>;

    /// The input an instance was created (or last restarted) with; `None` for instances
    /// stored before inputs were kept. Fails with [`StoreError::NotFound`] for an unknown id.
    async fn load_input(&self, id: &InstanceId) -> Result<Option<Vec<u8>>, StoreError>;

    /// Registers definitions, in one backend transaction: each one whose key
    /// `(workflow, hash, fingerprint)` is not stored yet is inserted; a stored one is left
    /// unchanged (the first registration wins, also within one call).
    async fn save_definitions(&self, definitions: Vec<DefinitionRecord>) -> Result<(), StoreError>;

    /// The registered definitions (of `workflow` only, if given), ordered by workflow, version,
    /// hash and fingerprint.
    async fn definitions(
        &self,
        workflow: Option<&str>,
    ) -> Result<Vec<DefinitionRecord>, StoreError>;

    /// The number of instances per definition `(workflow, version, hash, fingerprint)`,
    /// status and block kind, ordered by those (status and block kind by their codes, not
    /// blocked first). Groups without instances are absent.
    async fn version_counts(&self) -> Result<Vec<VersionCount>, StoreError>;

    /// Records a worker's registration: inserts it, or replaces the one with the same id (its
    /// times and its keys), in one backend transaction, and deletes the registrations whose
    /// `alive_until` is more than a day before `worker.seen_at`. A worker records itself when it
    /// starts, again while it runs, and once with `alive_until = seen_at` when it stops.
    async fn heartbeat(&self, worker: WorkerRecord) -> Result<(), StoreError>;

    /// The recorded workers, alive or not, ordered by id, each with its keys ordered by
    /// workflow, hash and fingerprint.
    async fn workers(&self) -> Result<Vec<WorkerRecord>, StoreError>;

    /// Stores a new schedule (its revision 0, no lease), or returns the one stored with its id
    /// unchanged. Returns the schedule as stored.
    async fn create_schedule(&self, schedule: ScheduleRecord)
    -> Result<ScheduleRecord, StoreError>;

    /// A schedule by id ([`StoreError::ScheduleNotFound`] if none).
    async fn load_schedule(&self, id: &str) -> Result<ScheduleRecord, StoreError>;

    /// Every schedule, ordered by id (by their bytes).
    async fn schedules(&self) -> Result<Vec<ScheduleRecord>, StoreError>;

    /// Leases up to `claim.limit` schedules due at `claim.now` (not paused, `due_at <= now`,
    /// lease free or expired, of a workflow in `claim.served`), earliest due first, then by id.
    /// Each one's revision is bumped (so a write based on an earlier read fails) and its lease
    /// becomes `(claim.owner, claim.lease_until)`; the records returned carry both.
    async fn claim_schedules(
        &self,
        claim: ScheduleClaim,
    ) -> Result<Vec<ScheduleRecord>, StoreError>;

    /// Writes a schedule, atomically: fails with [`StoreError::ScheduleNotFound`] for an unknown
    /// id and [`StoreError::ScheduleConflict`] unless it is at `write.expected_revision`;
    /// otherwise creates the instances of `write.fire` (each as [`Store::create`] does: an
    /// existing id is left as it is), sets the schedule's fields as given, bumps its revision,
    /// drops its lease and returns it as stored. Wakes idle workers when it created an
    /// instance.
    async fn write_schedule(&self, write: ScheduleWrite) -> Result<ScheduleRecord, StoreError>;

    /// Deletes a schedule ([`StoreError::ScheduleNotFound`] if none). The instances it
    /// started are kept.
    async fn delete_schedule(&self, id: &str) -> Result<(), StoreError>;

    /// The earliest time at which a schedule of the `served` workflows becomes claimable (its
    /// due time, or its lease's expiry if later), over the schedules that are not paused and
    /// have a due time.
    async fn next_schedule_due(&self, served: &[String]) -> Result<Option<Timestamp>, StoreError>;
    /// Takes a slot of the concurrency limit `request.key` for `request.holder`, atomically:
    /// `true` if the holder holds one afterwards (it already held one, or fewer than
    /// `request.limit` live holders held one), `false` otherwise (the caller asks again
    /// later). A holder is live while its instance is leased under [`SlotHolder::lease`] and
    /// that lease has not expired at `request.now`: a slot held by a worker that died is free
    /// once its lease expires, and no two live holders ever exceed the limit, whichever
    /// processes ask. Holders no longer live are deleted here. Also records how many attempts
    /// of the holder's worker wait for the limit ([`SlotRequest::waiting`]), for
    /// [`Store::limit_usage`].
    async fn acquire_slot(&self, request: SlotRequest) -> Result<bool, StoreError>;

    /// Gives back the slot of `holder` in the limit `key`, if it holds one under that lease;
    /// otherwise does nothing.
    async fn release_slot(&self, key: &str, holder: &SlotHolder) -> Result<(), StoreError>;

    /// Reserves the next start of the rate limit `request.key`, atomically, and returns when
    /// it may happen (ms since the Unix epoch, rounded up): `request.now` while the key is
    /// within its burst, later otherwise. Every call reserves a start, whether the caller uses
    /// it or not: reserved starts are never closer than the interval past the burst (the key's
    /// theoretical arrival time moves by one interval per call, see [`gcra`]), whichever
    /// processes ask. The interval and burst of each call are the caller's (the latest ones
    /// asked apply to the next call).
    async fn reserve_start(&self, request: RateRequest) -> Result<Timestamp, StoreError>;

    /// Every limit a slot was asked of, ordered by key, with its live holders and the waiting
    /// attempts live workers reported, at `now`; and every admission gate, with its admitted
    /// unfinished instances (`in_use`) and the instances waiting for admission (`waiting`).
    async fn limit_usage(&self, now: Timestamp) -> Result<Vec<LimitUsage>, StoreError>;

    /// The running instances whose lease is live at `now` (held, `until` after `now`),
    /// ordered by owner then id: at most `limit` of them. Reads only leased instances.
    async fn leases(
        &self,
        now: Timestamp,
        limit: NonZeroUsize,
    ) -> Result<Vec<LeaseInfo>, StoreError>;

    /// Every rate limit a start was reserved of, ordered by key, with its state
    /// ([`RateUsage::in_use`] and [`RateUsage::waiting`] read it at a given time).
    async fn rate_usage(&self) -> Result<Vec<RateUsage>, StoreError>;

    /// Appends `entry` to the audit log and returns its id (greater than every id appended
    /// before it).
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<u64, StoreError>;

    /// A page of the audit log, newest first (by id): at most `query.limit` entries with an id
    /// below `query.before` (all when `None`).
    async fn audit(&self, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;

    /// Hints that new work may be due (an instance created, signalled, released or given an
    /// earlier due time, possibly by another process). Workers still poll as a fallback, so a
    /// backend without notifications returns `None`; a lagging receiver only means "look now".
    fn wakeups(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        None
    }
}
