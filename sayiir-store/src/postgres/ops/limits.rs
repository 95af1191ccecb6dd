//! Concurrency limits: slots held under instances' leases (migration 0008). An acquisition
//! locks its limit's row (the upsert) before it counts, so acquisitions of one limit take
//! turns and two workers never both take its last slot.

use sqlx::postgres::PgPool;

use crate::postgres::decode::get;
use crate::postgres::fail::Fail;
use crate::{LimitUsage, SlotHolder, SlotRequest, Timestamp};

/// The condition "the row `s` of `sayiir_limit_slots` is live at `$1`": its instance is leased
/// under its lease, unexpired.
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

/// Takes a slot of `req.key` for `req.holder` if one is free; records it waiting otherwise.
pub(in crate::postgres) async fn acquire(pool: &PgPool, req: SlotRequest) -> Result<bool, Fail> {
    let h = &req.holder;
    let key = req.key.as_str();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO sayiir_limits (limit_key, max_slots) VALUES ($1, $2) \
         ON CONFLICT (limit_key) DO UPDATE SET max_slots = excluded.max_slots",
    )
    .bind(key)
    .bind(i64::from(req.limit.get()))
    .execute(&mut *tx)
    .await?;
    sqlx::query(concat!(
        "DELETE FROM sayiir_limit_slots s WHERE limit_key = $2 AND NOT ",
        live!()
    ))
    .bind(req.now.0)
    .bind(key)
    .execute(&mut *tx)
    .await?;
    let mine = sqlx::query(
        "SELECT waiting, lease_owner, lease_generation FROM sayiir_limit_slots \
         WHERE limit_key = $1 AND instance_id = $2 AND call = $3",
    )
    .bind(key)
    .bind(h.instance.as_str())
    .bind(&h.call)
    .fetch_optional(&mut *tx)
    .await?;
    let id = h.instance.as_str();
    let held_by_me = match &mine {
        Some(row) if !get::<bool>(row, "waiting", id)? => Some(
            get::<String>(row, "lease_owner", id)? == h.lease.owner.0
                && get::<i64>(row, "lease_generation", id)? == generation(h),
        ),
        _ => None,
    };
    let granted = match held_by_me {
        Some(mine) => mine,
        None => {
            let held: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM sayiir_limit_slots WHERE limit_key = $1 AND NOT waiting",
            )
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            let granted = held < i64::from(req.limit.get());
            sqlx::query(
                "INSERT INTO sayiir_limit_slots (limit_key, instance_id, call, lease_owner, \
                   lease_generation, waiting, since) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (limit_key, instance_id, call) DO UPDATE SET \
                   lease_owner = excluded.lease_owner, \
                   lease_generation = excluded.lease_generation, waiting = excluded.waiting",
            )
            .bind(key)
            .bind(id)
            .bind(&h.call)
            .bind(&h.lease.owner.0)
            .bind(generation(h))
            .bind(!granted)
            .bind(req.now.0)
            .execute(&mut *tx)
            .await?;
            granted
        }
    };
    tx.commit().await?;
    Ok(granted)
}

/// Deletes `holder`'s row of `key`, if it is under its lease.
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

/// Every limit with its live holders and waiters at `now`.
pub(in crate::postgres) async fn usage(
    pool: &PgPool,
    now: Timestamp,
) -> Result<Vec<LimitUsage>, Fail> {
    let rows = sqlx::query(concat!(
        "SELECT l.limit_key, l.max_slots, (SELECT COUNT(*) FROM sayiir_limit_slots s \
           WHERE s.limit_key = l.limit_key AND NOT s.waiting AND ",
        live!(),
        ") AS in_use, (SELECT COUNT(*) FROM sayiir_limit_slots s \
           WHERE s.limit_key = l.limit_key AND s.waiting AND ",
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
