//! Values the store persists and returns. The store never sees user types: state, outputs and
//! history payloads are opaque bytes owned by the runtime's codec.

use std::fmt;
use std::num::NonZeroUsize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::InvalidId;

mod admin;
mod audit;
mod builders;
mod into_id;
mod json;
mod kinds;
mod limits;
mod namespace;
mod schedules;

pub use admin::{Backlog, BlockChange, BlockWrite, LeaseInfo, TimeRange};
pub use audit::{AuditEntry, AuditQuery, AuditResult, NewAuditEntry};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use audit::{decode_targets, encode_targets};
pub use into_id::IntoInstanceId;
pub use kinds::{BlockKind, Status};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use kinds::{claimable_block_sql, code_list};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use limits::start_of;
pub(crate) use limits::waiting_block;
pub use limits::{LimitUsage, RateRequest, RateUsage, SlotHolder, SlotRequest, gcra};
pub use namespace::{DEFAULT_NAMESPACE, InvalidNamespace, MAX_NAMESPACE_LEN, Namespace};
pub use schedules::{ScheduleClaim, ScheduleLease, ScheduleRecord, ScheduleWrite};

/// Longest instance id accepted, in bytes.
pub const MAX_INSTANCE_ID_LEN: usize = 255;

/// A validated instance id: 1 to [`MAX_INSTANCE_ID_LEN`] bytes of UTF-8 with no control
/// characters and no leading or trailing whitespace.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(String);

impl std::str::FromStr for InstanceId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, InvalidId> {
        InstanceId::new(s)
    }
}

impl InstanceId {
    /// Validates `id`.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidId> {
        let id = id.into();
        if id.is_empty() {
            return Err(InvalidId::Empty);
        }
        if id.len() > MAX_INSTANCE_ID_LEN {
            return Err(InvalidId::TooLong {
                len: id.len(),
                max: MAX_INSTANCE_ID_LEN,
            });
        }
        if let Some(c) = id.chars().find(|c| c.is_control()) {
            return Err(InvalidId::ControlCharacter {
                id: id.escape_debug().to_string(),
                ch: c,
            });
        }
        if id.trim() != id {
            return Err(InvalidId::Whitespace { id });
        }
        Ok(Self(id))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl TryFrom<&str> for InstanceId {
    type Error = InvalidId;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<String> for InstanceId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

/// The blake3 hash of a workflow definition, computed at compile time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DefinitionHash(pub [u8; 32]);

impl DefinitionHash {
    /// The first 6 bytes in hex, as shown in logs.
    pub fn short(&self) -> String {
        hex(&self.0[..6])
    }
}

impl fmt::Display for DefinitionHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for DefinitionHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DefinitionHash({})", self.short())
    }
}

/// Structural fingerprint of the types a workflow definition stores (blake3, computed by the
/// runtime): inputs, outputs, carried fields, task arguments and returns, signal payloads,
/// context values. Two definitions with the same hash store the same bytes only if their
/// fingerprints match too.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of instances stored before fingerprints existed (the schema migration's
    /// default): it matches no definition.
    pub const UNKNOWN: Fingerprint = Fingerprint([0; 32]);

    /// The first 6 bytes in hex, as shown in logs.
    pub fn short(&self) -> String {
        hex(&self.0[..6])
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.short())
    }
}

/// The definition an instance runs under: declared version, definition hash, fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct DefinitionRef {
    /// Declared version (`#[workflow(version = N)]`).
    pub version: u32,
    /// Definition hash.
    pub hash: DefinitionHash,
    /// Structural fingerprint of the stored types.
    pub fingerprint: Fingerprint,
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Milliseconds since the Unix epoch. The runtime owns the clock and passes `now` in, so a
/// test clock can drive every time-dependent query.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        Self::from_system(SystemTime::now())
    }

    /// Converts a [`SystemTime`], saturating at the representable range.
    pub fn from_system(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Self(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Err(e) => Self(-i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX)),
        }
    }

    /// Milliseconds since the epoch.
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// `self + d`, saturating.
    // Not `std::ops::Add`: this saturates and takes a `Duration`, not another `Timestamp`.
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// Time from `self` until `later`, zero when `later` is not after `self`.
    pub fn until(self, later: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(later.0.saturating_sub(self.0)).unwrap_or(0))
    }
}

