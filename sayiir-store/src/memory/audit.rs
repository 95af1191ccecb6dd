//! The memory store's audit log.

use crate::{AuditEntry, AuditQuery, Namespace, NewAuditEntry};

/// The entries with their namespaces, oldest first (ids 1, 2, ... across namespaces).
#[derive(Debug, Default)]
pub(super) struct AuditLog {
    entries: Vec<(Namespace, AuditEntry)>,
}

impl AuditLog {
    pub(super) fn append(&mut self, ns: &Namespace, e: NewAuditEntry) -> u64 {
        let id = self.entries.last().map_or(1, |(_, last)| last.id + 1);
        let entry = AuditEntry {
            id,
            at: e.at,
            who: e.who,
            action: e.action,
            targets: e.targets,
            detail: e.detail,
            result: e.result,
        };
        self.entries.push((ns.clone(), entry));
        id
    }

    pub(super) fn page(&self, ns: &Namespace, query: AuditQuery) -> Vec<AuditEntry> {
        self.entries
            .iter()
            .rev()
            .filter(|(n, _)| n == ns)
            .map(|(_, e)| e)
            .filter(|e| query.before.is_none_or(|before| e.id < before))
            .take(query.limit.get())
            .cloned()
            .collect()
    }
}
