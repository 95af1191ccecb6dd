//! Worker registrations: what each worker runs and until when it counts as alive.

use std::collections::BTreeMap;

use sqlx::postgres::PgPool;

use crate::postgres::decode::{bytes32, get, key_arrays};
use crate::postgres::fail::{Fail, invalid};
use crate::types::worker_horizon;
use crate::{
    DefinitionHash, Fingerprint, InstanceId, LeaseInfo, Timestamp, WorkerId, WorkerRecord,
    WorkflowKey,
};

/// Inserts or replaces `w` (times and keys) and deletes registrations dead for over a day.
/// The registration belongs to namespace `ns`.
pub(in crate::postgres) async fn heartbeat(
    pool: &PgPool,
    ns: &str,
    w: WorkerRecord,
) -> Result<(), Fail> {
    let mut tx = pool.begin().await?;
    let id = w.id.0.as_str();
    sqlx::query(
        "INSERT INTO sayiir_workers (id, started_at, seen_at, alive_until, namespace) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET \
         started_at = excluded.started_at, seen_at = excluded.seen_at, \
         alive_until = excluded.alive_until, namespace = excluded.namespace",
    )
    .bind(id)
    .bind(w.started_at.0)
    .bind(w.seen_at.0)
    .bind(w.alive_until.0)
    .bind(ns)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM sayiir_worker_runs WHERE worker_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let (workflows, hashes, fingerprints) = key_arrays(&w.runs);
    sqlx::query(
        "INSERT INTO sayiir_worker_runs (worker_id, workflow, definition_hash, fingerprint) \
         SELECT $1, * FROM UNNEST($2::text[], $3::bytea[], $4::bytea[]) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(&workflows)
    .bind(&hashes)
    .bind(&fingerprints)
    .execute(&mut *tx)
    .await?;
    let horizon = worker_horizon(w.seen_at).0;
    sqlx::query(
        "WITH gone AS (DELETE FROM sayiir_workers WHERE alive_until < $1 AND namespace = $2 \
           RETURNING id) \
         DELETE FROM sayiir_worker_runs WHERE worker_id IN (SELECT id FROM gone)",
    )
    .bind(horizon)
    .bind(ns)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The recorded workers of namespace `ns`, ordered by id, with their keys.
pub(in crate::postgres) async fn list(pool: &PgPool, ns: &str) -> Result<Vec<WorkerRecord>, Fail> {
    let mut out: BTreeMap<String, WorkerRecord> = BTreeMap::new();
    let rows = sqlx::query(
        "SELECT id, started_at, seen_at, alive_until FROM sayiir_workers \
         WHERE namespace = $1 ORDER BY id",
    )
    .bind(ns)
    .fetch_all(pool)
    .await?;
    for row in &rows {
        let id: String = get(row, "id", "<worker>")?;
        let w = format!("<worker {id:?}>");
        let record = WorkerRecord {
            started_at: Timestamp(get(row, "started_at", &w)?),
            seen_at: Timestamp(get(row, "seen_at", &w)?),
            alive_until: Timestamp(get(row, "alive_until", &w)?),
            id: WorkerId(id.clone()),
            runs: Vec::new(),
        };
        out.insert(id, record);
    }
    let rows = sqlx::query(
        "SELECT worker_id, workflow, definition_hash, fingerprint FROM sayiir_worker_runs \
         WHERE worker_id IN (SELECT id FROM sayiir_workers WHERE namespace = $1) \
         ORDER BY worker_id, workflow, definition_hash, fingerprint",
    )
    .bind(ns)
    .fetch_all(pool)
    .await?;
    for row in &rows {
        let id: String = get(row, "worker_id", "<worker>")?;
        let w = format!("<worker {id:?}>");
        let hash: Vec<u8> = get(row, "definition_hash", &w)?;
        let fingerprint: Vec<u8> = get(row, "fingerprint", &w)?;
        let key = WorkflowKey {
            workflow: get(row, "workflow", &w)?,
            hash: DefinitionHash(bytes32(&hash, &w, "sayiir_worker_runs.definition_hash")?),
            fingerprint: Fingerprint(bytes32(&fingerprint, &w, "sayiir_worker_runs.fingerprint")?),
        };
        if let Some(record) = out.get_mut(&id) {
            record.runs.push(key);
        }
    }
    Ok(out.into_values().collect())
}

/// The query of [`leases`]: `$1` is the namespace, `$2` now, `$3` the limit. Its
/// `lease_owner IS NOT NULL` is the predicate of the partial index
/// `sayiir_instances_lease_owner` (migration 0001), which holds only leased instances; owners
/// are ordered in the "C" collation (byte order, as the other stores).
const LEASES: &str = "SELECT id, workflow, state_id, lease_owner, lease_until \
     FROM sayiir_instances \
     WHERE namespace = $1 AND lease_owner IS NOT NULL AND lease_until > $2 AND status = 0 \
     ORDER BY lease_owner COLLATE \"C\", id LIMIT $3";

/// The running instances of namespace `ns` whose lease is live at `now`, ordered by owner
/// then id, at most `limit` of them.
pub(in crate::postgres) async fn leases(
    pool: &PgPool,
    ns: &str,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<LeaseInfo>, Fail> {
    let rows = sqlx::query(LEASES)
        .bind(ns)
        .bind(now.0)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let raw: String = get(row, "id", "<lease>")?;
        let id = InstanceId::new(raw.as_str())
            .map_err(|e| invalid(&raw, format!("column `id`: {e}")))?;
        out.push(LeaseInfo::new(
            id,
            get::<String>(row, "workflow", &raw)?,
            get(row, "state_id", &raw)?,
            WorkerId(get(row, "lease_owner", &raw)?),
            Timestamp(get(row, "lease_until", &raw)?),
        ));
    }
    Ok(out)
}

/// The `EXPLAIN (ANALYZE, BUFFERS)` lines of [`leases`] at `now`.
pub(in crate::postgres) async fn leases_plan(
    pool: &PgPool,
    ns: &str,
    now: Timestamp,
) -> Result<Vec<String>, Fail> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, BUFFERS) {LEASES}"
    )))
    .bind(ns)
    .bind(now.0)
    .bind(100_i64)
    .fetch_all(pool)
    .await?;
    let mut plan = Vec::with_capacity(rows.len());
    for row in &rows {
        plan.push(sqlx::Row::try_get::<String, _>(row, 0)?);
    }
    Ok(plan)
}
