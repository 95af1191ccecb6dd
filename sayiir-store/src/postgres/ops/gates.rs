//! Admission gates (concurrency limits of workflow types and keys): entering the queues at
//! creation, leaving them at the finishing write, admitting the earliest waiters that fit.
//! Each runs inside the caller's transaction, under one transaction-level advisory lock
//! ([`LOCK`]) that every write of the gate tables takes first (but a waiter leaving the queues,
//! which frees nothing): admissions of all processes take turns, so no gate ever admits more
//! than its limit, and there is one lock to take, so gates never deadlock on each other. Instances without gates never reach this module:
//! callers decide on the `NewInstance` they hold or on the head's `gates` column they lock
//! anyway.

use std::collections::{HashMap, HashSet, VecDeque};

use sqlx::{PgConnection, Row};

use crate::postgres::fail::Fail;
use crate::types::waiting_block;
use crate::{BlockKind, LimitUsage, NewInstance, Timestamp};

/// Key of the advisory lock of the gate tables ("SYYRGATE").
const LOCK: i64 = 0x5359_5952_4741_5445;

async fn lock(conn: &mut PgConnection) -> Result<(), Fail> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The `gates` column of an instance with these gate keys.
fn column(keys: &[String]) -> Option<String> {
    (!keys.is_empty()).then(|| keys.join("\n"))
}

/// The gate keys of a `gates` column.
pub(super) fn keys_of(column: &str) -> Vec<String> {
    column.split('\n').map(str::to_owned).collect()
}

/// Records the concurrency key and gates of `new` (just inserted) and enters its gates'
/// queues. Returns whether it is admitted (true without gates).
pub(super) async fn enter(conn: &mut PgConnection, new: &NewInstance) -> Result<bool, Fail> {
    let mut keys: Vec<String> = Vec::with_capacity(new.gates.len());
    for g in &new.gates {
        if !keys.contains(&g.key) {
            keys.push(g.key.clone());
        }
    }
    sqlx::query("UPDATE sayiir_instances SET concurrency_key = $2, gates = $3 WHERE id = $1")
        .bind(new.id.as_str())
        .bind(new.concurrency_key.as_deref())
        .bind(column(&keys))
        .execute(&mut *conn)
        .await?;
    if keys.is_empty() {
        return Ok(true);
    }
    lock(conn).await?;
    for g in &new.gates {
        sqlx::query(
            "INSERT INTO sayiir_gates (gate_key, max_slots) VALUES ($1, $2) \
             ON CONFLICT (gate_key) DO UPDATE SET max_slots = excluded.max_slots",
        )
        .bind(&g.key)
        .bind(i64::from(g.limit.max(1)))
        .execute(&mut *conn)
        .await?;
    }
    queue(conn, new.id.as_str(), &keys, new.now).await
}

/// Puts `id` at the end of the queues of `keys`, waiting (blocked), then admits what fits.
/// Returns whether `id` is admitted.
pub(super) async fn queue(
    conn: &mut PgConnection,
    id: &str,
    keys: &[String],
    now: Timestamp,
) -> Result<bool, Fail> {
    lock(conn).await?;
    sqlx::query(
        "INSERT INTO sayiir_gates (gate_key, max_slots) SELECT k, 1 FROM UNNEST($1::text[]) AS k \
         ON CONFLICT (gate_key) DO NOTHING",
    )
    .bind(keys)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO sayiir_gate_members (gate_key, instance_id, ticket, admitted) \
         SELECT k, $2, t.ticket, false FROM UNNEST($1::text[]) AS k, \
         (SELECT nextval('sayiir_gate_tickets') AS ticket) AS t \
         ON CONFLICT (gate_key, instance_id) \
         DO UPDATE SET ticket = excluded.ticket, admitted = false",
    )
    .bind(keys)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    set_waiting(conn, id, now).await?;
    let admitted = admit(conn, keys, now).await?;
    Ok(admitted.iter().any(|a| a == id))
}

