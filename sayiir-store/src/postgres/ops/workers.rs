//! Worker registrations: what each worker runs and until when it counts as alive.

use std::collections::BTreeMap;

use sqlx::postgres::PgPool;

use crate::postgres::decode::{bytes32, get, key_arrays};
use crate::postgres::fail::Fail;
use crate::types::worker_horizon;
use crate::{DefinitionHash, Fingerprint, Timestamp, WorkerId, WorkerRecord, WorkflowKey};

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
