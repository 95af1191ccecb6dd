//! Schedules in memory: the reference semantics of the schedule operations.

use std::collections::BTreeMap;

use super::{Row, create};
use crate::{
    InstanceId, ScheduleClaim, ScheduleLease, ScheduleRecord, ScheduleWrite, StoreError, Timestamp,
};

pub(super) type Schedules = BTreeMap<String, ScheduleRecord>;

fn not_found(id: &str) -> StoreError {
    StoreError::ScheduleNotFound { id: id.to_owned() }
}

fn lease_free(s: &ScheduleRecord, now: Timestamp) -> bool {
    s.lease.as_ref().is_none_or(|l| !l.live_at(now))
}

pub(super) fn create_schedule(all: &mut Schedules, mut s: ScheduleRecord) -> ScheduleRecord {
    all.entry(s.id.clone())
        .or_insert_with(|| {
            s.revision = 0;
            s.lease = None;
            s.updated_at = s.created_at;
            s
        })
        .clone()
}

pub(super) fn claim(all: &mut Schedules, c: &ScheduleClaim) -> Vec<ScheduleRecord> {
    let mut due: Vec<(Timestamp, String)> = all
        .values()
        .filter(|s| {
            !s.paused
                && s.due_at.is_some_and(|d| d <= c.now)
                && lease_free(s, c.now)
                && c.served.contains(&s.workflow)
        })
        .filter_map(|s| s.due_at.map(|d| (d, s.id.clone())))
        .collect();
    due.sort();
    due.truncate(c.limit);
    let mut out = Vec::with_capacity(due.len());
    for (_, id) in due {
        if let Some(s) = all.get_mut(&id) {
            s.revision += 1;
            s.lease = Some(ScheduleLease {
                owner: c.owner.clone(),
                until: c.lease_until,
            });
            s.updated_at = c.now;
            out.push(s.clone());
        }
    }
    out
}

/// Returns the schedule as written and whether an instance was created.
pub(super) fn write(
    all: &mut Schedules,
    rows: &mut BTreeMap<InstanceId, Row>,
    gates: &mut super::gates::Gates,
    w: ScheduleWrite,
) -> Result<(ScheduleRecord, bool), StoreError> {
    let s = all.get_mut(&w.id).ok_or_else(|| not_found(&w.id))?;
    if s.revision != w.expected_revision {
        return Err(StoreError::ScheduleConflict {
            id: w.id,
            expected: w.expected_revision,
            actual: s.revision,
        });
    }
    let mut created = false;
    for new in w.fire {
        created |= matches!(create(rows, gates, new), crate::Created::New(_));
    }
    if let Some(spec) = w.spec {
        s.spec = spec;
    }
    if let Some(input) = w.input {
        s.input = input;
    }
    s.paused = w.paused;
    s.next_tick = w.next_tick;
    s.buffered = w.buffered;
    s.due_at = w.due_at;
    s.last_instance = w.last_instance;
    s.note = w.note;
    s.revision += 1;
    s.lease = None;
    s.updated_at = w.now;
    Ok((s.clone(), created))
}

pub(super) fn delete(all: &mut Schedules, id: &str) -> Result<(), StoreError> {
    all.remove(id).map(drop).ok_or_else(|| not_found(id))
}

pub(super) fn next_due(all: &Schedules, served: &[String]) -> Option<Timestamp> {
    all.values()
        .filter(|s| !s.paused && served.contains(&s.workflow))
        .filter_map(|s| {
            let due = s.due_at?;
            Some(s.lease.as_ref().map_or(due, |l| due.max(l.until)))
        })
        .min()
}

pub(super) fn load(all: &Schedules, id: &str) -> Result<ScheduleRecord, StoreError> {
    all.get(id).cloned().ok_or_else(|| not_found(id))
}
