//! Versions: restart, load_input, and the registered definitions and instance counts per
//! definition.

use crate::error::seq_after;
use std::collections::BTreeMap;

use sqlx::PgConnection;
use sqlx::postgres::{PgExecutor, PgPool};

use super::write::history_exists;
use crate::postgres::decode::{self, get, seq_from_db, seq_to_db, status_from_db};
use crate::postgres::fail::Fail;
use crate::postgres::wake::notify;
use crate::{DefinitionRecord, InstanceId, Restart, Status, StoreError, VersionCount};

/// Restarts `r.id` as a new run under `r.definition`, whatever its status.
pub(in crate::postgres) async fn restart(pool: &PgPool, ns: &str, r: Restart) -> Result<(), Fail> {
    let mut tx = pool.begin().await?;
    let id = r.id.as_str();
    let row = sqlx::query(
        "SELECT seq, status, gates FROM sayiir_instances \
         WHERE id = $1 AND namespace = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(ns)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(Fail::Store(StoreError::NotFound { id: r.id }));
    };
    let seq = seq_from_db(get(&row, "seq", id)?, id)?;
    let finished = status_from_db(get(&row, "status", id)?, id)?.is_terminal();
    let gates: Option<String> = get(&row, "gates", id)?;
    if seq != r.expected_seq {
        return Err(Fail::Store(StoreError::Conflict {
            id: r.id,
            expected: r.expected_seq,
            actual: seq,
        }));
    }
    let next_seq = seq_after(seq).map_err(Fail::Store)?;
    let db_seq = seq_to_db(next_seq, id)?;
    // On a refusal the transaction is dropped, which rolls it back.
    let inserted = sqlx::query(
        "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(db_seq)
    .bind(r.now.0)
    .bind(&r.event.kind)
    .bind(&r.event.payload)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(Fail::Store(StoreError::InvalidData {
            id: id.to_owned(),
            detail: history_exists(next_seq, seq),
        }));
    }
    let d = r.definition;
    sqlx::query(
        "UPDATE sayiir_instances SET version = $2, definition_hash = $3, fingerprint = $4, \
         state = $5, state_id = $6, status = $7, due_at = $8, seq = $9, \
         updated_at = $10, output = NULL, blocked_kind = NULL, blocked_reason = NULL, \
         blocked_at = NULL, lease_owner = NULL, lease_until = NULL, \
         trace_context = COALESCE($11, trace_context) \
         WHERE id = $1",
    )
    .bind(id)
    .bind(i64::from(d.version))
    .bind(d.hash.0.as_slice())
    .bind(d.fingerprint.0.as_slice())
    .bind(&r.state)
    .bind(&r.state_id)
    .bind(Status::Running.code())
    .bind(r.due_at.map(|t| t.0))
    .bind(db_seq)
    .bind(r.now.0)
    .bind(r.trace_context.as_deref())
    .execute(&mut *tx)
    .await?;
    put_inputs(&mut tx, &[id], &[r.input.as_slice()]).await?;
    if let Some(gates) = gates {
        if finished {
            // A new run takes a slot again, at the end of the queues.
            super::gates::queue(&mut tx, id, &super::gates::keys_of(&gates), r.now).await?;
        } else if super::gates::waits(&mut tx, id).await? {
            // Still waiting: the restart does not admit it.
            super::gates::set_waiting(&mut tx, id, r.now).await?;
        }
    }
    if r.due_at.is_some() {
        notify(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Stores (or replaces) the inputs of `ids`, in one statement.
pub(in crate::postgres) async fn put_inputs(
    conn: &mut PgConnection,
    ids: &[&str],
    inputs: &[&[u8]],
) -> Result<(), Fail> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO sayiir_inputs (instance_id, input) \
         SELECT * FROM UNNEST($1::text[], $2::bytea[]) \
         ON CONFLICT (instance_id) DO UPDATE SET input = excluded.input",
    )
    .bind(ids)
    .bind(inputs)
    .execute(conn)
    .await?;
    Ok(())
}

/// The stored input of `id` (`None` for a row from before inputs were kept).
pub(in crate::postgres) async fn load_input(
    pool: &PgPool,
    ns: &str,
    id: &InstanceId,
) -> Result<Option<Vec<u8>>, Fail> {
    let row = sqlx::query(
        "SELECT n.input FROM sayiir_instances i \
         LEFT JOIN sayiir_inputs n ON n.instance_id = i.id WHERE i.id = $1 AND i.namespace = $2",
    )
    .bind(id.as_str())
    .bind(ns)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => get(&row, "input", id.as_str()),
        None => Err(Fail::Store(StoreError::NotFound { id: id.clone() })),
    }
}

