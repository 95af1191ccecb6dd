//! The memory store's audit log.

use crate::{AuditEntry, AuditQuery, NewAuditEntry};

/// The entries, oldest first (ids 1, 2, ...).
#[derive(Debug, Default)]
pub(super) struct AuditLog {
    entries: Vec<AuditEntry>,
}

impl AuditLog {
    pub(super) fn append(&mut self, e: NewAuditEntry) -> u64 {
        let id = self.entries.last().map_or(1, |last| last.id + 1);
        self.entries.push(AuditEntry {
            id,
            at: e.at,
            who: e.who,
            action: e.action,
            targets: e.targets,
            detail: e.detail,
            result: e.result,
        });
        id
    }

    pub(super) fn page(&self, query: AuditQuery) -> Vec<AuditEntry> {
        self.entries
            .iter()
            .rev()
            .filter(|e| query.before.is_none_or(|before| e.id < before))
            .take(query.limit.get())
            .cloned()
            .collect()
    }
}
