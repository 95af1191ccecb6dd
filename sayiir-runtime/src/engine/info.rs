//! What the engine reports about instances and workers.

use sayiir_store::{
    BlockKind, DefinitionHash, Fingerprint, InstanceId, InstanceSummary, Status, Timestamp,
    WorkerId, WorkflowKey,
};

#[cfg(doc)]
use crate::Engine;
use crate::core::Inner;
use crate::error::VersionMismatch;

/// Lifecycle of an instance as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
#[non_exhaustive]
pub enum InstanceStatus {
    /// Not finished, being run or waiting to run.
    Running,
    /// Not finished, and kept out of dispatch: see the reason.
    Blocked {
        /// Category.
        kind: BlockKind,
        /// Explanation.
        reason: String,
    },
    /// Finished successfully.
    Completed,
    /// Finished with an `Err` output.
    Failed,
    /// Cancelled.
    Cancelled,
}

/// What [`Engine::status`] and [`Engine::list`] report about an instance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstanceInfo {
    /// Id.
    pub id: InstanceId,
    /// Workflow name.
    pub workflow: String,
    /// Declared version of the definition it runs under.
    pub version: u32,
    /// Definition hash it runs under.
    pub hash: DefinitionHash,
    /// Fingerprint of the stored types of that definition.
    pub fingerprint: Fingerprint,
    /// The stable identity of the state it is in (`start`, `charge#1`, a label), while it runs.
    pub state: Option<String>,
    /// Status.
    pub status: InstanceStatus,
    /// Number of committed transitions.
    pub seq: u64,
    /// Next due time, while running.
    pub due_at: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last commit time.
    pub updated_at: Timestamp,
    /// Set by [`Engine::status`] and [`Engine::list`] for an instance that is running (not
    /// blocked) while no live worker, in any process using the store, runs its definition
    /// (workflow, definition hash and fingerprint): it waits until one starts. Workers record
    /// what they run in the store when they start and keep that alive every third of their
    /// lease ([`Engine::workers`]); one that stops or dies no longer counts after its lease.
    pub no_live_worker: bool,
    /// Claim priority it was started with (`StartOptions::priority`; 0 by default).
    pub priority: i8,
}

impl InstanceInfo {
    pub(crate) fn from_summary(s: InstanceSummary, mismatch: Option<VersionMismatch>) -> Self {
        let status = match (s.status, s.blocked, mismatch) {
            (Status::Running, Some(b), _) => InstanceStatus::Blocked {
                kind: b.kind,
                reason: b.reason,
            },
            (Status::Running, None, Some(m)) => InstanceStatus::Blocked {
                kind: BlockKind::VersionMismatch,
                reason: m.to_string(),
            },
            (Status::Running, None, None) => InstanceStatus::Running,
            (Status::Completed, ..) => InstanceStatus::Completed,
            (Status::Failed, ..) => InstanceStatus::Failed,
            (..) => InstanceStatus::Cancelled,
        };
        Self {
            id: s.id,
            workflow: s.workflow,
            version: s.version,
            hash: s.hash,
            fingerprint: s.fingerprint,
            state: s.state_id,
            status,
            seq: s.seq,
            due_at: s.due_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
            no_live_worker: false,
            priority: s.priority,
        }
    }
}

/// A worker recorded in the store ([`Engine::workers`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct WorkerInfo {
    /// Its id (`host:pid:…`).
    pub id: WorkerId,
    /// When it started.
    pub started_at: Timestamp,
    /// When it last recorded itself.
    pub seen_at: Timestamp,
    /// Whether it counts as alive now (it recorded itself within its lease and has not
    /// stopped).
    pub alive: bool,
    /// The definitions it runs.
    pub runs: Vec<WorkflowKey>,
}

impl Inner {
    /// How this engine reports an instance: with a version mismatch if it serves the workflow
    /// but not the instance's definition; without one if it runs that definition (a binary of
    /// another version may have marked it during a rolling deploy: the mark does not keep this
    /// engine's workers from claiming it).
    pub(crate) fn info(&self, mut s: InstanceSummary) -> InstanceInfo {
        if s.blocked.as_ref().map(|b| b.kind) == Some(BlockKind::VersionMismatch)
            && self.registry.knows(&s)
        {
            s.blocked = None;
        }
        let mismatch = self.mismatch(&s);
        InstanceInfo::from_summary(s, mismatch)
    }
}