/// Inserts the definitions whose `(workflow, hash, fingerprint)` is not stored yet, in one
/// statement. The first of a repeated key wins; the keys are inserted in key order, so that
/// two registrations at once wait for each other's rows in the same order and never deadlock.
pub(in crate::postgres) async fn save_definitions<'c>(
    conn: impl PgExecutor<'c>,
    definitions: Vec<DefinitionRecord>,
) -> Result<(), Fail> {
    let mut firsts = BTreeMap::new();
    for d in &definitions {
        firsts
            .entry((d.workflow.as_str(), d.hash.0, d.fingerprint.0))
            .or_insert(d);
    }
    if firsts.is_empty() {
        return Ok(());
    }
    let firsts = firsts.values();
    sqlx::query(
        "INSERT INTO sayiir_definitions (workflow, version, definition_hash, fingerprint, shape, \
         created_at) \
         SELECT * FROM UNNEST($1::text[], $2::int8[], $3::bytea[], $4::bytea[], $5::bytea[], \
         $6::int8[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(
        firsts
            .clone()
            .map(|d| d.workflow.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        firsts
            .clone()
            .map(|d| i64::from(d.version))
            .collect::<Vec<_>>(),
    )
    .bind(
        firsts
            .clone()
            .map(|d| d.hash.0.as_slice())
            .collect::<Vec<_>>(),
    )
    .bind(
        firsts
            .clone()
            .map(|d| d.fingerprint.0.as_slice())
            .collect::<Vec<_>>(),
    )
    .bind(
        firsts
            .clone()
            .map(|d| d.shape.as_slice())
            .collect::<Vec<_>>(),
    )
    .bind(firsts.map(|d| d.created_at.0).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// The registered definitions (of `workflow` only, if given), ordered by workflow, version,
/// hash and fingerprint.
pub(in crate::postgres) async fn definitions(
    pool: &PgPool,
    workflow: Option<&str>,
) -> Result<Vec<DefinitionRecord>, Fail> {
    let rows = sqlx::query(
        "SELECT workflow, version, definition_hash, fingerprint, shape, created_at \
         FROM sayiir_definitions WHERE $1::text IS NULL OR workflow = $1 \
         ORDER BY workflow, version, definition_hash, fingerprint",
    )
    .bind(workflow)
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode::definition).collect()
}

/// Key of the advisory lock of folding `sayiir_count_deltas` ("SYYRCNTS").
const FOLD_LOCK: i64 = 0x5359_5952_434E_5453;

/// Folds the committed rows of `sayiir_count_deltas` into `sayiir_counts`, unless another
/// session is folding (the lock is tried, not waited for: that session's fold does it).
/// Deltas committed after this transaction's snapshot stay for the next fold. Rows are
/// upserted in key order, so two folds could not deadlock even without the lock.
pub(in crate::postgres) async fn fold_counts(pool: &PgPool) -> Result<(), Fail> {
    let mut tx = pool.begin().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(FOLD_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if locked {
        sqlx::query(
            "WITH d AS (DELETE FROM sayiir_count_deltas RETURNING *) \
             INSERT INTO sayiir_counts \
             SELECT namespace, workflow, version, definition_hash, fingerprint, status, \
             blocked_kind, sum(n)::bigint FROM d \
             GROUP BY namespace, workflow, version, definition_hash, fingerprint, status, \
             blocked_kind \
             ORDER BY namespace, workflow, version, definition_hash, fingerprint, status, \
             blocked_kind \
             ON CONFLICT (namespace, workflow, version, definition_hash, fingerprint, status, \
             blocked_kind) DO UPDATE SET n = sayiir_counts.n + excluded.n",
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Instance counts per definition, status and block kind, not blocked first: the folded
/// counts plus the deltas not folded yet (one statement, so one snapshot: a fold committing
/// meanwhile is seen whole or not at all). Triggers keep both exact (migration 0014), so
/// this reads a few rows whatever the number of instances.
pub(in crate::postgres) async fn version_counts(
    pool: &PgPool,
    ns: &str,
) -> Result<Vec<VersionCount>, Fail> {
    fold_counts(pool).await?;
    let rows = sqlx::query(
        "SELECT workflow, version, definition_hash, fingerprint, status, \
         nullif(blocked_kind, -1) AS blocked_kind, sum(n)::bigint AS count FROM \
         (SELECT * FROM sayiir_counts WHERE namespace = $1 \
          UNION ALL SELECT * FROM sayiir_count_deltas WHERE namespace = $1) c \
         GROUP BY c.workflow, c.version, c.definition_hash, c.fingerprint, c.status, \
         c.blocked_kind HAVING sum(n) > 0 \
         ORDER BY c.workflow, c.version, c.definition_hash, c.fingerprint, c.status, \
         c.blocked_kind",
    )
    .bind(ns)
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode::version_count).collect()
}
