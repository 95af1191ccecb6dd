//! Schedules: created, read, claimed under a lease, written by compare-and-swap on their
//! revision (with the instances of the ticks fired, in the same transaction), deleted.

use rusqlite::{Connection, OptionalExtension, Row};

use super::create::insert;
use super::write::immediate;
use crate::sqlite::decode::get;
use crate::sqlite::fail::{Fail, invalid};
use crate::{
    InstanceId, ScheduleClaim, ScheduleLease, ScheduleRecord, ScheduleWrite, StoreError, Timestamp,
    WorkerId,
};

const COLS: &str = "id, workflow, spec, input, paused, next_tick, buffered, due_at, \
                    last_instance, note, revision, lease_owner, lease_until, created_at, updated_at";

fn time(row: &Row<'_>, idx: usize, id: &str, col: &str) -> Result<Option<Timestamp>, Fail> {
    Ok(get::<Option<i64>>(row, idx, id, col)?.map(Timestamp))
}

fn record(row: &Row<'_>) -> Result<ScheduleRecord, Fail> {
    let id: String = get(row, 0, "?", "id")?;
    let s = id.as_str();
    let last_instance =
        match get::<Option<String>>(row, 8, s, "last_instance")? {
            Some(text) => Some(InstanceId::new(text.as_str()).map_err(|e| {
                invalid(s, format!("column `last_instance` of schedule `{s}`: {e}"))
            })?),
            None => None,
        };
    let revision: i64 = get(row, 10, s, "revision")?;
    let lease = match (
        get::<Option<String>>(row, 11, s, "lease_owner")?,
        time(row, 12, s, "lease_until")?,
    ) {
        (Some(owner), Some(until)) => Some(ScheduleLease {
            owner: WorkerId(owner),
            until,
        }),
        _ => None,
    };
    Ok(ScheduleRecord {
        workflow: get(row, 1, s, "workflow")?,
        spec: get(row, 2, s, "spec")?,
        input: get(row, 3, s, "input")?,
        paused: get::<i64>(row, 4, s, "paused")? != 0,
        next_tick: time(row, 5, s, "next_tick")?,
        buffered: time(row, 6, s, "buffered")?,
        due_at: time(row, 7, s, "due_at")?,
        last_instance,
        note: get(row, 9, s, "note")?,
        revision: u64::try_from(revision)
            .map_err(|_| invalid(s, format!("column `revision` holds {revision}")))?,
        lease,
        created_at: Timestamp(get(row, 13, s, "created_at")?),
        updated_at: Timestamp(get(row, 14, s, "updated_at")?),
        id,
    })
}

fn load_in(conn: &Connection, ns: &str, id: &str) -> Result<Option<ScheduleRecord>, Fail> {
    let sql = format!("SELECT {COLS} FROM sayiir_schedules WHERE id = ?1 AND namespace = ?2");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id, ns])?;
    match rows.next()? {
        Some(row) => Ok(Some(record(row)?)),
        None => Ok(None),
    }
}

fn not_found(id: &str) -> Fail {
    Fail::Store(StoreError::ScheduleNotFound { id: id.to_owned() })
}

pub(in crate::sqlite) fn load(
    conn: &Connection,
    ns: &str,
    id: &str,
) -> Result<ScheduleRecord, Fail> {
    load_in(conn, ns, id)?.ok_or_else(|| not_found(id))
}

pub(in crate::sqlite) fn list(conn: &Connection, ns: &str) -> Result<Vec<ScheduleRecord>, Fail> {
    let sql = format!("SELECT {COLS} FROM sayiir_schedules WHERE namespace = ?1 ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([ns])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(record(row)?);
    }
    Ok(out)
}

/// An id taken in another namespace is [`StoreError::IdTaken`].
pub(in crate::sqlite) fn create(
    conn: &mut Connection,
    ns: &str,
    s: ScheduleRecord,
) -> Result<ScheduleRecord, Fail> {
    let tx = immediate(conn)?;
    tx.prepare_cached(
        "INSERT INTO sayiir_schedules (id, workflow, spec, input, paused, next_tick, buffered, \
         due_at, last_instance, note, revision, created_at, updated_at, namespace) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?11, ?12) \
         ON CONFLICT (id) DO NOTHING",
    )?
    .execute(rusqlite::params![
        s.id,
        s.workflow,
        s.spec,
        s.input,
        i64::from(s.paused),
        s.next_tick.map(|t| t.0),
        s.buffered.map(|t| t.0),
        s.due_at.map(|t| t.0),
        s.last_instance.as_ref().map(InstanceId::as_str),
        s.note,
        s.created_at.0,
        ns,
    ])?;
    let Some(stored) = load_in(&tx, ns, &s.id)? else {
        return Err(Fail::Store(StoreError::IdTaken { id: s.id }));
    };
    tx.commit()?;
    Ok(stored)
}

