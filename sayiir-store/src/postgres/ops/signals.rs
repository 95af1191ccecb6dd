//! Buffered signals: sending, listing, and consuming them inside a commit.
//!
//! Sending locks the instance's row before it numbers the signal, and a commit locks the row
//! before it checks and deletes signals, so the signals of one instance are numbered in send
//! order and a signal is consumed by at most one transition.

use std::collections::BTreeSet;

use sqlx::postgres::PgPool;
use sqlx::{Connection, PgConnection};

use crate::postgres::decode::{self, get, status_from_db};
use crate::postgres::fail::{Fail, invalid};
use crate::postgres::wake::notify;
use crate::{InstanceId, NewSignal, SignalRecord, StoreError};

/// Buffers `signal` and pulls the instance's due time in to `signal.now`. Returns the id.
pub(in crate::postgres) async fn send(
    pool: &PgPool,
    ns: &str,
    signal: NewSignal,
) -> Result<u64, Fail> {
    let mut conn = pool.acquire().await?;
    send_on(&mut conn, ns, signal).await
}

/// [`send`] on `conn`: in a transaction of its own, or in a savepoint of the one `conn` is in
/// (the application's: [`Transactional`](crate::Transactional)), whose commit then delivers
/// the wake-up. An instance of another namespace than `ns` is not found.
pub(in crate::postgres) async fn send_on(
    conn: &mut PgConnection,
    ns: &str,
    signal: NewSignal,
) -> Result<u64, Fail> {
    let mut tx = conn.begin().await?;
    let id = signal.id.as_str();
    let row = sqlx::query(
        "SELECT status FROM sayiir_instances WHERE id = $1 AND namespace = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(ns)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(Fail::Store(StoreError::NotFound { id: signal.id }));
    };
    if status_from_db(get(&row, "status", id)?, id)?.is_terminal() {
        return Err(Fail::Store(StoreError::Finished { id: signal.id }));
    }
    // `LEAST` ignores NULL: a NULL due time becomes `now`.
    sqlx::query("UPDATE sayiir_instances SET due_at = LEAST(due_at, $2) WHERE id = $1")
        .bind(id)
        .bind(signal.now.0)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query(
        "INSERT INTO sayiir_signals (instance_id, name, payload, sent_at) \
         VALUES ($1, $2, $3, $4) RETURNING signal_id",
    )
    .bind(id)
    .bind(&signal.name)
    .bind(&signal.payload)
    .bind(signal.now.0)
    .fetch_one(&mut *tx)
    .await?;
    let raw: i64 = get(&row, "signal_id", id)?;
    let signal_id = u64::try_from(raw)
        .map_err(|_| invalid(id, format!("negative signal id {raw} assigned")))?;
    notify(&mut tx).await?;
    tx.commit().await?;
    Ok(signal_id)
}

/// The pending signals of `id`, in send order.
pub(in crate::postgres) async fn list(
    pool: &PgPool,
    ns: &str,
    id: &InstanceId,
) -> Result<Vec<SignalRecord>, Fail> {
    // One statement, so that the existence check and the signals are one snapshot: no row for
    // an unknown instance, one row of NULLs for an instance without signals.
    let rows = sqlx::query(
        "SELECT s.signal_id, s.name, s.payload, s.sent_at FROM sayiir_instances i \
         LEFT JOIN sayiir_signals s ON s.instance_id = i.id \
         WHERE i.id = $1 AND i.namespace = $2 ORDER BY s.signal_id",
    )
    .bind(id.as_str())
    .bind(ns)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Err(Fail::Store(StoreError::NotFound { id: id.clone() }));
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(signal) = decode::signal(row, id.as_str())? {
            out.push(signal);
        }
    }
    Ok(out)
}

/// The distinct signal ids of `ids` if every one of them is a pending signal of `instance`;
/// `None` otherwise. Reads only; the caller holds the instance's row lock.
pub(in crate::postgres) async fn all_pending(
    conn: &mut PgConnection,
    instance: &str,
    ids: &[u64],
) -> Result<Option<Vec<i64>>, Fail> {
    let distinct: BTreeSet<u64> = ids.iter().copied().collect();
    let mut out = Vec::with_capacity(distinct.len());
    for id in distinct {
        // An id past `i64::MAX` was never assigned.
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        out.push(id);
    }
    if out.is_empty() {
        return Ok(Some(out));
    }
    let row = sqlx::query(
        "SELECT count(*) AS pending FROM sayiir_signals \
         WHERE instance_id = $1 AND signal_id = ANY($2)",
    )
    .bind(instance)
    .bind(&out)
    .fetch_one(&mut *conn)
    .await?;
    let pending: i64 = get(&row, "pending", instance)?;
    Ok((usize::try_from(pending).ok() == Some(out.len())).then_some(out))
}

/// Whether a signal named one of `names` is buffered for `instance`.
pub(in crate::postgres) async fn any_named(
    conn: &mut PgConnection,
    instance: &str,
    names: &[String],
) -> Result<bool, Fail> {
    if names.is_empty() {
        return Ok(false);
    }
    let found: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sayiir_signals WHERE instance_id = $1 AND name = ANY($2))",
    )
    .bind(instance)
    .bind(names)
    .fetch_one(&mut *conn)
    .await?;
    Ok(found)
}

/// Deletes the signals `ids` (checked by [`all_pending`]), or every signal of `instance` when it
/// is `finishing`.
pub(in crate::postgres) async fn consume(
    conn: &mut PgConnection,
    instance: &str,
    ids: &[i64],
    finishing: bool,
) -> Result<(), Fail> {
    if finishing {
        sqlx::query("DELETE FROM sayiir_signals WHERE instance_id = $1")
            .bind(instance)
            .execute(&mut *conn)
            .await?;
    } else if !ids.is_empty() {
        sqlx::query("DELETE FROM sayiir_signals WHERE signal_id = ANY($1)")
            .bind(ids)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
