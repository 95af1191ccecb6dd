//! Concurrency limits: slots held under instances' leases (migration 0008). An acquisition
//! locks its limit's row (the upsert) before it counts, so acquisitions of one limit take
//! turns and two workers never both take its last slot.

use sqlx::postgres::PgPool;
use sqlx::{Postgres, Transaction};

use crate::postgres::decode::get;
use crate::postgres::fail::Fail;
use crate::types::start_of;
use crate::{LimitUsage, RateRequest, RateUsage, SlotHolder, SlotRequest, Timestamp};

/// The condition "the row `s` is live at `$1`": its instance is leased under its lease,
/// unexpired.
macro_rules! live {
    () => {
        "EXISTS (SELECT 1 FROM sayiir_instances i WHERE i.id = s.instance_id \
         AND i.lease_owner = s.lease_owner AND i.lease_generation = s.lease_generation \
         AND i.lease_until > $1)"
    };
}

/// A generation as stored (`-1`, matching no lease, past `i64::MAX`).
fn generation(holder: &SlotHolder) -> i64 {
    i64::try_from(holder.lease.generation).unwrap_or(-1)
}

/// Takes a slot of `req.key` for `req.holder` if one is free, and records the waiting
/// attempts its worker reported.
pub(in crate::postgres) async fn acquire(pool: &PgPool, req: SlotRequest) -> Result<bool, Fail> {
    let h = &req.holder;
    let key = req.key.as_str();
    let id = h.instance.as_str();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO sayiir_limits (limit_key, max_slots) VALUES ($1, $2) \
         ON CONFLICT (limit_key) DO UPDATE SET max_slots = excluded.max_slots",
    )
    .bind(key)
    .bind(i64::from(req.limit.get()))
    .execute(&mut *tx)
    .await?;
    // The live holders once the dead ones are gone, and this call's slot if it holds one.
    let rows = sqlx::query(concat!(
        "WITH dead AS (DELETE FROM sayiir_limit_slots s WHERE limit_key = $2 AND NOT ",
        live!(),
        " RETURNING instance_id, call) \
         SELECT s.instance_id, s.call, s.lease_owner, s.lease_generation \
         FROM sayiir_limit_slots s WHERE s.limit_key = $2 \
         AND NOT EXISTS (SELECT 1 FROM dead d \
           WHERE d.instance_id = s.instance_id AND d.call = s.call)"
    ))
    .bind(req.now.0)
    .bind(key)
    .fetch_all(&mut *tx)
    .await?;
    let mut mine = None;
    for row in &rows {
        if get::<String>(row, "instance_id", id)? == id && get::<String>(row, "call", id)? == h.call
        {
            mine = Some(
                get::<String>(row, "lease_owner", id)? == h.lease.owner.0
                    && get::<i64>(row, "lease_generation", id)? == generation(h),
            );
        }
    }
    if let Some(mine) = mine {
        tx.commit().await?;
        return Ok(mine);
    }
    let granted = rows.len() < usize::try_from(req.limit.get()).unwrap_or(usize::MAX);
    if granted {
        sqlx::query(
            "INSERT INTO sayiir_limit_slots (limit_key, instance_id, call, lease_owner, \
               lease_generation, since) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(key)
        .bind(id)
        .bind(&h.call)
        .bind(&h.lease.owner.0)
        .bind(generation(h))
        .bind(req.now.0)
        .execute(&mut *tx)
        .await?;
    }
    let waiting = if granted {
        req.waiting.saturating_sub(1)
    } else {
        req.waiting
    };
    report_waiting(&mut tx, &req, waiting).await?;
    tx.commit().await?;
    Ok(granted)
}

