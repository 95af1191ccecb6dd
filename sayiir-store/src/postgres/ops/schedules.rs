//! Schedules: created, read, claimed under a lease (`FOR UPDATE SKIP LOCKED`), written by
//! compare-and-swap on their revision (with the instances of the ticks fired, in the same
//! transaction), deleted.

use sqlx::Row as _;
use sqlx::postgres::{PgPool, PgRow};

use super::write::create_on;
use crate::postgres::decode::get;
use crate::postgres::fail::{Fail, invalid};
use crate::{
    InstanceId, ScheduleClaim, ScheduleLease, ScheduleRecord, ScheduleWrite, StoreError, Timestamp,
    WorkerId,
};

macro_rules! cols {
    () => {
        "id, workflow, spec, input, paused, next_tick, buffered, due_at, last_instance, note, \
         revision, lease_owner, lease_until, created_at, updated_at"
    };
}

fn time(row: &PgRow, col: &str, id: &str) -> Result<Option<Timestamp>, Fail> {
    Ok(get::<Option<i64>>(row, col, id)?.map(Timestamp))
}

fn record(row: &PgRow) -> Result<ScheduleRecord, Fail> {
    let id: String = get(row, "id", "?")?;
    let s = id.as_str();
    let last_instance =
        match get::<Option<String>>(row, "last_instance", s)? {
            Some(text) => Some(InstanceId::new(text.as_str()).map_err(|e| {
                invalid(s, format!("column `last_instance` of schedule `{s}`: {e}"))
            })?),
            None => None,
        };
    let revision: i64 = get(row, "revision", s)?;
    let lease = match (
        get::<Option<String>>(row, "lease_owner", s)?,
        time(row, "lease_until", s)?,
    ) {
        (Some(owner), Some(until)) => Some(ScheduleLease {
            owner: WorkerId(owner),
            until,
        }),
        _ => None,
    };
    Ok(ScheduleRecord {
        workflow: get(row, "workflow", s)?,
        spec: get(row, "spec", s)?,
        input: get(row, "input", s)?,
        paused: get(row, "paused", s)?,
        next_tick: time(row, "next_tick", s)?,
        buffered: time(row, "buffered", s)?,
        due_at: time(row, "due_at", s)?,
        last_instance,
        note: get(row, "note", s)?,
        revision: u64::try_from(revision)
            .map_err(|_| invalid(s, format!("column `revision` holds {revision}")))?,
        lease,
        created_at: Timestamp(get(row, "created_at", s)?),
        updated_at: Timestamp(get(row, "updated_at", s)?),
        id,
    })
}

fn not_found(id: &str) -> Fail {
    Fail::Store(StoreError::ScheduleNotFound { id: id.to_owned() })
}

pub(in crate::postgres) async fn load(
    pool: &PgPool,
    ns: &str,
    id: &str,
) -> Result<ScheduleRecord, Fail> {
    let sql = concat!(
        "SELECT ",
        cols!(),
        " FROM sayiir_schedules WHERE id = $1 AND namespace = $2"
    );
    match sqlx::query(sql)
        .bind(id)
        .bind(ns)
        .fetch_optional(pool)
        .await?
    {
        Some(row) => record(&row),
        None => Err(not_found(id)),
    }
}

pub(in crate::postgres) async fn list(
    pool: &PgPool,
    ns: &str,
) -> Result<Vec<ScheduleRecord>, Fail> {
    let sql = concat!(
        "SELECT ",
        cols!(),
        " FROM sayiir_schedules WHERE namespace = $1 ORDER BY id"
    );
    sqlx::query(sql)
        .bind(ns)
        .fetch_all(pool)
        .await?
        .iter()
        .map(record)
        .collect()
}

