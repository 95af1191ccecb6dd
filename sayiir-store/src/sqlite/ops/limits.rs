//! Concurrency limits: slots held under instances' leases (migration 0009).

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::write::immediate;
use crate::sqlite::fail::Fail;
use crate::types::start_of;
use crate::{LimitUsage, RateRequest, RateUsage, SlotHolder, SlotRequest, Timestamp};

/// The condition "the row of `t` is live at `?1`": its instance is leased under its lease,
/// unexpired.
fn live(t: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM sayiir_instances i WHERE i.id = {t}.instance_id \
         AND i.lease_owner = {t}.lease_owner AND i.lease_generation = {t}.lease_generation \
         AND i.lease_until > ?1)"
    )
}

/// A generation as stored (`-1`, matching no lease, past `i64::MAX`).
fn generation(holder: &SlotHolder) -> i64 {
    i64::try_from(holder.lease.generation).unwrap_or(-1)
}

/// Takes a slot of `req.key` for `req.holder` if one is free, and records the waiting
/// attempts its worker reported.
pub(in crate::sqlite) fn acquire(conn: &mut Connection, req: SlotRequest) -> Result<bool, Fail> {
    let tx = immediate(conn)?;
    let h = &req.holder;
    let key = req.key.as_str();
    tx.prepare_cached(
        "INSERT INTO sayiir_limits (limit_key, max_slots) VALUES (?1, ?2) \
         ON CONFLICT (limit_key) DO UPDATE SET max_slots = excluded.max_slots",
    )?
    .execute(rusqlite::params![key, req.limit.get()])?;
    tx.prepare_cached(&format!(
        "DELETE FROM sayiir_limit_slots WHERE limit_key = ?2 AND NOT {}",
        live("sayiir_limit_slots")
    ))?
    .execute(rusqlite::params![req.now.0, key])?;
    let mine: Option<(String, i64)> = tx
        .prepare_cached(
            "SELECT lease_owner, lease_generation FROM sayiir_limit_slots \
             WHERE limit_key = ?1 AND instance_id = ?2 AND call = ?3",
        )?
        .query_row(rusqlite::params![key, h.instance.as_str(), h.call], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    if let Some((owner, g)) = mine {
        tx.commit()?;
        return Ok(owner == h.lease.owner.0 && g == generation(h));
    }
    let held: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM sayiir_limit_slots WHERE limit_key = ?1")?
        .query_row([key], |r| r.get(0))?;
    let granted = held < i64::from(req.limit.get());
    if granted {
        tx.prepare_cached(
            "INSERT INTO sayiir_limit_slots (limit_key, instance_id, call, lease_owner, \
               lease_generation, since) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(rusqlite::params![
            key,
            h.instance.as_str(),
            h.call,
            h.lease.owner.0,
            generation(h),
            req.now.0
        ])?;
    }
    let waiting = if granted {
        req.waiting.saturating_sub(1)
    } else {
        req.waiting
    };
    report_waiting(&tx, &req, waiting)?;
    tx.commit()?;
    Ok(granted)
}

/// Records that `waiting` attempts of the worker of `req.holder` wait for `req.key`.
fn report_waiting(tx: &Transaction<'_>, req: &SlotRequest, waiting: u64) -> Result<(), Fail> {
    let h = &req.holder;
    if waiting == 0 {
        tx.prepare_cached(
            "DELETE FROM sayiir_limit_waiters WHERE limit_key = ?1 AND lease_owner = ?2",
        )?
        .execute(rusqlite::params![req.key, h.lease.owner.0])?;
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO sayiir_limit_waiters (limit_key, lease_owner, instance_id, \
           lease_generation, waiting, since) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (limit_key, lease_owner) DO UPDATE SET instance_id = excluded.instance_id, \
           lease_generation = excluded.lease_generation, waiting = excluded.waiting, \
           since = excluded.since",
    )?
    .execute(rusqlite::params![
        req.key,
        h.lease.owner.0,
        h.instance.as_str(),
        generation(h),
        i64::try_from(waiting).unwrap_or(i64::MAX),
        req.now.0
    ])?;
    Ok(())
}

/// Deletes `holder`'s slot of `key`, if it is under its lease.
pub(in crate::sqlite) fn release(
    conn: &mut Connection,
    key: &str,
    holder: &SlotHolder,
) -> Result<(), Fail> {
    conn.prepare_cached(
        "DELETE FROM sayiir_limit_slots WHERE limit_key = ?1 AND instance_id = ?2 AND call = ?3 \
         AND lease_owner = ?4 AND lease_generation = ?5",
    )?
    .execute(rusqlite::params![
        key,
        holder.instance.as_str(),
        holder.call,
        holder.lease.owner.0,
        generation(holder)
    ])?;
    Ok(())
}

/// Every limit with its live holders and reported waiters at `now`.
pub(in crate::sqlite) fn usage(conn: &Connection, now: Timestamp) -> Result<Vec<LimitUsage>, Fail> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT l.limit_key, l.max_slots, \
           (SELECT COUNT(*) FROM sayiir_limit_slots \
             WHERE limit_key = l.limit_key AND {}), \
           (SELECT COALESCE(SUM(waiting), 0) FROM sayiir_limit_waiters \
             WHERE limit_key = l.limit_key AND {}) \
         FROM sayiir_limits l ORDER BY l.limit_key",
        live("sayiir_limit_slots"),
        live("sayiir_limit_waiters")
    ))?;
    let rows = stmt.query_map([now.0], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, limit, in_use, waiting) = row?;
        out.push(LimitUsage {
            key,
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
            in_use: u64::try_from(in_use).unwrap_or(0),
            waiting: u64::try_from(waiting).unwrap_or(0),
        });
    }
    Ok(out)
}

/// Reserves the next start of the rate limit `req.key` (see [`crate::gcra`]).
pub(in crate::sqlite) fn reserve(
    conn: &mut Connection,
    req: RateRequest,
) -> Result<Timestamp, Fail> {
    let interval = i64::try_from(req.interval_us.get()).unwrap_or(i64::MAX);
    let now_us = req.now.0.saturating_mul(1000);
    let tat: i64 = conn
        .prepare_cached(
            "INSERT INTO sayiir_rates (limit_key, tat_us, interval_us, burst) \
             VALUES (?1, ?2 + ?3, ?3, ?4) ON CONFLICT (limit_key) DO UPDATE SET \
             tat_us = max(sayiir_rates.tat_us, ?2) + ?3, interval_us = ?3, burst = ?4 \
             RETURNING tat_us",
        )?
        .query_row(
            rusqlite::params![req.key, now_us, interval, req.burst.get()],
            |r| r.get(0),
        )?;
    Ok(start_of(tat, &req))
}

/// Every rate limit's state, ordered by key.
pub(in crate::sqlite) fn rates(conn: &Connection) -> Result<Vec<RateUsage>, Fail> {
    let mut stmt = conn.prepare_cached(
        "SELECT limit_key, tat_us, interval_us, burst FROM sayiir_rates ORDER BY limit_key",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, tat, interval, burst) = row?;
        out.push(RateUsage::new(
            key,
            u64::try_from(interval).unwrap_or(1),
            u32::try_from(burst).unwrap_or(u32::MAX),
            tat,
        ));
    }
    Ok(out)
}