/// Records that `waiting` attempts of the worker of `req.holder` wait for `req.key`.
async fn report_waiting(
    tx: &mut Transaction<'_, Postgres>,
    req: &SlotRequest,
    waiting: u64,
) -> Result<(), Fail> {
    let h = &req.holder;
    if waiting == 0 {
        sqlx::query("DELETE FROM sayiir_limit_waiters WHERE limit_key = $1 AND lease_owner = $2")
            .bind(&req.key)
            .bind(&h.lease.owner.0)
            .execute(&mut **tx)
            .await?;
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO sayiir_limit_waiters (limit_key, lease_owner, instance_id, \
           lease_generation, waiting, since) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (limit_key, lease_owner) DO UPDATE SET instance_id = excluded.instance_id, \
           lease_generation = excluded.lease_generation, waiting = excluded.waiting, \
           since = excluded.since",
    )
    .bind(&req.key)
    .bind(&h.lease.owner.0)
    .bind(h.instance.as_str())
    .bind(generation(h))
    .bind(i64::try_from(waiting).unwrap_or(i64::MAX))
    .bind(req.now.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes `holder`'s slot of `key`, if it is under its lease.
pub(in crate::postgres) async fn release(
    pool: &PgPool,
    key: &str,
    holder: &SlotHolder,
) -> Result<(), Fail> {
    sqlx::query(
        "DELETE FROM sayiir_limit_slots WHERE limit_key = $1 AND instance_id = $2 AND call = $3 \
         AND lease_owner = $4 AND lease_generation = $5",
    )
    .bind(key)
    .bind(holder.instance.as_str())
    .bind(&holder.call)
    .bind(&holder.lease.owner.0)
    .bind(generation(holder))
    .execute(pool)
    .await?;
    Ok(())
}

/// Every limit with its live holders and reported waiters at `now`.
pub(in crate::postgres) async fn usage(
    pool: &PgPool,
    now: Timestamp,
) -> Result<Vec<LimitUsage>, Fail> {
    let rows = sqlx::query(concat!(
        "SELECT l.limit_key, l.max_slots, (SELECT COUNT(*) FROM sayiir_limit_slots s \
           WHERE s.limit_key = l.limit_key AND ",
        live!(),
        ") AS in_use, (SELECT COALESCE(SUM(s.waiting), 0)::BIGINT FROM sayiir_limit_waiters s \
           WHERE s.limit_key = l.limit_key AND ",
        live!(),
        ") AS waiting FROM sayiir_limits l ORDER BY l.limit_key"
    ))
    .bind(now.0)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let key: String = get(row, "limit_key", "<limit>")?;
        let limit: i64 = get(row, "max_slots", &key)?;
        let in_use: i64 = get(row, "in_use", &key)?;
        let waiting: i64 = get(row, "waiting", &key)?;
        out.push(LimitUsage {
            key,
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
            in_use: u64::try_from(in_use).unwrap_or(0),
            waiting: u64::try_from(waiting).unwrap_or(0),
        });
    }
    Ok(out)
}

/// Reserves the next start of the rate limit `req.key` (see [`crate::gcra`]), in one
/// statement.
pub(in crate::postgres) async fn reserve(
    pool: &PgPool,
    req: RateRequest,
) -> Result<Timestamp, Fail> {
    let interval = i64::try_from(req.interval_us.get()).unwrap_or(i64::MAX);
    let now_us = req.now.0.saturating_mul(1000);
    let tat: i64 = sqlx::query_scalar(
        "INSERT INTO sayiir_rates (limit_key, tat_us, interval_us, burst) \
         VALUES ($1, $2 + $3, $3, $4) ON CONFLICT (limit_key) DO UPDATE SET \
         tat_us = GREATEST(sayiir_rates.tat_us, $2) + $3, interval_us = $3, burst = $4 \
         RETURNING tat_us",
    )
    .bind(&req.key)
    .bind(now_us)
    .bind(interval)
    .bind(i64::from(req.burst.get()))
    .fetch_one(pool)
    .await?;
    Ok(start_of(tat, &req))
}

/// Every rate limit's state, ordered by key.
pub(in crate::postgres) async fn rates(pool: &PgPool) -> Result<Vec<RateUsage>, Fail> {
    let rows = sqlx::query(
        "SELECT limit_key, tat_us, interval_us, burst FROM sayiir_rates ORDER BY limit_key",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let key: String = get(row, "limit_key", "<rate>")?;
        let tat: i64 = get(row, "tat_us", &key)?;
        let interval: i64 = get(row, "interval_us", &key)?;
        let burst: i64 = get(row, "burst", &key)?;
        out.push(RateUsage::new(
            key,
            u64::try_from(interval).unwrap_or(1),
            u32::try_from(burst).unwrap_or(u32::MAX),
            tat,
        ));
    }
    Ok(out)
}
