//! Writes of instance rows shared by several operations: creations, commits and restarts.

use std::collections::{BTreeMap, BTreeSet};

use super::{Row, gates, holds};
use crate::error::{last_seq, seq_after};
use crate::{
    BlockKind, CommitResult, CreateResult, Created, HistoryEntry, InstanceId, Namespace,
    NewInstance, Next, Restart, Status, StoreError, Transition,
};

/// The row `id` of namespace `ns`: rows of other namespaces are not found.
pub(super) fn get<'a>(
    rows: &'a BTreeMap<InstanceId, Row>,
    ns: &Namespace,
    id: &InstanceId,
) -> Result<&'a Row, StoreError> {
    rows.get(id)
        .filter(|r| r.ns == *ns)
        .ok_or_else(|| StoreError::NotFound { id: id.clone() })
}

/// [`get`], for writing.
pub(super) fn get_mut<'a>(
    rows: &'a mut BTreeMap<InstanceId, Row>,
    ns: &Namespace,
    id: &InstanceId,
) -> Result<&'a mut Row, StoreError> {
    rows.get_mut(id)
        .filter(|r| r.ns == *ns)
        .ok_or_else(|| StoreError::NotFound { id: id.clone() })
}

pub(super) fn create(
    rows: &mut BTreeMap<InstanceId, Row>,
    gates: &mut gates::Gates,
    ns: &Namespace,
    mut new: NewInstance,
) -> CreateResult {
    if let Some(row) = rows.get(&new.id) {
        if row.ns != *ns {
            return Err(StoreError::IdTaken {
                id: new.id.as_str().to_owned(),
            });
        }
        return Ok(Created::Existing(row.record.clone()));
    }
    let requests = std::mem::take(&mut new.gates);
    let now = new.now;
    let history = vec![HistoryEntry {
        seq: 0,
        at: new.now,
        kind: std::mem::take(&mut new.event.kind),
        payload: std::mem::take(&mut new.event.payload),
    }];
    let input = Some(std::mem::take(&mut new.input));
    let record = new.into_record();
    rows.insert(
        record.id.clone(),
        Row {
            ns: ns.clone(),
            record: record.clone(),
            input,
            generation: 0,
            history,
            signals: Vec::new(),
            gate: None,
        },
    );
    if requests.is_empty() {
        return Ok(Created::New(record));
    }
    gates.enter(rows, &record.id, &requests, now);
    match rows.get(&record.id) {
        Some(row) => Ok(Created::New(row.record.clone())),
        None => Ok(Created::New(record)),
    }
}

pub(super) fn apply(
    rows: &mut BTreeMap<InstanceId, Row>,
    gates: &mut gates::Gates,
    ns: &Namespace,
    t: Transition,
) -> CommitResult {
    let id = t.id.clone();
    let now = t.now;
    let finished = apply_head(rows, ns, t)?;
    if finished && rows.get(&id).is_some_and(|r| r.gate.is_some()) {
        gates.leave(rows, &id, now);
    }
    Ok(())
}