pub(in crate::sqlite) fn claim(
    conn: &mut Connection,
    ns: &str,
    c: &ScheduleClaim,
) -> Result<Vec<ScheduleRecord>, Fail> {
    let tx = immediate(conn)?;
    let ids: Vec<String> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id, workflow FROM sayiir_schedules WHERE namespace = ?2 AND paused = 0 \
             AND due_at IS NOT NULL \
             AND due_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1) \
             ORDER BY due_at, id",
        )?;
        let rows = stmt.query_map(rusqlite::params![c.now.0, ns], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut ids = Vec::new();
        for row in rows {
            let (id, workflow) = row?;
            if c.served.contains(&workflow) {
                ids.push(id);
                if ids.len() == c.limit {
                    break;
                }
            }
        }
        ids
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        tx.prepare_cached(
            "UPDATE sayiir_schedules SET revision = revision + 1, lease_owner = ?2, \
             lease_until = ?3, updated_at = ?4 WHERE id = ?1",
        )?
        .execute(rusqlite::params![id, c.owner.0, c.lease_until.0, c.now.0])?;
        out.push(load(&tx, ns, &id)?);
    }
    tx.commit()?;
    Ok(out)
}

pub(in crate::sqlite) fn write(
    conn: &mut Connection,
    ns: &str,
    w: ScheduleWrite,
) -> Result<ScheduleRecord, Fail> {
    let tx = immediate(conn)?;
    let revision: Option<i64> = tx
        .prepare_cached("SELECT revision FROM sayiir_schedules WHERE id = ?1 AND namespace = ?2")?
        .query_row([w.id.as_str(), ns], |r| r.get(0))
        .optional()?;
    let Some(revision) = revision else {
        return Err(not_found(&w.id));
    };
    let actual = u64::try_from(revision).unwrap_or(u64::MAX);
    if actual != w.expected_revision {
        return Err(Fail::Store(StoreError::ScheduleConflict {
            id: w.id,
            expected: w.expected_revision,
            actual,
        }));
    }
    let mut counts = super::counts::Deltas::default();
    for new in w.fire {
        // An id taken in another namespace is left as it is, as an existing one is. On
        // another error nothing of this write stays: the transaction is dropped, rolled back.
        match insert(&tx, ns, new, &mut counts) {
            Ok(_) | Err(Fail::Store(StoreError::IdTaken { .. })) => {}
            Err(e) => return Err(e),
        }
    }
    counts.apply(&tx)?;
    tx.prepare_cached(
        "UPDATE sayiir_schedules SET spec = COALESCE(?2, spec), input = COALESCE(?3, input), \
         paused = ?4, next_tick = ?5, buffered = ?6, due_at = ?7, last_instance = ?8, \
         note = ?9, revision = revision + 1, lease_owner = NULL, lease_until = NULL, \
         updated_at = ?10 WHERE id = ?1",
    )?
    .execute(rusqlite::params![
        w.id,
        w.spec,
        w.input,
        i64::from(w.paused),
        w.next_tick.map(|t| t.0),
        w.buffered.map(|t| t.0),
        w.due_at.map(|t| t.0),
        w.last_instance.as_ref().map(InstanceId::as_str),
        w.note,
        w.now.0,
    ])?;
    let stored = load(&tx, ns, &w.id)?;
    tx.commit()?;
    Ok(stored)
}

pub(in crate::sqlite) fn delete(conn: &mut Connection, ns: &str, id: &str) -> Result<(), Fail> {
    let tx = immediate(conn)?;
    let n = tx
        .prepare_cached("DELETE FROM sayiir_schedules WHERE id = ?1 AND namespace = ?2")?
        .execute([id, ns])?;
    if n == 0 {
        return Err(not_found(id));
    }
    tx.commit()?;
    Ok(())
}

pub(in crate::sqlite) fn next_due(
    conn: &Connection,
    ns: &str,
    served: &[String],
) -> Result<Option<Timestamp>, Fail> {
    let mut stmt = conn.prepare_cached(
        "SELECT workflow, MAX(due_at, COALESCE(lease_until, due_at)) FROM sayiir_schedules \
         WHERE namespace = ?1 AND paused = 0 AND due_at IS NOT NULL",
    )?;
    let rows = stmt.query_map([ns], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut min: Option<i64> = None;
    for row in rows {
        let (workflow, at) = row?;
        if served.contains(&workflow) {
            min = Some(min.map_or(at, |m| m.min(at)));
        }
    }
    Ok(min.map(Timestamp))
}