/// Identifies one worker (one engine's worker loop in one process) for leases.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct WorkerId(pub String);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A worker's registration in the store ([`Store::heartbeat`](crate::Store::heartbeat)): the
/// definitions it runs and until when it counts as alive.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WorkerRecord {
    /// The worker.
    pub id: WorkerId,
    /// When it started.
    pub started_at: Timestamp,
    /// When it last recorded itself.
    pub seen_at: Timestamp,
    /// Until when it counts as alive without recording itself again (a stopped worker records
    /// `alive_until = seen_at`).
    pub alive_until: Timestamp,
    /// The `(workflow, hash, fingerprint)` keys of the definitions it runs, ordered by
    /// workflow, hash and fingerprint when read back.
    pub runs: Vec<WorkflowKey>,
}

/// Registrations of workers that stopped being alive before this (a day before `seen_at`) are
/// deleted by [`Store::heartbeat`](crate::Store::heartbeat).
pub(crate) fn worker_horizon(seen_at: Timestamp) -> Timestamp {
    Timestamp(seen_at.0.saturating_sub(86_400_000))
}

impl WorkerRecord {
    /// Whether it counts as alive at `now`.
    pub fn alive_at(&self, now: Timestamp) -> bool {
        self.alive_until > now
    }
}

/// A block on an instance: it stays in the store untouched and is not dispatched.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Blocked {
    /// Category.
    pub kind: BlockKind,
    /// Human-readable explanation.
    pub reason: String,
    /// When the block was set.
    pub at: Timestamp,
}

/// A definition a worker can run: `(workflow name, definition hash, fingerprint)`. Claims and
/// version checks compare all three: an instance whose hash matches but whose fingerprint
/// differs is not of this definition.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct WorkflowKey {
    /// Workflow name.
    pub workflow: String,
    /// Definition hash.
    pub hash: DefinitionHash,
    /// Structural fingerprint.
    pub fingerprint: Fingerprint,
}

/// The head of an instance: its current state and metadata. Built by backends with
/// [`InstanceRecord::new`] and its setters.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct InstanceRecord {
    /// Instance id.
    pub id: InstanceId,
    /// Workflow name.
    pub workflow: String,
    /// Declared version of the definition the instance runs under (1 for instances stored
    /// before versions were recorded).
    pub version: u32,
    /// Definition hash the instance runs under.
    pub hash: DefinitionHash,
    /// Fingerprint of the definition the instance runs under ([`Fingerprint::UNKNOWN`] for
    /// instances stored before fingerprints were recorded).
    pub fingerprint: Fingerprint,
    /// Sequence number of the last committed transition (0 after create).
    pub seq: u64,
    /// Lifecycle.
    pub status: Status,
    /// Stable identity of the state the instance is in (e.g. `charge#1`); `None` once
    /// finished (and for instances stored before state ids were recorded).
    pub state_id: Option<String>,
    /// Encoded state while running; `None` once finished.
    pub state: Option<Vec<u8>>,
    /// Encoded output once finished.
    pub output: Option<Vec<u8>>,
    /// When the instance is next runnable; `None` when it waits for an external event or is
    /// finished.
    pub due_at: Option<Timestamp>,
    /// Set when the instance is kept out of dispatch (or, for a request kind, when an
    /// operator asked its next worker for something: see [`BlockKind::is_request`]).
    pub blocked: Option<Blocked>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Time of the last commit.
    pub updated_at: Timestamp,
    /// The lease of the last claim, while it is held: `None` once released (by its holder,
    /// by a finishing transition, by a restart, by the worker's unregistration) or never
    /// taken. A lease past its expiry is still reported, with its `until`: whether it is live
    /// depends on the time it is looked at.
    pub lease: Option<LeaseHolder>,
    /// The trace context of whoever started (or last restarted) the instance, as the runtime
    /// wrote it (W3C `traceparent`, then a line feed and the `tracestate` when there is one);
    /// `None` when none was recorded. Opaque to the store.
    pub trace_context: Option<String>,
    /// Claim priority as started (higher first, 0 the default; see
    /// [`NewInstance::priority`]). Written once, at creation.
    pub priority: i8,
    /// Head start the instance is claimed with: claims rank it as if it had fallen due this
    /// many milliseconds earlier (`due_at - head_start_ms`, then id), every time it falls due.
    /// 0 for priority 0. Written once, at creation.
    pub head_start_ms: i64,
    /// The concurrency key it was started with (`StartOptions::concurrency_key`), if any.
    pub concurrency_key: Option<String>,
}

