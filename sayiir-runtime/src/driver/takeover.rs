//! Taking an instance of an older version over when a worker claims it: the registered
//! migrations move its state to the newest version they lead to (in memory, through every
//! version in between), and one commit — compare and swap on the sequence number, like any
//! transition — writes the new state and definition with a `migrated` history entry. A worker
//! killed before that commit leaves the instance as it was; after it, the instance is simply
//! an instance of the new version.

use std::sync::Arc;

use sayiir_store::{BlockKind, Event, InstanceRecord, Next, Status};
use serde::Serialize;

use super::{Stop, commit_failure};
use crate::codec;
use crate::commit;
use crate::core::WorkerCtx;
use crate::metrics::WorkflowInstruments;
use crate::planner::listening;

/// The payload of a `migrated` history entry.
#[derive(Serialize)]
struct Migrated<'a> {
    from_version: u32,
    from_hash: [u8; 32],
    from_fingerprint: [u8; 32],
    from_state: &'a str,
    to_version: u32,
    to_hash: [u8; 32],
    to_fingerprint: [u8; 32],
    to_state: &'a str,
}

/// Migrates `record` if its definition is a migration source of this engine; `record` then
/// describes the committed result.
pub(crate) async fn take_over(
    ctx: &Arc<WorkerCtx>,
    record: &mut InstanceRecord,
    m: &WorkflowInstruments,
) -> Result<(), Stop> {
    let registry = &ctx.inner.registry;
    let mut key = record.key();
    let (Some(mut route), Some(blob), Status::Running) =
        (registry.route(&key), record.state.as_ref(), record.status)
    else {
        return Ok(());
    };
    let from = route.from_def;
    let mut blob = blob.clone();
    let mut from_state = None;
    let mut to_state = String::new();
    // Each route leads to a registered version (checked at build); the bound guards a cycle.
    for _ in 0..64 {
        let moved = route.migration.apply(&blob).map_err(|e| {
            Stop::Blocked(
                BlockKind::MigrationFailed,
                format!(
                    "the migration of `{}` from version {} to a newer version failed: {e}; the instance is left as it was",
                    record.workflow, route.from_def.version
                ),
            )
        })?;
        blob = moved.blob;
        from_state.get_or_insert(moved.from);
        to_state = moved.to;
        key = route.to.clone();
        match registry.route(&key) {
            Some(next) => route = next,
            None => break,
        }
    }
    let Some(entry) = registry.get(&key) else {
        return Err(Stop::Failed(format!(
            "migration target of `{}` is not registered",
            record.workflow
        )));
    };
    let work = entry.wf.work(&blob).map_err(|e| {
        Stop::Blocked(
            BlockKind::MigrationFailed,
            format!(
                "the migrated state does not decode as version {}: {e}",
                entry.def.version
            ),
        )
    })?;
    let from_state = from_state.unwrap_or_default();
    let payload = codec::encode(&Migrated {
        from_version: from.version,
        from_hash: from.hash.0,
        from_fingerprint: from.fingerprint.0,
        from_state: &from_state,
        to_version: entry.def.version,
        to_hash: entry.def.hash.0,
        to_fingerprint: entry.def.fingerprint.0,
        to_state: &to_state,
    })
    .map_err(|e| Stop::Failed(format!("cannot encode history: {e}")))?;
    let now = ctx.inner.now();
    let next = Next::Running {
        state: blob.clone(),
        due_at: record.due_at,
        state_id: to_state.clone(),
    };
    let event = Event {
        kind: "migrated".into(),
        payload,
    };
    let mut transition = commit::transition(record.id.clone(), record.seq, next, event, now);
    transition.redefine = Some(entry.def);
    transition.listening = listening(&work);
    ctx.committer
        .commit(transition)
        .await
        .map_err(commit_failure)?;
    tracing::info!(
        from_version = from.version,
        to_version = entry.def.version,
        from_state = %from_state,
        to_state = %to_state,
        "instance migrated to a newer version"
    );
    ctx.inner.metrics.transition(m);
    record.seq += 1;
    record.version = entry.def.version;
    record.hash = entry.def.hash;
    record.fingerprint = entry.def.fingerprint;
    record.state = Some(blob);
    record.state_id = Some(to_state);
    record.updated_at = now;
    Ok(())
}
