//! Flow control: the slots of concurrency limits, held by task attempts under their
//! instance's lease (see [`Store::acquire_slot`](crate::Store::acquire_slot)).

use std::num::{NonZeroU32, NonZeroU64};

use super::{BlockKind, Blocked, InstanceId, Lease, Timestamp};

/// The block of an instance waiting for admission by its gates
/// ([`BlockKind::AwaitingAdmission`]), set by the store.
pub(crate) fn waiting_block(now: Timestamp) -> Blocked {
    Blocked {
        kind: BlockKind::AwaitingAdmission,
        reason: "waiting for admission by its concurrency limits".into(),
        at: now,
    }
}

/// Who holds (or waits for) a slot: one call of one instance, under the lease of the claim
/// that runs it. The slot is live while the instance is leased under `lease` and that lease
/// has not expired; once the lease is released, expired or taken by a later claim, the slot
/// is free again, whatever became of the process that held it.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub struct SlotHolder {
    /// The instance.
    pub instance: InstanceId,
    /// The call within the instance (the runtime names it by its place in the state), so
    /// that two branches of one join calling the same task hold two slots.
    pub call: String,
    /// The lease of the claim running the call.
    pub lease: Lease,
}

impl SlotHolder {
    /// The call `call` of `instance`, run under `lease`.
    pub fn new(instance: InstanceId, call: impl Into<String>, lease: Lease) -> Self {
        Self {
            instance,
            call: call.into(),
            lease,
        }
    }
}

/// Parameters of [`Store::acquire_slot`](crate::Store::acquire_slot).
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct SlotRequest {
    /// The limit's key (the runtime writes `task:<name>`), any non-empty text.
    pub key: String,
    /// At most this many live holders of `key` at once (the limit as configured by the
    /// caller: the latest request's value is what the store reports).
    pub limit: NonZeroU32,
    /// The holder asking.
    pub holder: SlotHolder,
    /// Current time: holders whose lease ends at or before it are not counted.
    pub now: Timestamp,
    /// The attempts of the holder's worker (`holder.lease.owner`) waiting for a slot of this
    /// limit, this one included (1 by default): what [`LimitUsage::waiting`] counts for that
    /// worker afterwards (this many if the request is refused, one fewer if it is granted),
    /// until its next request, or until the holder's lease ends.
    pub waiting: u64,
}

impl SlotRequest {
    /// A request for a slot of `key`, limited to `limit` holders, by `holder` at `now`.
    pub fn new(
        key: impl Into<String>,
        limit: NonZeroU32,
        holder: SlotHolder,
        now: Timestamp,
    ) -> Self {
        Self {
            key: key.into(),
            limit,
            holder,
            now,
            waiting: 1,
        }
    }

    /// Sets [`SlotRequest::waiting`].
    pub fn waiting(mut self, waiting: u64) -> Self {
        self.waiting = waiting;
        self
    }
}

/// The usage of one limit, as [`Store::limit_usage`](crate::Store::limit_usage) reports it.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct LimitUsage {
    /// The limit's key.
    pub key: String,
    /// Its limit, as last requested.
    pub limit: u32,
    /// Live holders of a slot.
    pub in_use: u64,
    /// Attempts waiting for a slot, as the workers whose last request was refused (or granted
    /// with others still waiting) reported them ([`SlotRequest::waiting`]), counted while the
    /// lease of that request's holder is live.
    pub waiting: u64,
}

/// Parameters of [`Store::reserve_start`](crate::Store::reserve_start): one start of the rate
/// limit `key`, a generic cell rate algorithm (GCRA) kept as one theoretical arrival time per
/// key.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct RateRequest {
    /// The limit's key (the runtime writes `task:<name>`), any non-empty text.
    pub key: String,
    /// The time between two starts past the burst, in microseconds (1 000 000 / 100 for
    /// "100 per second").
    pub interval_us: NonZeroU64,
    /// How many starts may fall at the same instant (at least 1).
    pub burst: NonZeroU32,
    /// Current time.
    pub now: Timestamp,
}

impl RateRequest {
    /// A start of `key`, spaced `interval_us` past a burst of `burst`, asked at `now`.
    pub fn new(
        key: impl Into<String>,
        interval_us: NonZeroU64,
        burst: NonZeroU32,
        now: Timestamp,
    ) -> Self {
        Self {
            key: key.into(),
            interval_us,
            burst,
            now,
        }
    }
}

/// The state of one rate limit, as [`Store::rate_usage`](crate::Store::rate_usage) reports
/// it: its theoretical arrival time and the interval and burst last asked.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct RateUsage {
    /// The limit's key.
    pub key: String,
    /// The time between two starts past the burst, in microseconds.
    pub interval_us: u64,
    /// How many starts may fall at the same instant.
    pub burst: u32,
    /// The key's theoretical arrival time, µs since the Unix epoch: one interval past the
    /// last start reserved.
    pub tat_us: i64,
}

impl RateUsage {
    /// A rate limit's state.
    pub fn new(key: impl Into<String>, interval_us: u64, burst: u32, tat_us: i64) -> Self {
        Self {
            key: key.into(),
            interval_us,
            burst,
            tat_us,
        }
    }

    /// How many reserved starts still occupy an interval at `now`:
    /// ⌈(`tat_us` − now) / interval⌉, 0 once the theoretical arrival time has passed.
    fn occupied(&self, now: Timestamp) -> u64 {
        let ahead = i128::from(self.tat_us) - i128::from(now.0) * 1000;
        let interval = i128::from(self.interval_us.max(1));
        if ahead <= 0 {
            return 0;
        }
        u64::try_from((ahead + interval - 1) / interval).unwrap_or(u64::MAX)
    }

    /// Of the burst, the starts in use at `now` (at most `burst`): a start reserved now runs
    /// at once while this is below `burst`.
    pub fn in_use(&self, now: Timestamp) -> u64 {
        self.occupied(now).min(u64::from(self.burst))
    }

    /// The starts reserved for later than `now`: attempts waiting for their turn (or
    /// reservations of attempts that ended without using them).
    pub fn waiting(&self, now: Timestamp) -> u64 {
        self.occupied(now).saturating_sub(u64::from(self.burst))
    }
}

/// The start a [`RateRequest`] reserves, given the key's theoretical arrival time `tat_us`
/// before the request (µs since the Unix epoch; `None` for a new key): the new `tat_us` and
/// the start time (ms since the Unix epoch, rounded up). The backends store the same
/// arithmetic in SQL; this is its reference.
pub fn gcra(tat_us: Option<i64>, req: &RateRequest) -> (i64, Timestamp) {
    let now_us = req.now.0.saturating_mul(1000);
    let interval = i64::try_from(req.interval_us.get()).unwrap_or(i64::MAX);
    let tat = tat_us
        .map_or(now_us, |t| t.max(now_us))
        .saturating_add(interval);
    (tat, start_of(tat, req))
}

/// The start reserved by a request that moved the key's theoretical arrival time to `tat_us`:
/// `burst` intervals before it, not before `now` (ms, rounded up).
pub(crate) fn start_of(tat_us: i64, req: &RateRequest) -> Timestamp {
    let interval = i64::try_from(req.interval_us.get()).unwrap_or(i64::MAX);
    let back = interval.saturating_mul(i64::from(req.burst.get()));
    let start_us = req
        .now
        .0
        .saturating_mul(1000)
        .max(tat_us.saturating_sub(back));
    Timestamp(start_us.div_euclid(1000) + i64::from(start_us.rem_euclid(1000) != 0))
}
