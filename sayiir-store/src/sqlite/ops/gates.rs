//! Admission gates (concurrency limits of workflow types and keys): entering the queues at
//! creation, leaving them at the finishing write, admitting the earliest waiters that fit.
//! Each runs inside the caller's write transaction (SQLite has one writer: no two admissions
//! interleave). Instances without gates never reach this module: callers decide on the
//! `NewInstance` they hold or on the head's `gates` column they read anyway.

use std::collections::{HashMap, HashSet, VecDeque};

use rusqlite::{Connection, OptionalExtension};

use super::counts::Deltas;
use crate::sqlite::fail::Fail;
use crate::types::waiting_block;
use crate::{BlockKind, LimitUsage, NewInstance, Timestamp};

/// The `gates` column of an instance with these gate keys.
pub(super) fn column(keys: &[String]) -> Option<String> {
    (!keys.is_empty()).then(|| keys.join("\n"))
}

/// The gate keys of a `gates` column.
pub(super) fn keys_of(column: &str) -> Vec<String> {
    column.split('\n').map(str::to_owned).collect()
}

/// Records the concurrency key and gates of `new` (just inserted) and enters its gates'
/// queues. Returns whether it is admitted (true without gates).
/// Count changes (the block of waiters and of those admitted) go to `counts`.
pub(super) fn enter(tx: &Connection, new: &NewInstance, counts: &mut Deltas) -> Result<bool, Fail> {
    let mut keys: Vec<String> = Vec::with_capacity(new.gates.len());
    for g in &new.gates {
        if !keys.contains(&g.key) {
            keys.push(g.key.clone());
        }
    }
    tx.prepare_cached(
        "UPDATE sayiir_instances SET concurrency_key = ?2, gates = ?3 WHERE id = ?1",
    )?
    .execute(rusqlite::params![
        new.id.as_str(),
        new.concurrency_key,
        column(&keys)
    ])?;
    if keys.is_empty() {
        return Ok(true);
    }
    for g in &new.gates {
        tx.prepare_cached(
            "INSERT INTO sayiir_gates (gate_key, max_slots) VALUES (?1, ?2) \
             ON CONFLICT (gate_key) DO UPDATE SET max_slots = excluded.max_slots",
        )?
        .execute(rusqlite::params![g.key, i64::from(g.limit.max(1))])?;
    }
    queue(tx, new.id.as_str(), &keys, new.now, counts)
}

/// Puts `id` at the end of the queues of `keys`, waiting (blocked), then admits what fits.
/// Returns whether `id` is admitted.
pub(super) fn queue(
    tx: &Connection,
    id: &str,
    keys: &[String],
    now: Timestamp,
    counts: &mut Deltas,
) -> Result<bool, Fail> {
    let ticket: i64 = tx
        .prepare_cached("SELECT coalesce(max(ticket), 0) + 1 FROM sayiir_gate_members")?
        .query_row([], |row| row.get(0))?;
    for k in keys {
        tx.prepare_cached(
            "INSERT INTO sayiir_gates (gate_key, max_slots) VALUES (?1, 1) \
             ON CONFLICT (gate_key) DO NOTHING",
        )?
        .execute([k])?;
        tx.prepare_cached(
            "INSERT INTO sayiir_gate_members (gate_key, instance_id, ticket, admitted) \
             VALUES (?1, ?2, ?3, 0) \
             ON CONFLICT (gate_key, instance_id) DO UPDATE SET ticket = ?3, admitted = 0",
        )?
        .execute(rusqlite::params![k, id, ticket])?;
    }
    set_waiting(tx, id, now, counts)?;
    let admitted = admit(tx, keys, now, counts)?;
    Ok(admitted.iter().any(|a| a == id))
}

/// Blocks `id` as waiting for admission.
pub(super) fn set_waiting(
    tx: &Connection,
    id: &str,
    now: Timestamp,
    counts: &mut Deltas,
) -> Result<(), Fail> {
    let b = waiting_block(now);
    counts.around(tx, id, || {
        tx.prepare_cached(
            "UPDATE sayiir_instances SET blocked_kind = ?2, blocked_reason = ?3, \
             blocked_at = ?4 WHERE id = ?1",
        )?
        .execute(rusqlite::params![id, b.kind.code(), b.reason, b.at.0])?;
        Ok(())
    })
}