/// An id taken in another namespace is [`StoreError::IdTaken`].
pub(in crate::postgres) async fn create(
    pool: &PgPool,
    ns: &str,
    s: ScheduleRecord,
) -> Result<ScheduleRecord, Fail> {
    sqlx::query(
        "INSERT INTO sayiir_schedules (id, workflow, spec, input, paused, next_tick, buffered, \
         due_at, last_instance, note, revision, created_at, updated_at, namespace) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $11, $12) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&s.id)
    .bind(&s.workflow)
    .bind(&s.spec)
    .bind(&s.input)
    .bind(s.paused)
    .bind(s.next_tick.map(|t| t.0))
    .bind(s.buffered.map(|t| t.0))
    .bind(s.due_at.map(|t| t.0))
    .bind(s.last_instance.as_ref().map(InstanceId::as_str))
    .bind(&s.note)
    .bind(s.created_at.0)
    .bind(ns)
    .execute(pool)
    .await?;
    // A concurrent creation of the same id waited on the primary key and did nothing: either
    // way the row read now is the one stored (not found here: it is of another namespace).
    match load(pool, ns, &s.id).await {
        Err(Fail::Store(StoreError::ScheduleNotFound { .. })) => {
            Err(Fail::Store(StoreError::IdTaken { id: s.id }))
        }
        other => other,
    }
}

pub(in crate::postgres) async fn claim(
    pool: &PgPool,
    ns: &str,
    c: &ScheduleClaim,
) -> Result<Vec<ScheduleRecord>, Fail> {
    if c.limit == 0 || c.served.is_empty() {
        return Ok(Vec::new());
    }
    let sql = concat!(
        "UPDATE sayiir_schedules SET revision = revision + 1, lease_owner = $2, \
         lease_until = $3, updated_at = $1 WHERE id IN (\
           SELECT id FROM sayiir_schedules WHERE namespace = $6 AND NOT paused \
           AND due_at IS NOT NULL \
           AND due_at <= $1 AND (lease_until IS NULL OR lease_until <= $1) \
           AND workflow = ANY($4) ORDER BY due_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) \
         RETURNING ",
        cols!()
    );
    let limit = i64::try_from(c.limit).unwrap_or(i64::MAX);
    let rows = sqlx::query(sql)
        .bind(c.now.0)
        .bind(&c.owner.0)
        .bind(c.lease_until.0)
        .bind(&c.served)
        .bind(limit)
        .bind(ns)
        .fetch_all(pool)
        .await?;
    let mut out = rows.iter().map(record).collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
    Ok(out)
}

pub(in crate::postgres) async fn write(
    pool: &PgPool,
    ns: &str,
    w: ScheduleWrite,
) -> Result<ScheduleRecord, Fail> {
    let mut tx = pool.begin().await?;
    let found = sqlx::query(
        "SELECT revision FROM sayiir_schedules WHERE id = $1 AND namespace = $2 FOR UPDATE",
    )
    .bind(&w.id)
    .bind(ns)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(found) = found else {
        return Err(not_found(&w.id));
    };
    let revision: i64 = found.try_get(0)?;
    let actual = u64::try_from(revision).unwrap_or(u64::MAX);
    if actual != w.expected_revision {
        return Err(Fail::Store(StoreError::ScheduleConflict {
            id: w.id,
            expected: w.expected_revision,
            actual,
        }));
    }
    for new in w.fire {
        // A savepoint each; its wake-up is delivered when this transaction commits. An id
        // taken in another namespace is left as it is, as an existing one is (nothing was
        // written for it). Another error drops the transaction: nothing of this write stays.
        match create_on(&mut tx, ns, new).await {
            Ok(_) | Err(Fail::Store(StoreError::IdTaken { .. })) => {}
            Err(e) => return Err(e),
        }
    }
    let sql = concat!(
        "UPDATE sayiir_schedules SET spec = COALESCE($2, spec), input = COALESCE($3, input), \
         paused = $4, next_tick = $5, buffered = $6, due_at = $7, last_instance = $8, \
         note = $9, revision = revision + 1, lease_owner = NULL, lease_until = NULL, \
         updated_at = $10 WHERE id = $1 RETURNING ",
        cols!()
    );
    let row = sqlx::query(sql)
        .bind(&w.id)
        .bind(&w.spec)
        .bind(&w.input)
        .bind(w.paused)
        .bind(w.next_tick.map(|t| t.0))
        .bind(w.buffered.map(|t| t.0))
        .bind(w.due_at.map(|t| t.0))
        .bind(w.last_instance.as_ref().map(InstanceId::as_str))
        .bind(&w.note)
        .bind(w.now.0)
        .fetch_one(&mut *tx)
        .await?;
    let stored = record(&row)?;
    tx.commit().await?;
    Ok(stored)
}

pub(in crate::postgres) async fn delete(pool: &PgPool, ns: &str, id: &str) -> Result<(), Fail> {
    let n = sqlx::query("DELETE FROM sayiir_schedules WHERE id = $1 AND namespace = $2")
        .bind(id)
        .bind(ns)
        .execute(pool)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

pub(in crate::postgres) async fn next_due(
    pool: &PgPool,
    ns: &str,
    served: &[String],
) -> Result<Option<Timestamp>, Fail> {
    if served.is_empty() {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT MIN(GREATEST(due_at, COALESCE(lease_until, due_at))) FROM sayiir_schedules \
         WHERE namespace = $2 AND NOT paused AND due_at IS NOT NULL AND workflow = ANY($1)",
    )
    .bind(served)
    .bind(ns)
    .fetch_one(pool)
    .await?;
    Ok(row.try_get::<Option<i64>, _>(0)?.map(Timestamp))
}
