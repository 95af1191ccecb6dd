//! Schedules as the store keeps them: the runtime's description of when to fire (opaque
//! text), the input of each run (opaque bytes) and the little the store needs to hand each
//! tick to exactly one worker: the next tick, a due time, a lease and a revision.

use serde::Serialize;

use super::{InstanceId, NewInstance, Timestamp, WorkerId};

/// A schedule as stored. The store interprets none of `spec`, `input` or the times beyond
/// comparing `due_at` with the time of a claim: what the ticks are is the runtime's business.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ScheduleRecord {
    /// The schedule's id.
    pub id: String,
    /// The name of the workflow each tick starts.
    pub workflow: String,
    /// The runtime's description of the schedule (cron, time zone, policies), as text.
    pub spec: String,
    /// The input of each run, as the runtime encoded it.
    #[serde(skip)]
    pub input: Vec<u8>,
    /// Paused schedules are never claimed.
    pub paused: bool,
    /// The earliest tick not handled yet; `None`: no tick left (past the end).
    pub next_tick: Option<Timestamp>,
    /// A tick held back until the run before it finishes (overlap policy "buffer one").
    pub buffered: Option<Timestamp>,
    /// When a worker should look at the schedule next; claims take schedules due by their
    /// time, earliest first.
    pub due_at: Option<Timestamp>,
    /// The instance the last fired tick started.
    pub last_instance: Option<InstanceId>,
    /// The last problem met firing it, for operators (cleared by the runtime once it fires).
    pub note: Option<String>,
    /// Bumped by every write and every claim: the compare-and-swap token of
    /// [`Store::write_schedule`](crate::Store::write_schedule).
    pub revision: u64,
    /// The lease of the last claim, while held or until the next write.
    pub lease: Option<ScheduleLease>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last written (created, claimed, written).
    pub updated_at: Timestamp,
}

/// The lease of a claimed schedule.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ScheduleLease {
    /// The worker holding it.
    pub owner: WorkerId,
    /// Until when.
    pub until: Timestamp,
}

impl ScheduleLease {
    /// Whether the lease still holds at `now`.
    pub fn live_at(&self, now: Timestamp) -> bool {
        self.until > now
    }
}

/// A worker's request to claim due schedules ([`Store::claim_schedules`](crate::Store::claim_schedules)).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ScheduleClaim {
    /// The worker claiming.
    pub owner: WorkerId,
    /// The time of the claim: schedules with `due_at <= now` are due.
    pub now: Timestamp,
    /// Until when the claimed schedules are leased.
    pub lease_until: Timestamp,
    /// At most this many.
    pub limit: usize,
    /// Only schedules of these workflows (those the worker can start).
    pub served: Vec<String>,
}

/// A compare-and-swap write of a schedule ([`Store::write_schedule`](crate::Store::write_schedule)):
/// a worker handling its ticks, or an operator's change.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ScheduleWrite {
    /// The schedule.
    pub id: String,
    /// The revision the writer read (or claimed); the write fails if it moved on.
    pub expected_revision: u64,
    /// The time of the write.
    pub now: Timestamp,
    /// A new description (`None`: keep).
    pub spec: Option<String>,
    /// A new input (`None`: keep).
    pub input: Option<Vec<u8>>,
    /// Whether it is paused from now on.
    pub paused: bool,
    /// Its next tick from now on.
    pub next_tick: Option<Timestamp>,
    /// Its buffered tick from now on.
    pub buffered: Option<Timestamp>,
    /// Its due time from now on.
    pub due_at: Option<Timestamp>,
    /// Its last instance from now on.
    pub last_instance: Option<InstanceId>,
    /// Its note from now on.
    pub note: Option<String>,
    /// Instances created in the same backend transaction, each as by
    /// [`Store::create`](crate::Store::create) (an existing id is left as it is): the runs of
    /// the ticks this write hands over.
    pub fire: Vec<NewInstance>,
}

impl ScheduleWrite {
    /// A write of `record` as it is (the revision it has, nothing fired): change the fields
    /// that should change, then write it.
    pub fn of(record: &ScheduleRecord, now: Timestamp) -> Self {
        Self {
            id: record.id.clone(),
            expected_revision: record.revision,
            now,
            spec: None,
            input: None,
            paused: record.paused,
            next_tick: record.next_tick,
            buffered: record.buffered,
            due_at: record.due_at,
            last_instance: record.last_instance.clone(),
            note: record.note.clone(),
            fire: Vec::new(),
        }
    }
}