/// Blocks `id` as waiting for admission.
pub(super) async fn set_waiting(
    conn: &mut PgConnection,
    id: &str,
    now: Timestamp,
) -> Result<(), Fail> {
    let b = waiting_block(now);
    sqlx::query(
        "UPDATE sayiir_instances SET blocked_kind = $2, blocked_reason = $3, blocked_at = $4 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(b.kind.code())
    .bind(&b.reason)
    .bind(b.at.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether `id` waits in a gate's queue.
pub(super) async fn waits(conn: &mut PgConnection, id: &str) -> Result<bool, Fail> {
    Ok(sqlx::query(
        "SELECT 1 FROM sayiir_gate_members WHERE instance_id = $1 AND NOT admitted LIMIT 1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

/// `id` finished: gives up its slot or its place, and admits the earliest waiters that now
/// fit. Returns whether some instance was admitted (the caller wakes idle workers). The caller
/// holds `id`'s row lock, so no admission changes `id` meanwhile (an admission updates the
/// instance's row first); a waiter leaving frees no slot and takes no advisory lock, so that a
/// cancelled waiter never waits for an admission that waits for its row.
pub(super) async fn leave(conn: &mut PgConnection, id: &str, now: Timestamp) -> Result<bool, Fail> {
    let held: Option<bool> = sqlx::query_scalar(
        "SELECT bool_or(admitted) FROM sayiir_gate_members WHERE instance_id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let Some(held) = held else {
        return Ok(false);
    };
    if held {
        lock(conn).await?;
    }
    let keys: Vec<String> = sqlx::query_scalar(
        "DELETE FROM sayiir_gate_members WHERE instance_id = $1 RETURNING gate_key",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE sayiir_instances SET blocked_kind = NULL, blocked_reason = NULL, \
         blocked_at = NULL WHERE id = $1 AND blocked_kind = $2",
    )
    .bind(id)
    .bind(BlockKind::AwaitingAdmission.code())
    .execute(&mut *conn)
    .await?;
    if !held {
        return Ok(false);
    }
    Ok(!admit(conn, &keys, now).await?.is_empty())
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
    /// The ticket of the next waiter, reading the next page when the buffer is empty.
    async fn head(&mut self, conn: &mut PgConnection) -> Result<Option<i64>, Fail> {
        if self.buf.is_empty() && !self.done {
            let rows = sqlx::query(
                "SELECT ticket, instance_id FROM sayiir_gate_members \
                 WHERE gate_key = $1 AND NOT admitted AND ticket > $2 ORDER BY ticket LIMIT $3",
            )
            .bind(&self.key)
            .bind(self.after)
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await?;
            for row in &rows {
                self.buf
                    .push_back((row.try_get("ticket")?, row.try_get("instance_id")?));
            }
            self.done = i64::try_from(rows.len()).unwrap_or(i64::MAX) < PAGE;
            if let Some((t, _)) = self.buf.back() {
                self.after = *t;
            }
        }
        Ok(self.buf.front().map(|(t, _)| *t))
    }
}

/// Admits, in ticket order, the waiters of `keys` all of whose gates have room; a waiter
/// whose other gate is full is skipped. Stops once every gate of `keys` is full again.
/// Returns the admitted instances.
async fn admit(
    conn: &mut PgConnection,
    keys: &[String],
    now: Timestamp,
) -> Result<Vec<String>, Fail> {
    let mut room: HashMap<String, i64> = HashMap::new();
    let mut cursors = Vec::new();
    for k in keys {
        if room_of(conn, &mut room, k).await? > 0 {
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
            if let Some(t) = c.head(&mut *conn).await?
                && first.is_none_or(|(_, f)| t < f)
            {
                first = Some((i, t));
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
        let its: Vec<String> =
            sqlx::query_scalar("SELECT gate_key FROM sayiir_gate_members WHERE instance_id = $1")
                .bind(&id)
                .fetch_all(&mut *conn)
                .await?;
        let mut fits = true;
        for k in &its {
            fits &= room_of(conn, &mut room, k).await? > 0;
        }
        if !fits {
            continue;
        }
        // The instance's row first: a waiter being cancelled holds it, and is skipped once its
        // finish commits (it is no longer running).
        let woken = sqlx::query(
            "UPDATE sayiir_instances SET blocked_kind = CASE WHEN blocked_kind = $2 THEN NULL \
             ELSE blocked_kind END, \
             blocked_reason = CASE WHEN blocked_kind = $2 THEN NULL ELSE blocked_reason END, \
             blocked_at = CASE WHEN blocked_kind = $2 THEN NULL ELSE blocked_at END, \
             due_at = LEAST(COALESCE(due_at, $3), $3) WHERE id = $1 AND status = $4",
        )
        .bind(&id)
        .bind(BlockKind::AwaitingAdmission.code())
        .bind(now.0)
        .bind(crate::Status::Running.code())
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if woken == 0 {
            continue;
        }
        for k in &its {
            if let Some(r) = room.get_mut(k) {
                *r -= 1;
            }
        }
        sqlx::query("UPDATE sayiir_gate_members SET admitted = true WHERE instance_id = $1")
            .bind(&id)
            .execute(&mut *conn)
            .await?;
        admitted.push(id);
    }
    Ok(admitted)
}

/// The free slots of gate `key` (cached in `room`).
async fn room_of(
    conn: &mut PgConnection,
    room: &mut HashMap<String, i64>,
    key: &str,
) -> Result<i64, Fail> {
    if let Some(r) = room.get(key) {
        return Ok(*r);
    }
    let r: i64 = sqlx::query_scalar(
        "SELECT COALESCE((SELECT max_slots FROM sayiir_gates WHERE gate_key = $1), 1) \
         - (SELECT count(*) FROM sayiir_gate_members WHERE gate_key = $1 AND admitted)",
    )
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    room.insert(key.to_owned(), r);
    Ok(r)
}

/// Each gate's limit, admitted instances and waiters, ordered by key.
pub(in crate::postgres) async fn usage(conn: &mut PgConnection) -> Result<Vec<LimitUsage>, Fail> {
    let rows = sqlx::query(
        "SELECT g.gate_key, g.max_slots, \
         (SELECT count(*) FROM sayiir_gate_members m WHERE m.gate_key = g.gate_key \
          AND m.admitted) AS in_use, \
         (SELECT count(*) FROM sayiir_gate_members m WHERE m.gate_key = g.gate_key \
          AND NOT m.admitted) AS waiting \
         FROM sayiir_gates g ORDER BY g.gate_key",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let limit: i64 = row.try_get("max_slots")?;
        let in_use: i64 = row.try_get("in_use")?;
        let waiting: i64 = row.try_get("waiting")?;
        out.push(LimitUsage {
            key: row.try_get("gate_key")?,
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
            in_use: u64::try_from(in_use).unwrap_or(0),
            waiting: u64::try_from(waiting).unwrap_or(0),
        });
    }
    Ok(out)
}