/// Who holds the lease on an instance, until when, and under which claim
/// ([`InstanceRecord::lease`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LeaseHolder {
    /// The worker that claimed the instance.
    pub owner: WorkerId,
    /// The lease's expiry (as the claim or the last renewal set it).
    pub until: Timestamp,
    /// The generation of the claim (see [`Lease`]).
    pub generation: u64,
}

impl LeaseHolder {
    /// Whether the lease is live at `now` (it ends at `until`: a lease expiring at `now` can
    /// be taken over).
    pub fn live_at(&self, now: Timestamp) -> bool {
        self.until > now
    }

    /// The lease as renewals and releases name it: owner and generation.
    pub fn lease(&self) -> Lease {
        Lease {
            owner: self.owner.clone(),
            generation: self.generation,
        }
    }
}

/// An instance without its blobs, as returned by listings.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct InstanceSummary {
    /// Instance id.
    pub id: InstanceId,
    /// Workflow name.
    pub workflow: String,
    /// Declared version.
    pub version: u32,
    /// Definition hash.
    pub hash: DefinitionHash,
    /// Fingerprint.
    pub fingerprint: Fingerprint,
    /// Sequence number of the last committed transition.
    pub seq: u64,
    /// Lifecycle.
    pub status: Status,
    /// Stable identity of the current state; `None` once finished.
    pub state_id: Option<String>,
    /// Next due time.
    pub due_at: Option<Timestamp>,
    /// Block, if any.
    pub blocked: Option<Blocked>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Time of the last commit.
    pub updated_at: Timestamp,
    /// Claim priority as started ([`InstanceRecord::priority`]).
    pub priority: i8,
}

/// The definition an instance runs under and the key that claims it, from its head, its
/// summary or a count of instances.
macro_rules! definition_accessors {
    ($($t:ty),*) => {$(
        impl $t {
            /// The definition it runs under.
            pub fn definition(&self) -> DefinitionRef {
                DefinitionRef {
                    version: self.version,
                    hash: self.hash,
                    fingerprint: self.fingerprint,
                }
            }

            /// The key a worker must know to claim it: workflow, hash, fingerprint.
            pub fn key(&self) -> WorkflowKey {
                WorkflowKey {
                    workflow: self.workflow.clone(),
                    hash: self.hash,
                    fingerprint: self.fingerprint,
                }
            }
        }
    )*};
}
definition_accessors!(InstanceRecord, InstanceSummary, VersionCount);

impl From<&InstanceRecord> for InstanceSummary {
    fn from(r: &InstanceRecord) -> Self {
        Self {
            id: r.id.clone(),
            workflow: r.workflow.clone(),
            version: r.version,
            hash: r.hash,
            fingerprint: r.fingerprint,
            seq: r.seq,
            status: r.status,
            state_id: r.state_id.clone(),
            due_at: r.due_at,
            blocked: r.blocked.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            priority: r.priority,
        }
    }
}