/// Whether `id` waits in a gate's queue.
pub(super) fn waits(tx: &Connection, id: &str) -> Result<bool, Fail> {
    Ok(tx
        .prepare_cached(
            "SELECT 1 FROM sayiir_gate_members WHERE instance_id = ?1 AND admitted = 0 LIMIT 1",
        )?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// `id` finished: gives up its slot or its place, and admits the earliest waiters that now
/// fit. Returns whether some instance was admitted. Count changes go to `counts`.
pub(super) fn leave(
    tx: &Connection,
    id: &str,
    now: Timestamp,
    counts: &mut Deltas,
) -> Result<bool, Fail> {
    let rows: Vec<(String, bool)> = tx
        .prepare_cached(
            "SELECT gate_key, admitted FROM sayiir_gate_members WHERE instance_id = ?1",
        )?
        .query_map([id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if rows.is_empty() {
        return Ok(false);
    }
    tx.prepare_cached("DELETE FROM sayiir_gate_members WHERE instance_id = ?1")?
        .execute([id])?;
    counts.around(tx, id, || {
        tx.prepare_cached(
            "UPDATE sayiir_instances SET blocked_kind = NULL, blocked_reason = NULL, \
             blocked_at = NULL WHERE id = ?1 AND blocked_kind = ?2",
        )?
        .execute(rusqlite::params![id, BlockKind::AwaitingAdmission.code()])?;
        Ok(())
    })?;
    if !rows.iter().any(|(_, admitted)| *admitted) {
        return Ok(false);
    }
    let keys: Vec<String> = rows.into_iter().map(|(k, _)| k).collect();
    Ok(!admit(tx, &keys, now, counts)?.is_empty())
}

/// Waiters read per gate and round of [`admit`]: a finish reads the queue only as far as it
/// admits (or skips waiters whose other gate is full), not the whole queue.
const PAGE: i64 = 32;

/// The waiters of one gate in ticket order, read a page at a time.
struct Cursor {
    key: String,
    /// The last ticket read.
    after: i64,
    buf: VecDeque<(i64, String)>,
    done: bool,
}

impl Cursor {
    /// The next waiter, reading the next page when the buffer is empty.
    fn head(&mut self, tx: &Connection) -> Result<Option<&(i64, String)>, Fail> {
        if self.buf.is_empty() && !self.done {
            let mut stmt = tx.prepare_cached(
                "SELECT ticket, instance_id FROM sayiir_gate_members \
                 WHERE gate_key = ?1 AND admitted = 0 AND ticket > ?2 ORDER BY ticket LIMIT ?3",
            )?;
            let rows = stmt.query_map(rusqlite::params![self.key, self.after, PAGE], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
            for r in rows {
                self.buf.push_back(r?);
            }
            self.done = i64::try_from(self.buf.len()).unwrap_or(i64::MAX) < PAGE;
            if let Some((t, _)) = self.buf.back() {
                self.after = *t;
            }
        }
        Ok(self.buf.front())
    }
}

/// Admits, in ticket order, the waiters of `keys` all of whose gates have room; a waiter
/// whose other gate is full is skipped. Stops once every gate of `keys` is full again.
/// Returns the admitted instances.
fn admit(
    tx: &Connection,
    keys: &[String],
    now: Timestamp,
    counts: &mut Deltas,
) -> Result<Vec<String>, Fail> {
    let mut room: HashMap<String, i64> = HashMap::new();
    let mut cursors = Vec::new();
    for k in keys {
        if room_of(tx, &mut room, k)? > 0 {
            cursors.push(Cursor {
                key: k.clone(),
                after: i64::MIN,
                buf: VecDeque::new(),
                done: false,
            });
        }
    }
    let mut seen: HashSet<String> = HashSet::new();
    let mut admitted = Vec::new();
    loop {
        if keys.iter().all(|k| room.get(k).is_some_and(|r| *r <= 0)) {
            break;
        }
        // The earliest waiter at the head of any queue.
        let mut first: Option<(usize, i64)> = None;
        for (i, c) in cursors.iter_mut().enumerate() {
            if let Some((t, _)) = c.head(tx)?
                && first.is_none_or(|(_, f)| *t < f)
            {
                first = Some((i, *t));
            }
        }
        let Some((i, _)) = first else {
            break;
        };
        let Some((_, id)) = cursors[i].buf.pop_front() else {
            break;
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        let its: Vec<String> = tx
            .prepare_cached("SELECT gate_key FROM sayiir_gate_members WHERE instance_id = ?1")?
            .query_map([&id], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let mut fits = true;
        for k in &its {
            fits &= room_of(tx, &mut room, k)? > 0;
        }
        if !fits {
            continue;
        }
        for k in &its {
            if let Some(r) = room.get_mut(k) {
                *r -= 1;
            }
        }
        tx.prepare_cached("UPDATE sayiir_gate_members SET admitted = 1 WHERE instance_id = ?1")?
            .execute([&id])?;
        counts.around(tx, &id, || {
            tx.prepare_cached(
                "UPDATE sayiir_instances SET blocked_kind = NULL, blocked_reason = NULL, \
                 blocked_at = NULL, \
                 due_at = CASE WHEN due_at IS NULL OR due_at > ?3 THEN ?3 ELSE due_at END \
                 WHERE id = ?1 AND blocked_kind = ?2",
            )?
            .execute(rusqlite::params![
                id,
                BlockKind::AwaitingAdmission.code(),
                now.0
            ])?;
            Ok(())
        })?;
        admitted.push(id);
    }
    Ok(admitted)
}

/// The free slots of gate `key` (cached in `room`).
fn room_of(tx: &Connection, room: &mut HashMap<String, i64>, key: &str) -> Result<i64, Fail> {
    if let Some(r) = room.get(key) {
        return Ok(*r);
    }
    let r: i64 = tx
        .prepare_cached(
            "SELECT coalesce((SELECT max_slots FROM sayiir_gates WHERE gate_key = ?1), 1) \
             - (SELECT count(*) FROM sayiir_gate_members WHERE gate_key = ?1 AND admitted = 1)",
        )?
        .query_row([key], |row| row.get(0))?;
    room.insert(key.to_owned(), r);
    Ok(r)
}

/// Each gate's limit, admitted instances and waiters, ordered by key.
pub(in crate::sqlite) fn usage(conn: &Connection) -> Result<Vec<LimitUsage>, Fail> {
    let mut stmt = conn.prepare_cached(
        "SELECT g.gate_key, g.max_slots, \
         (SELECT count(*) FROM sayiir_gate_members m WHERE m.gate_key = g.gate_key \
          AND m.admitted = 1), \
         (SELECT count(*) FROM sayiir_gate_members m WHERE m.gate_key = g.gate_key \
          AND m.admitted = 0) \
         FROM sayiir_gates g ORDER BY g.gate_key",
    )?;
    let rows = stmt.query_map([], |row| {
        let limit: i64 = row.get(1)?;
        let in_use: i64 = row.get(2)?;
        let waiting: i64 = row.get(3)?;
        Ok(LimitUsage {
            key: row.get(0)?,
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
            in_use: u64::try_from(in_use).unwrap_or(0),
            waiting: u64::try_from(waiting).unwrap_or(0),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
