//! Schedules in memory: the reference semantics of the schedule operations.

use std::collections::BTreeMap;

use super::{Row, rows};
use crate::{
    InstanceId, Namespace, ScheduleClaim, ScheduleLease, ScheduleRecord, ScheduleWrite, StoreError,
    Timestamp,
};

/// Schedules by id, each with its namespace.
pub(super) type Schedules = BTreeMap<String, (Namespace, ScheduleRecord)>;

/// The schedule `id` of namespace `ns`.
fn get_mut<'a>(
    all: &'a mut Schedules,
    ns: &Namespace,
    id: &str,
) -> Result<&'a mut ScheduleRecord, StoreError> {
    match all.get_mut(id) {
        Some((n, s)) if n == ns => Ok(s),
        _ => Err(not_found(id)),
    }
}

/// The schedules of namespace `ns`.
fn of<'a>(all: &'a Schedules, ns: &'a Namespace) -> impl Iterator<Item = &'a ScheduleRecord> {
    all.values().filter(move |(n, _)| n == ns).map(|(_, s)| s)
}

pub(super) fn list(all: &Schedules, ns: &Namespace) -> Vec<ScheduleRecord> {
    of(all, ns).cloned().collect()
}

fn not_found(id: &str) -> StoreError {
    StoreError::ScheduleNotFound { id: id.to_owned() }
}

fn lease_free(s: &ScheduleRecord, now: Timestamp) -> bool {
    s.lease.as_ref().is_none_or(|l| !l.live_at(now))
}

pub(super) fn create_schedule(
    all: &mut Schedules,
    ns: &Namespace,
    mut s: ScheduleRecord,
) -> Result<ScheduleRecord, StoreError> {
    let (n, stored) = all.entry(s.id.clone()).or_insert_with(|| {
        s.revision = 0;
        s.lease = None;
        s.updated_at = s.created_at;
        (ns.clone(), s)
    });
    if n != ns {
        return Err(StoreError::IdTaken {
            id: stored.id.clone(),
        });
    }
    Ok(stored.clone())
}

pub(super) fn claim(all: &mut Schedules, ns: &Namespace, c: &ScheduleClaim) -> Vec<ScheduleRecord> {
    let mut due: Vec<(Timestamp, String)> = of(all, ns)
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
        if let Ok(s) = get_mut(all, ns, &id) {
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
    ns: &Namespace,
    w: ScheduleWrite,
) -> Result<(ScheduleRecord, bool), StoreError> {
    let s = get_mut(all, ns, &w.id)?;
    if s.revision != w.expected_revision {
        return Err(StoreError::ScheduleConflict {
            id: w.id,
            expected: w.expected_revision,
            actual: s.revision,
        });
    }
    let mut created = false;
    for new in w.fire {
        // An id taken in another namespace is left as it is, as an existing one is.
        created |= matches!(
            rows::create(rows, gates, ns, new),
            Ok(crate::Created::New(_))
        );
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

pub(super) fn delete(all: &mut Schedules, ns: &Namespace, id: &str) -> Result<(), StoreError> {
    get_mut(all, ns, id)?;
    all.remove(id).map(drop).ok_or_else(|| not_found(id))
}

pub(super) fn next_due(all: &Schedules, ns: &Namespace, served: &[String]) -> Option<Timestamp> {
    of(all, ns)
        .filter(|s| !s.paused && served.contains(&s.workflow))
        .filter_map(|s| {
            let due = s.due_at?;
            Some(s.lease.as_ref().map_or(due, |l| due.max(l.until)))
        })
        .min()
}

pub(super) fn load(
    all: &Schedules,
    ns: &Namespace,
    id: &str,
) -> Result<ScheduleRecord, StoreError> {
    match all.get(id) {
        Some((n, s)) if n == ns => Ok(s.clone()),
        _ => Err(not_found(id)),
    }
}