/// A new instance. It is created with sequence number 0 and a history entry 0 holding `event`.
/// Built with [`NewInstance::new`] and its setters.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct NewInstance {
    /// Instance id.
    pub id: InstanceId,
    /// Workflow name.
    pub workflow: String,
    /// Declared version.
    pub version: u32,
    /// Definition hash.
    pub hash: DefinitionHash,
    /// Fingerprint.
    pub fingerprint: Fingerprint,
    /// Id of the initial state (e.g. `start`).
    pub state_id: String,
    /// Runtime-encoded input the instance is created with, kept for restarts
    /// ([`Store::load_input`](crate::Store::load_input)).
    pub input: Vec<u8>,
    /// Encoded initial state.
    pub state: Vec<u8>,
    /// When it is first runnable.
    pub due_at: Option<Timestamp>,
    /// History entry 0.
    pub event: Event,
    /// Creation time.
    pub now: Timestamp,
    /// The trace context of the caller that creates it ([`InstanceRecord::trace_context`]).
    pub trace_context: Option<String>,
    /// Claim priority: higher first (0 is the default). See `docs/flow-control.md`.
    pub priority: i8,
    /// The head start of its claims, in milliseconds: a claim orders it as if it had fallen
    /// due this much earlier (`priority` × the engine's priority step; 0 for priority 0).
    pub head_start_ms: i64,
    /// Admission gates: the instance runs only once admitted by every one of them (a
    /// concurrency limit per workflow type or per key). Empty for most instances. A gate key
    /// must not contain a line feed.
    pub gates: Vec<GateRequest>,
    /// The concurrency key it is started with ([`InstanceRecord::concurrency_key`]).
    pub concurrency_key: Option<String>,
}

/// An admission gate a new instance must pass before it runs: at most `limit` admitted and
/// unfinished instances hold gate `key` at once; the others wait, in order of creation.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct GateRequest {
    /// The gate: `workflow:<name>` for a workflow type's limit, `key:<key>` for a key's.
    pub key: String,
    /// Its limit, as this instance asks it (the last one asked is the gate's limit; 0 is
    /// taken as 1).
    pub limit: u32,
}

impl GateRequest {
    /// Gate `key` with at most `limit` admitted instances.
    pub fn new(key: impl Into<String>, limit: u32) -> Self {
        Self {
            key: key.into(),
            limit,
        }
    }
}

/// Result of [`Store::create`](crate::Store::create).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Created {
    /// The instance was inserted.
    New(InstanceRecord),
    /// An instance with that id already existed; it is returned unchanged.
    Existing(InstanceRecord),
}

/// What a transition leaves behind.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Next {
    /// The instance keeps running with a new state.
    Running {
        /// Encoded state.
        state: Vec<u8>,
        /// Next due time (`None`: wait for an external event).
        due_at: Option<Timestamp>,
        /// Stable identity of the new state.
        state_id: String,
    },
    /// The instance finishes. Its lease is released and its state id cleared.
    Finished {
        /// `Completed`, `Failed` or `Cancelled`.
        status: Status,
        /// Encoded output.
        output: Vec<u8>,
    },
}

/// One history entry, appended by each transition.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Event {
    /// Short runtime-defined kind, e.g. `started`, `task`.
    pub kind: String,
    /// Runtime-encoded payload (what caused the transition, not a copy of the state).
    pub payload: Vec<u8>,
}

/// One atomic step of an instance: compare-and-swap on `expected_seq`, then write the new head
/// and append history entry `expected_seq + 1`, all in one store transaction. Built with
/// [`Transition::new`] and its setters.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Transition {
    /// Instance id.
    pub id: InstanceId,
    /// The sequence number the writer last saw; the commit fails with
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) if the head moved on.
    pub expected_seq: u64,
    /// The new head.
    pub next: Next,
    /// The history entry, numbered `expected_seq + 1`.
    pub event: Event,
    /// More history entries written by the same commit, numbered `expected_seq + 2` onwards
    /// in order: the engine folds several results (a join's branches that finished while
    /// its previous commit was in flight) into one transition, each still recorded. The
    /// head's sequence number after the commit is `expected_seq + 1 + extra_events.len()`.
    /// Empty for a transition of one event.
    pub extra_events: Vec<Event>,
    /// Release this lease in the same commit (its holder stops driving the instance), if the
    /// instance is still leased under it: same owner and same generation. A lease of a later
    /// claim (by another worker, or by the same one after this lease expired) is kept. A
    /// finishing transition releases whatever lease the instance has, whatever this says.
    pub release_lease: Option<Lease>,
    /// Buffered signals (ids from [`Store::signals`](crate::Store::signals)) this transition
    /// consumes: deleted in the same store transaction. If any of them is no longer pending
    /// (consumed by another writer, or not a signal of this instance) the whole transition
    /// fails with [`StoreError::Conflict`](crate::StoreError::Conflict) and nothing is written.
    pub consume_signals: Vec<u64>,
    /// Start a new run (`continue_as_new`): delete the history entries up to `expected_seq`
    /// before appending entry `expected_seq + 1`, so history kept stays bounded by one run.
    pub truncate_history: bool,
    /// Move the instance to another definition of the same workflow in the same commit: its
    /// version, hash and fingerprint become these (a migration in place to a newer version).
    /// The workflow name never changes.
    pub redefine: Option<DefinitionRef>,
    /// Names of the signals the new state waits for. When a signal with one of these names
    /// is still buffered after the commit (sent before it and not consumed by it), the
    /// instance is made due now whatever `due_at` says, so no buffered signal is left behind
    /// by a writer that dies before it looks again.
    pub listening: Vec<String>,
    /// What to do with the instance's block in the same commit: keep it as it is (the
    /// default), set it, or clear it. Keeping costs nothing; setting or clearing is written
    /// atomically with the rest. It does not lift the rule that a paused instance takes no
    /// transition except one that finishes it.
    pub block: BlockWrite,
    /// Commit time.
    pub now: Timestamp,
}

