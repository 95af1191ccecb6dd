//! Concurrency limits: slots held under instances' leases (migration 0009).

use rusqlite::{Connection, OptionalExtension};

use super::write::immediate;
use crate::sqlite::fail::Fail;
use crate::{LimitUsage, SlotHolder, SlotRequest, Timestamp};

/// The condition "the row `sayiir_limit_slots` is live at `?1`": its instance is leased under
/// its lease, unexpired.
const LIVE: &str = "EXISTS (SELECT 1 FROM sayiir_instances i \
    WHERE i.id = sayiir_limit_slots.instance_id \
    AND i.lease_owner = sayiir_limit_slots.lease_owner \
    AND i.lease_generation = sayiir_limit_slots.lease_generation AND i.lease_until > ?1)";

/// A generation as stored (`-1`, matching no lease, past `i64::MAX`).
fn generation(holder: &SlotHolder) -> i64 {
    i64::try_from(holder.lease.generation).unwrap_or(-1)
}

/// Takes a slot of `req.key` for `req.holder` if one is free; records it waiting otherwise.
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
        "DELETE FROM sayiir_limit_slots WHERE limit_key = ?2 AND NOT {LIVE}"
    ))?
    .execute(rusqlite::params![req.now.0, key])?;
    let mine: Option<(bool, String, i64)> = tx
        .prepare_cached(
            "SELECT waiting, lease_owner, lease_generation FROM sayiir_limit_slots \
             WHERE limit_key = ?1 AND instance_id = ?2 AND call = ?3",
        )?
        .query_row(rusqlite::params![key, h.instance.as_str(), h.call], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let granted = match mine {
        Some((false, owner, g)) => owner == h.lease.owner.0 && g == generation(h),
        _ => {
            let held: i64 = tx
                .prepare_cached(
                    "SELECT COUNT(*) FROM sayiir_limit_slots WHERE limit_key = ?1 AND waiting = 0",
                )?
                .query_row([key], |r| r.get(0))?;
            let granted = held < i64::from(req.limit.get());
            tx.prepare_cached(
                "INSERT INTO sayiir_limit_slots (limit_key, instance_id, call, lease_owner, \
                   lease_generation, waiting, since) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (limit_key, instance_id, call) DO UPDATE SET \
                   lease_owner = excluded.lease_owner, \
                   lease_generation = excluded.lease_generation, waiting = excluded.waiting",
            )?
            .execute(rusqlite::params![
                key,
                h.instance.as_str(),
                h.call,
                h.lease.owner.0,
                generation(h),
                !granted,
                req.now.0
            ])?;
            granted
        }
    };
    tx.commit()?;
    Ok(granted)
}

/// Deletes `holder`'s row of `key`, if it is under its lease.
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

/// Every limit with its live holders and waiters at `now`.
pub(in crate::sqlite) fn usage(conn: &Connection, now: Timestamp) -> Result<Vec<LimitUsage>, Fail> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT l.limit_key, l.max_slots, \
           (SELECT COUNT(*) FROM sayiir_limit_slots \
             WHERE limit_key = l.limit_key AND waiting = 0 AND {LIVE}), \
           (SELECT COUNT(*) FROM sayiir_limit_slots \
             WHERE limit_key = l.limit_key AND waiting = 1 AND {LIVE}) \
         FROM sayiir_limits l ORDER BY l.limit_key"
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
