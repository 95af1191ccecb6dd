//! How an instance is shown: its JSON form and its status word, shared by the commands.

use sayiir::store::{BlockKind, Timestamp};
use sayiir::{InstanceInfo, InstanceStatus};
use serde::Serialize;

use crate::output::Style;
use crate::time::rfc3339;

/// An instance in JSON output.
#[derive(Debug, Serialize)]
pub(crate) struct InstanceView {
    pub(crate) id: String,
    pub(crate) workflow: String,
    pub(crate) version: u32,
    /// The definition hash, in hex.
    pub(crate) hash: String,
    /// The fingerprint of its stored types, in hex.
    pub(crate) fingerprint: String,
    /// `running`, `blocked`, `completed`, `failed` or `cancelled`.
    pub(crate) status: &'static str,
    pub(crate) block: Option<BlockView>,
    pub(crate) state: Option<String>,
    pub(crate) seq: u64,
    pub(crate) due_at: Option<String>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    /// Running while no live worker runs its definition.
    pub(crate) no_live_worker: bool,
    /// Claim priority it was started with (0 by default).
    pub(crate) priority: i8,
}

/// Why an instance is blocked, in JSON output.
#[derive(Debug, Serialize)]
pub(crate) struct BlockView {
    /// The kind's stable name (`paused`, `panicked`, ...).
    pub(crate) kind: &'static str,
    pub(crate) reason: String,
    pub(crate) needs_attention: bool,
}

impl InstanceView {
    pub(crate) fn of(i: &InstanceInfo) -> Self {
        let (status, block) = match &i.status {
            InstanceStatus::Running => ("running", None),
            InstanceStatus::Blocked { kind, reason } => (
                "blocked",
                Some(BlockView {
                    kind: kind.name(),
                    reason: reason.clone(),
                    needs_attention: kind.needs_attention(),
                }),
            ),
            InstanceStatus::Completed => ("completed", None),
            InstanceStatus::Failed => ("failed", None),
            InstanceStatus::Cancelled => ("cancelled", None),
            _ => ("unknown", None),
        };
        Self {
            id: i.id.to_string(),
            workflow: i.workflow.clone(),
            version: i.version,
            hash: i.hash.to_string(),
            fingerprint: i.fingerprint.to_string(),
            status,
            block,
            state: i.state.clone(),
            seq: i.seq,
            due_at: i.due_at.map(rfc3339),
            created_at: rfc3339(i.created_at),
            updated_at: rfc3339(i.updated_at),
            no_live_worker: i.no_live_worker,
            priority: i.priority,
        }
    }
}

/// The block of an instance, if any.
pub(crate) fn block_of(i: &InstanceInfo) -> Option<(BlockKind, &str)> {
    match &i.status {
        InstanceStatus::Blocked { kind, reason } => Some((*kind, reason.as_str())),
        _ => None,
    }
}

/// The status word of a table (`running`, `paused`, `blocked: panicked`, ...) and its colour.
pub(crate) fn status_cell(i: &InstanceInfo) -> (String, Style) {
    match &i.status {
        InstanceStatus::Running if i.no_live_worker => ("running (no worker)".into(), Style::Cyan),
        InstanceStatus::Running => ("running".into(), Style::Cyan),
        InstanceStatus::Blocked { kind, .. } if *kind == BlockKind::Paused => {
            ("paused".into(), Style::Yellow)
        }
        InstanceStatus::Blocked { kind, .. } if kind.is_request() => {
            (kind.name().replace('_', " "), Style::Yellow)
        }
        InstanceStatus::Blocked { kind, .. } => (format!("blocked: {kind}"), Style::Red),
        InstanceStatus::Completed => ("completed".into(), Style::Green),
        InstanceStatus::Failed => ("failed".into(), Style::Red),
        InstanceStatus::Cancelled => ("cancelled".into(), Style::Dim),
        _ => ("unknown".into(), Style::Plain),
    }
}

/// A time for a table: RFC 3339 to the second (UTC).
pub(crate) fn short_time(t: Timestamp) -> String {
    let full = rfc3339(t);
    // `2025-03-01T08:30:00.250Z` → `2025-03-01T08:30:00Z`
    match (full.find('.'), full.ends_with('Z')) {
        (Some(dot), true) => format!("{}Z", &full[..dot]),
        _ => full,
    }
}