/// A signal sent to an instance, buffered until a transition consumes it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NewSignal {
    /// Target instance.
    pub id: InstanceId,
    /// Signal name.
    pub name: String,
    /// Runtime-encoded payload.
    pub payload: Vec<u8>,
    /// Send time.
    pub now: Timestamp,
}

/// A buffered signal.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignalRecord {
    /// Store-assigned id, increasing in send order within a store.
    pub signal_id: u64,
    /// Signal name.
    pub name: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// Send time.
    pub sent_at: Timestamp,
}

/// A history entry as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HistoryEntry {
    /// Sequence number (0 is the creation).
    pub seq: u64,
    /// Commit time.
    pub at: Timestamp,
    /// Kind.
    pub kind: String,
    /// Payload.
    pub payload: Vec<u8>,
}

/// The lease one claim gives a worker on an instance: the worker and the claim's generation.
///
/// Every claim of an instance gives it the next generation (the first claim gets 1), so two
/// claims of the same instance by the same worker (the second one after the first one's lease
/// expired) hold different leases: a driver left over from the first one can neither renew
/// nor release the second one's lease.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Lease {
    /// The worker holding it.
    pub owner: WorkerId,
    /// The generation of the claim that took it.
    pub generation: u64,
}

/// One claim of an instance, as [`Store::renew`](crate::Store::renew) and
/// [`Store::release`](crate::Store::release) name the leases of their owner.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Claim {
    /// The instance.
    pub id: InstanceId,
    /// The generation of the claim (see [`Lease`]).
    pub generation: u64,
}

/// An instance leased by [`Store::claim`](crate::Store::claim): its head and the generation of
/// this claim.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Claimed {
    /// The head, as the claim left it.
    pub record: InstanceRecord,
    /// The generation of this claim (see [`Lease`]).
    pub generation: u64,
    /// Whether the claim took a lease that was never given up: the instance was leased
    /// (to this worker or another) until a time now past, and not released. A takeover after
    /// a worker died or stalled; `false` for an instance released, parked or never claimed.
    pub took_over: bool,
}

impl Claimed {
    /// The claim, as [`Store::renew`](crate::Store::renew) and
    /// [`Store::release`](crate::Store::release) name it.
    pub fn claim(&self) -> Claim {
        Claim {
            id: self.record.id.clone(),
            generation: self.generation,
        }
    }
}

/// Parameters of [`Store::claim`](crate::Store::claim).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ClaimRequest {
    /// The claiming worker.
    pub owner: WorkerId,
    /// Current time: instances with `due_at <= now` and no live lease are claimable.
    pub now: Timestamp,
    /// Lease expiry to set.
    pub lease_until: Timestamp,
    /// At most this many.
    pub limit: usize,
    /// Only instances of these `(workflow, hash, fingerprint)` definitions.
    pub known: Vec<WorkflowKey>,
}

