//! Worker registrations: what each worker runs and until when it counts as alive.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::write::immediate;
use crate::sqlite::decode::{bytes32, get};
use crate::sqlite::fail::{Fail, invalid};
use crate::types::worker_horizon;
use crate::{
    DefinitionHash, Fingerprint, InstanceId, LeaseInfo, Timestamp, WorkerId, WorkerRecord,
    WorkflowKey,
};

/// Inserts or replaces `w` (times and keys) and deletes registrations dead for over a day.
/// The registration belongs to namespace `ns`.
pub(in crate::sqlite) fn heartbeat(
    conn: &mut Connection,
    ns: &str,
    w: WorkerRecord,
) -> Result<(), Fail> {
    let tx = immediate(conn)?;
    let id = w.id.0.as_str();
    tx.prepare_cached(
        "INSERT INTO sayiir_workers (id, started_at, seen_at, alive_until, namespace) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET \
         started_at = excluded.started_at, seen_at = excluded.seen_at, \
         alive_until = excluded.alive_until, namespace = excluded.namespace",
    )?
    .execute(rusqlite::params![
        id,
        w.started_at.0,
        w.seen_at.0,
        w.alive_until.0,
        ns
    ])?;
    tx.prepare_cached("DELETE FROM sayiir_worker_runs WHERE worker_id = ?1")?
        .execute([id])?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO sayiir_worker_runs (worker_id, workflow, definition_hash, fingerprint) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        )?;
        for k in &w.runs {
            insert.execute(rusqlite::params![
                id,
                k.workflow,
                k.hash.0.as_slice(),
                k.fingerprint.0.as_slice()
            ])?;
        }
    }
    let horizon = worker_horizon(w.seen_at).0;
    tx.prepare_cached(
        "DELETE FROM sayiir_worker_runs WHERE worker_id IN \
         (SELECT id FROM sayiir_workers WHERE alive_until < ?1 AND namespace = ?2)",
    )?
    .execute(rusqlite::params![horizon, ns])?;
    tx.prepare_cached("DELETE FROM sayiir_workers WHERE alive_until < ?1 AND namespace = ?2")?
        .execute(rusqlite::params![horizon, ns])?;
    tx.commit()?;
    Ok(())
}

/// The recorded workers of namespace `ns`, ordered by id, with their keys.
pub(in crate::sqlite) fn list(conn: &Connection, ns: &str) -> Result<Vec<WorkerRecord>, Fail> {
    let mut out: BTreeMap<String, WorkerRecord> = BTreeMap::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT id, started_at, seen_at, alive_until FROM sayiir_workers \
             WHERE namespace = ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([ns])?;
        while let Some(row) = rows.next()? {
            let id: String = get(row, 0, "<worker>", "sayiir_workers.id")?;
            let w = format!("<worker {id:?}>");
            let record = WorkerRecord {
                started_at: Timestamp(get(row, 1, &w, "sayiir_workers.started_at")?),
                seen_at: Timestamp(get(row, 2, &w, "sayiir_workers.seen_at")?),
                alive_until: Timestamp(get(row, 3, &w, "sayiir_workers.alive_until")?),
                id: WorkerId(id.clone()),
                runs: Vec::new(),
            };
            out.insert(id, record);
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT worker_id, workflow, definition_hash, fingerprint FROM sayiir_worker_runs \
         WHERE worker_id IN (SELECT id FROM sayiir_workers WHERE namespace = ?1) \
         ORDER BY worker_id, workflow, definition_hash, fingerprint",
    )?;
    let mut rows = stmt.query([ns])?;
    while let Some(row) = rows.next()? {
        let id: String = get(row, 0, "<worker>", "sayiir_worker_runs.worker_id")?;
        let w = format!("<worker {id:?}>");
        let hash: Vec<u8> = get(row, 2, &w, "sayiir_worker_runs.definition_hash")?;
        let fingerprint: Vec<u8> = get(row, 3, &w, "sayiir_worker_runs.fingerprint")?;
        let key = WorkflowKey {
            workflow: get(row, 1, &w, "sayiir_worker_runs.workflow")?,
            hash: DefinitionHash(bytes32(&hash, &w, "sayiir_worker_runs.definition_hash")?),
            fingerprint: Fingerprint(bytes32(&fingerprint, &w, "sayiir_worker_runs.fingerprint")?),
        };
        if let Some(record) = out.get_mut(&id) {
            record.runs.push(key);
        }
    }
    Ok(out.into_values().collect())
}

/// The query of [`leases`]: `?1` is the namespace, `?2` now, `?3` the limit. It walks the
/// partial index of leased instances (migration 0013) from `now` on.
const LEASES: &str = "SELECT id, workflow, state_id, lease_owner, lease_until \
     FROM sayiir_instances INDEXED BY sayiir_instances_leased \
     WHERE namespace = ?1 AND lease_owner IS NOT NULL AND lease_until > ?2 AND status = 0 \
     ORDER BY lease_owner, id LIMIT ?3";

/// The running instances of namespace `ns` whose lease is live at `now`, ordered by owner
/// then id, at most `limit` of them.
pub(in crate::sqlite) fn leases(
    conn: &Connection,
    ns: &str,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<LeaseInfo>, Fail> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(LEASES)?;
    let mut rows = stmt.query(rusqlite::params![ns, now.0, limit])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let raw: String = get(row, 0, "<lease>", "id")?;
        let id = InstanceId::new(raw.as_str())
            .map_err(|e| invalid(&raw, format!("column `id`: {e}")))?;
        out.push(LeaseInfo::new(
            id,
            get::<String>(row, 1, &raw, "workflow")?,
            get(row, 2, &raw, "state_id")?,
            WorkerId(get(row, 3, &raw, "lease_owner")?),
            Timestamp(get(row, 4, &raw, "lease_until")?),
        ));
    }
    Ok(out)
}

/// The `EXPLAIN QUERY PLAN` lines (details) of [`leases`].
pub(in crate::sqlite) fn leases_plan(
    conn: &Connection,
    ns: &str,
    now: Timestamp,
) -> Result<Vec<String>, Fail> {
    super::read::explain(
        conn,
        LEASES,
        vec![
            rusqlite::types::Value::Text(ns.to_owned()),
            rusqlite::types::Value::Integer(now.0),
            rusqlite::types::Value::Integer(100),
        ],
    )
}
