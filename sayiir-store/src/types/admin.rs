//! What operators' tools ask of the store: block writes in commits, compare-and-set changes
//! of a block ([`Store::update_block`](crate::Store::update_block)), time ranges of listings,
//! and the backlog of due instances ([`Store::backlog`](crate::Store::backlog)).

use serde::Serialize;

use super::{BlockKind, Blocked, InstanceId, Timestamp, WorkerId};

/// What a transition does to the instance's block ([`Transition::block`]).
///
/// [`Transition::block`]: crate::Transition::block
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub enum BlockWrite {
    /// Leave the block columns as they are (the default; it writes nothing more).
    #[default]
    Keep,
    /// Set this block.
    Set(Blocked),
    /// Clear the block, whatever it is.
    Clear,
}

impl BlockWrite {
    /// The block the instance has after a write of this over `current`.
    pub(crate) fn applied_to(&self, current: Option<Blocked>) -> Option<Blocked> {
        match self {
            BlockWrite::Keep => current,
            BlockWrite::Set(b) => Some(b.clone()),
            BlockWrite::Clear => None,
        }
    }

    /// The block columns to write (`kind, reason, at`), `None` for [`BlockWrite::Keep`].
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn columns(&self) -> Option<(Option<i64>, Option<&str>, Option<i64>)> {
        match self {
            BlockWrite::Keep => None,
            BlockWrite::Set(b) => {
                Some((Some(b.kind.code()), Some(b.reason.as_str()), Some(b.at.0)))
            }
            BlockWrite::Clear => Some((None, None, None)),
        }
    }
}

/// An operator's compare-and-set of an instance's block
/// ([`Store::update_block`](crate::Store::update_block)): if the instance's block kind is one
/// of `from` (`None`: not blocked), its block becomes `to` (`None`: cleared). Built with
/// [`BlockChange::new`] and [`BlockChange::wake`].
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct BlockChange {
    /// The instance.
    pub id: InstanceId,
    /// The blocks it may have for the change to apply: kinds, and `None` for "not blocked".
    pub from: Vec<Option<BlockKind>>,
    /// Its block afterwards (`None`: not blocked).
    pub to: Option<Blocked>,
    /// Also make it due now (its due time becomes `min(due_at, now)`; none becomes `now`),
    /// so that a worker claims it at once.
    pub wake: bool,
    /// The time of the change (the due time `wake` sets).
    pub now: Timestamp,
}

impl BlockChange {
    /// The change of `id`'s block from one of `from` to `to` at `now`, without waking it.
    pub fn new(
        id: InstanceId,
        from: impl IntoIterator<Item = Option<BlockKind>>,
        to: impl Into<Option<Blocked>>,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            from: from.into_iter().collect(),
            to: to.into(),
            wake: false,
            now,
        }
    }

    /// Sets [`BlockChange::wake`].
    #[must_use]
    pub fn wake(mut self, wake: bool) -> Self {
        self.wake = wake;
        self
    }

    /// Whether an instance whose block kind is `current` may change.
    pub(crate) fn allows(&self, current: Option<BlockKind>) -> bool {
        self.from.contains(&current)
    }

    /// Whether the instance is claimable afterwards as far as its block goes (not blocked, or
    /// blocked by a kind claims take).
    #[cfg(feature = "postgres")]
    pub(crate) fn leaves_claimable(&self) -> bool {
        self.to.as_ref().is_none_or(|b| b.kind.claimable())
    }
}

/// A range of times: `from` (inclusive) to `until` (exclusive); a missing bound is open. The
/// default is every time.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct TimeRange {
    /// The earliest time in the range.
    pub from: Option<Timestamp>,
    /// The first time after the range.
    pub until: Option<Timestamp>,
}

impl TimeRange {
    /// Whether `t` is in the range.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.from.is_none_or(|f| t >= f) && self.until.is_none_or(|u| t < u)
    }

    /// Whether the range holds every time (no bound).
    pub fn is_everything(&self) -> bool {
        self.from.is_none() && self.until.is_none()
    }
}

/// The instances due but not claimed ([`Store::backlog`](crate::Store::backlog)).
///
/// A store of another crate builds one from `Backlog::default()`, setting the fields (more
/// may come).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Backlog {
    /// How many.
    pub due: u64,
    /// The earliest due time among them (`None` when there are none).
    pub oldest_due: Option<Timestamp>,
    /// Instances that need an operator, due or not: blocked by a kind that
    /// [needs attention](crate::BlockKind::needs_attention).
    pub needs_attention: u64,
    /// Of those, the instances [parked](crate::BlockKind::Parked) after their retries ran
    /// out (the dead letters).
    pub parked: u64,
}

/// A live lease on a running instance ([`Store::leases`](crate::Store::leases)): which worker
/// holds the instance, until when, and the state the instance is in.
///
/// Written by serde with the ids as strings and `until` in milliseconds since the epoch.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[non_exhaustive]
pub struct LeaseInfo {
    /// The instance.
    pub id: InstanceId,
    /// Its workflow.
    pub workflow: String,
    /// The stable identity of the state it is in (`None` for instances stored before state
    /// ids were recorded).
    pub state_id: Option<String>,
    /// The worker holding the lease.
    pub owner: WorkerId,
    /// The lease's expiry (as the claim or the last renewal set it).
    pub until: Timestamp,
}

impl LeaseInfo {
    /// The lease `owner` holds on `id` until `until`. For stores of other crates.
    pub fn new(
        id: InstanceId,
        workflow: impl Into<String>,
        state_id: Option<String>,
        owner: WorkerId,
        until: Timestamp,
    ) -> Self {
        Self {
            id,
            workflow: workflow.into(),
            state_id,
            owner,
            until,
        }
    }
}