/// Filter for [`Store::list`](crate::Store::list). Results are ordered by id. Built with
/// [`ListQuery::new`] (everything, no limit) and its setters:
/// `ListQuery::new().workflow("checkout").blocked(true).limit(NonZeroUsize::new(50))`.
/// Every filter set must hold (they combine with AND).
///
/// Pages are read by keyset ([`ListQuery::after`] the last id of the previous page), so a page
/// deep in a listing costs what the first one does. The SQL backends keep a page of a few
/// dozen instances fast on a store of millions for: no filter, a status, a workflow (with a
/// status, and with a version and a status), one block kind or
/// [`ListQuery::needs_attention`], an id prefix, and each of those with a status; a created
/// range reads the instances created in the range (fast for a range that holds a small part
/// of the store, or with a selective filter beside it). The filters that no index serves
/// (state id, [`ListQuery::updated`]: the columns every step writes stay out of every index,
/// so that steps stay cheap) are checked on the rows the other filters (or the id order)
/// select: alone, they may read much of the store to fill a page.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct ListQuery {
    /// Only this workflow.
    pub workflow: Option<String>,
    /// Only this declared version.
    pub version: Option<u32>,
    /// Only this status.
    pub status: Option<Status>,
    /// Only instances in the state with this id.
    pub state_id: Option<String>,
    /// Only blocked (`Some(true)`) or unblocked (`Some(false)`) instances.
    pub blocked: Option<bool>,
    /// Only instances blocked by one of these kinds (an empty list: none).
    pub block_kinds: Option<Vec<BlockKind>>,
    /// Only instances created in this range.
    pub created: TimeRange,
    /// Only instances last written (committed, created or restarted) in this range. No index
    /// serves it (see above).
    pub updated: TimeRange,
    /// Only ids starting with this (compared byte by byte; the empty string: every id).
    pub id_prefix: Option<String>,
    /// Keyset cursor: ids strictly greater than this.
    pub after: Option<InstanceId>,
    /// At most this many instances (`None`: no limit). Damaged rows reported beside them
    /// ([`Listing::damaged`](crate::Listing::damaged)) do not count.
    pub limit: Option<NonZeroUsize>,
}

/// Restart of an instance as a new run (see [`Store::restart`](crate::Store::restart)).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Restart {
    /// Instance id.
    pub id: InstanceId,
    /// The sequence number the caller last saw; the restart fails with
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) if the head moved on.
    pub expected_seq: u64,
    /// The (possibly newer) definition the new run runs under.
    pub definition: DefinitionRef,
    /// The new run's encoded input (replaces the stored one).
    pub input: Vec<u8>,
    /// Its encoded initial state.
    pub state: Vec<u8>,
    /// Id of its initial state.
    pub state_id: String,
    /// When it is first runnable.
    pub due_at: Option<Timestamp>,
    /// History entry `expected_seq + 1` (kind `restarted`).
    pub event: Event,
    /// Restart time.
    pub now: Timestamp,
    /// The trace context of the caller that restarts it: `Some` replaces the stored one
    /// ([`InstanceRecord::trace_context`]), `None` keeps it.
    pub trace_context: Option<String>,
}

/// A workflow definition as registered by some binary: its identity and the runtime-encoded
/// description of its states and types.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DefinitionRecord {
    /// Workflow name.
    pub workflow: String,
    /// Declared version.
    pub version: u32,
    /// Definition hash.
    pub hash: DefinitionHash,
    /// Fingerprint.
    pub fingerprint: Fingerprint,
    /// Opaque description of the definition (the runtime's encoding).
    pub shape: Vec<u8>,
    /// When it was first registered.
    pub created_at: Timestamp,
}

/// The number of instances of one definition in one status and block kind, for drain
/// monitoring ([`Store::version_counts`](crate::Store::version_counts)).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VersionCount {
    /// Workflow name.
    pub workflow: String,
    /// Declared version.
    pub version: u32,
    /// Definition hash.
    pub hash: DefinitionHash,
    /// Fingerprint.
    pub fingerprint: Fingerprint,
    /// Status.
    pub status: Status,
    /// Block kind (`None`: not blocked).
    pub blocked: Option<BlockKind>,
    /// Number of instances.
    pub count: u64,
}