/// [`apply`] without the gates: whether the transition finished the instance.
fn apply_head(
    rows: &mut BTreeMap<InstanceId, Row>,
    ns: &Namespace,
    t: Transition,
) -> Result<bool, StoreError> {
    let row = get_mut(rows, ns, &t.id)?;
    if row.record.seq != t.expected_seq {
        return Err(StoreError::Conflict {
            id: t.id,
            expected: t.expected_seq,
            actual: row.record.seq,
        });
    }
    if row.record.status.is_terminal() {
        return Err(StoreError::Finished { id: t.id });
    }
    let finishing = matches!(t.next, Next::Finished { .. });
    let paused = row
        .record
        .blocked
        .as_ref()
        .is_some_and(|b| b.kind == BlockKind::Paused);
    if paused && !finishing {
        return Err(StoreError::Paused { id: t.id });
    }
    // Every consumed signal must still be pending; duplicates in the list count once.
    let consume: BTreeSet<u64> = t.consume_signals.iter().copied().collect();
    let pending = row
        .signals
        .iter()
        .filter(|s| consume.contains(&s.signal_id))
        .count();
    if pending != consume.len() {
        return Err(StoreError::Conflict {
            id: t.id,
            expected: t.expected_seq,
            actual: row.record.seq,
        });
    }
    let first = seq_after(t.expected_seq)?;
    let seq = last_seq(&t)?;
    // All checks passed: from here on nothing fails.
    if finishing {
        row.signals.clear();
    } else {
        row.signals.retain(|s| !consume.contains(&s.signal_id));
    }
    if t.truncate_history {
        row.history.retain(|h| h.seq > t.expected_seq);
    }
    let heard = row.signals.iter().any(|s| t.listening.contains(&s.name));
    let release = t
        .release_lease
        .as_ref()
        .is_some_and(|l| holds(&row.record, &l.owner, l.generation));
    let r = &mut row.record;
    r.blocked = t.block.applied_to(r.blocked.take());
    if let Some(d) = t.redefine {
        r.version = d.version;
        r.hash = d.hash;
        r.fingerprint = d.fingerprint;
    }
    match t.next {
        Next::Running {
            state,
            due_at,
            state_id,
        } => {
            r.state = Some(state);
            r.state_id = Some(state_id);
            r.due_at = if heard {
                Some(due_at.map_or(t.now, |d| d.min(t.now)))
            } else {
                due_at
            };
            if release {
                r.lease = None;
            }
        }
        Next::Finished { status, output } => {
            r.status = status;
            r.state = None;
            r.state_id = None;
            r.output = Some(output);
            r.due_at = None;
            r.lease = None;
        }
    }
    r.seq = seq;
    r.updated_at = t.now;
    let events = std::iter::once(t.event).chain(t.extra_events);
    row.history
        .extend((first..=seq).zip(events).map(|(seq, e)| HistoryEntry {
            seq,
            at: t.now,
            kind: e.kind,
            payload: e.payload,
        }));
    Ok(finishing)
}

pub(super) fn restart(
    rows: &mut BTreeMap<InstanceId, Row>,
    gates: &mut gates::Gates,
    ns: &Namespace,
    restart: Restart,
) -> Result<(), StoreError> {
    let id = restart.id.clone();
    let now = restart.now;
    let was_finished = get(rows, ns, &id)?.record.status.is_terminal();
    restart_head(rows, ns, restart)?;
    if rows.get(&id).is_some_and(|r| r.gate.is_some()) {
        if was_finished {
            // A new run takes a slot again, at the end of the queues.
            gates.requeue(rows, &id, None, now);
        } else if gates::Gates::waits(rows, &id)
            && let Some(row) = rows.get_mut(&id)
        {
            // Still waiting: the restart does not admit it.
            row.record.blocked = Some(gates::waiting_block(now));
        }
    }
    Ok(())
}

fn restart_head(
    rows: &mut BTreeMap<InstanceId, Row>,
    ns: &Namespace,
    restart: Restart,
) -> Result<(), StoreError> {
    let row = get_mut(rows, ns, &restart.id)?;
    if row.record.seq != restart.expected_seq {
        return Err(StoreError::Conflict {
            id: restart.id,
            expected: restart.expected_seq,
            actual: row.record.seq,
        });
    }
    let seq = seq_after(restart.expected_seq)?;
    let r = &mut row.record;
    r.version = restart.definition.version;
    r.hash = restart.definition.hash;
    r.fingerprint = restart.definition.fingerprint;
    r.seq = seq;
    r.status = Status::Running;
    r.state_id = Some(restart.state_id);
    r.state = Some(restart.state);
    r.output = None;
    r.due_at = restart.due_at;
    r.blocked = None;
    r.lease = None;
    r.updated_at = restart.now;
    if restart.trace_context.is_some() {
        r.trace_context = restart.trace_context;
    }
    row.input = Some(restart.input);
    row.history.push(HistoryEntry {
        seq,
        at: restart.now,
        kind: restart.event.kind,
        payload: restart.event.payload,
    });
    Ok(())
}
