//! The closed sets of values the store keeps as codes: an instance's [`Status`] and the
//! [`BlockKind`] of its block. Each value has a stable code (what the SQL backends store) and a
//! stable snake_case name (what people and tools read and write: listings, command lines).

use std::fmt;

/// Lifecycle of an instance. `Running` covers everything that is not finished: runnable now,
/// waiting for a due time, or waiting for an external event.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Status {
    /// Not finished.
    Running,
    /// Finished with a successful output.
    Completed,
    /// Finished with an error output (the workflow returned `Err`).
    Failed,
    /// Stopped by a cancel request.
    Cancelled,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: &'static [Status] = &[
        Status::Running,
        Status::Completed,
        Status::Failed,
        Status::Cancelled,
    ];

    /// Stable code used by the SQL backends.
    pub fn code(self) -> i64 {
        match self {
            Status::Running => 0,
            Status::Completed => 1,
            Status::Failed => 2,
            Status::Cancelled => 3,
        }
    }

    /// Inverse of [`Status::code`].
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            0 => Status::Running,
            1 => Status::Completed,
            2 => Status::Failed,
            3 => Status::Cancelled,
            _ => return None,
        })
    }

    /// Stable name: `running`, `completed`, `failed`, `cancelled`. Also its
    /// [`Display`](fmt::Display).
    pub fn name(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    /// Inverse of [`Status::name`] (exact, case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// Whether the instance has finished.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Status::Running)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an instance is kept out of dispatch, or (for the request kinds, see
/// [`BlockKind::is_request`]) what an operator asked a worker to do with it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum BlockKind {
    /// Its definition hash is not one this binary knows. Cleared automatically when a worker
    /// that knows the hash claims it.
    VersionMismatch,
    /// Its state blob could not be decoded.
    CorruptState,
    /// Workflow or task code panicked while driving it.
    Panicked,
    /// A loop ran more iterations than its limit (`max_iterations`).
    IterationLimit,
    /// Paused by a user (`Engine::pause`); cleared by `Engine::resume`.
    Paused,
    /// A migration of its state to a newer version failed; its data is untouched.
    MigrationFailed,
    /// A column of its row in the store does not decode (a time that is not a number, an
    /// unknown status code, an id that is not valid, a value of the wrong type): set by the
    /// claim that met the row, which writes only the block columns and leaves every other
    /// byte of the row as it was. The reason names the column and the problem. Repair the
    /// row (and clear its block) or restart the instance.
    CorruptRow,
    /// A value it produced (a task's return value, its next state or its output) encodes to
    /// more bytes than the engine's payload limit; nothing of it was written, the instance is
    /// at its previous state.
    PayloadTooLarge,
    /// Needs attention: a task's retries were exhausted and the task is configured to park
    /// instead of letting the error flow into the workflow. The reason holds the last error's
    /// text; the instance is at the state of the failed call. An operator retries the call
    /// ([`BlockKind::RetryRequested`]), lets its error flow into the workflow
    /// ([`BlockKind::FailRequested`]) or cancels the instance.
    Parked,
    /// An operator asked to run the parked (or failed) call again. Not a block for claims:
    /// a claim takes the instance as if it were not blocked and keeps this in the row and in
    /// the record it returns; the worker performs the request in its first commit, which
    /// clears it ([`BlockWrite::Clear`](crate::BlockWrite::Clear)).
    RetryRequested,
    /// An operator asked to let a parked call's error flow into the workflow. Claimed like
    /// [`BlockKind::RetryRequested`].
    FailRequested,
    /// Waits for admission by its concurrency gates (a limit of its workflow type or of its
    /// concurrency key): set by the store when it is created (or restarted) while a gate is
    /// full, cleared by the store when a slot frees and it is the earliest waiter that fits.
    /// Not claimable; no operator action but cancel applies to it.
    AwaitingAdmission,
}

impl BlockKind {
    /// Every kind, in code order.
    pub const ALL: &'static [BlockKind] = &[
        BlockKind::VersionMismatch,
        BlockKind::CorruptState,
        BlockKind::Panicked,
        BlockKind::IterationLimit,
        BlockKind::Paused,
        BlockKind::MigrationFailed,
        BlockKind::CorruptRow,
        BlockKind::PayloadTooLarge,
        BlockKind::Parked,
        BlockKind::RetryRequested,
        BlockKind::FailRequested,
        BlockKind::AwaitingAdmission,
    ];

    /// Stable code used by the SQL backends.
    pub fn code(self) -> i64 {
        match self {
            BlockKind::VersionMismatch => 1,
            BlockKind::CorruptState => 2,
            BlockKind::Panicked => 3,
            BlockKind::IterationLimit => 4,
            BlockKind::Paused => 5,
            BlockKind::MigrationFailed => 6,
            BlockKind::CorruptRow => 7,
            BlockKind::PayloadTooLarge => 8,
            BlockKind::Parked => 9,
            BlockKind::RetryRequested => 10,
            BlockKind::FailRequested => 11,
            BlockKind::AwaitingAdmission => 12,
        }
    }

    /// Inverse of [`BlockKind::code`].
    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// Stable snake_case name (`version_mismatch`, `corrupt_state`, `panicked`,
    /// `iteration_limit`, `paused`, `migration_failed`, `corrupt_row`, `payload_too_large`,
    /// `parked`, `retry_requested`, `fail_requested`, `awaiting_admission`). Also its [`Display`](fmt::Display).
    pub fn name(self) -> &'static str {
        match self {
            BlockKind::VersionMismatch => "version_mismatch",
            BlockKind::CorruptState => "corrupt_state",
            BlockKind::Panicked => "panicked",
            BlockKind::IterationLimit => "iteration_limit",
            BlockKind::Paused => "paused",
            BlockKind::MigrationFailed => "migration_failed",
            BlockKind::CorruptRow => "corrupt_row",
            BlockKind::PayloadTooLarge => "payload_too_large",
            BlockKind::Parked => "parked",
            BlockKind::RetryRequested => "retry_requested",
            BlockKind::FailRequested => "fail_requested",
            BlockKind::AwaitingAdmission => "awaiting_admission",
        }
    }

    /// Inverse of [`BlockKind::name`] (exact, case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Whether an instance blocked so needs an operator: every kind except
    /// [`BlockKind::Paused`] (a user's deliberate choice), the requests
    /// ([`BlockKind::is_request`], which a worker performs) and
    /// [`BlockKind::AwaitingAdmission`] (the store admits it).
    pub fn needs_attention(self) -> bool {
        !matches!(
            self,
            BlockKind::Paused
                | BlockKind::RetryRequested
                | BlockKind::FailRequested
                | BlockKind::AwaitingAdmission
        )
    }

    /// Whether this is an operator's request ([`BlockKind::RetryRequested`],
    /// [`BlockKind::FailRequested`]): claims take such an instance as if it were not blocked,
    /// and keep the request for the worker.
    pub fn is_request(self) -> bool {
        matches!(self, BlockKind::RetryRequested | BlockKind::FailRequested)
    }

    /// Whether a claim may take an instance blocked so (the worker knowing its definition):
    /// a version mismatch (which the claim clears) or a request (which it keeps).
    pub(crate) fn claimable(self) -> bool {
        self == BlockKind::VersionMismatch || self.is_request()
    }
}

impl fmt::Display for BlockKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The codes of the kinds for which `keep` holds, as a SQL list (`1, 10, 11`). Codes are
/// numbers the store defines, never user input.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn code_list(keep: impl Fn(BlockKind) -> bool) -> String {
    BlockKind::ALL
        .iter()
        .filter(|k| keep(**k))
        .map(|k| k.code().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SQL condition "a claim may take it as far as its block goes": not blocked, or blocked
/// by a kind claims take (a version mismatch, a request). The due index of both SQL backends
/// (SQLite 0007, PostgreSQL 0006) has exactly this text in its predicate, so that claims,
/// `next_due` and `backlog`, which write it so too, walk that index, and blocked instances
/// (parked ones, say, which may stay for days) are not in it.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn claimable_block_sql() -> String {
    format!(
        "(blocked_kind IS NULL OR blocked_kind IN ({}))",
        code_list(BlockKind::claimable)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[test]
    fn the_due_indexes_hold_what_claims_take() {
        let condition = claimable_block_sql();
        assert_eq!(
            condition,
            "(blocked_kind IS NULL OR blocked_kind IN (1, 10, 11))"
        );
        for migration in [
            include_str!("../../migrations/sqlite/0007_admin.sql"),
            include_str!("../../migrations/postgres/0006_admin.sql"),
        ] {
            let index = format!("WHERE status = 0 AND due_at IS NOT NULL AND {condition};");
            assert!(migration.contains(&index), "{index}");
        }
        let attention = code_list(|k| !k.needs_attention());
        assert_eq!(attention, "5, 10, 11, 12");
        for migration in [
            include_str!("../../migrations/sqlite/0012_gates.sql"),
            include_str!("../../migrations/postgres/0011_gates.sql"),
        ] {
            let index = format!("WHERE blocked_kind NOT IN ({attention});");
            assert!(migration.contains(&index), "{index}");
        }
    }

    #[test]
    fn block_kinds_round_trip_by_code_and_name() {
        let names = [
            "version_mismatch",
            "corrupt_state",
            "panicked",
            "iteration_limit",
            "paused",
            "migration_failed",
            "corrupt_row",
            "payload_too_large",
            "parked",
            "retry_requested",
            "fail_requested",
            "awaiting_admission",
        ];
        assert_eq!(BlockKind::ALL.len(), names.len());
        for (i, (kind, name)) in BlockKind::ALL.iter().zip(names).enumerate() {
            assert_eq!(
                kind.code(),
                i as i64 + 1,
                "codes are stored: never renumber"
            );
            assert_eq!(kind.name(), name);
            assert_eq!(kind.to_string(), name);
            assert_eq!(BlockKind::from_name(name), Some(*kind));
            assert_eq!(BlockKind::from_code(kind.code()), Some(*kind));
        }
        assert_eq!(BlockKind::from_code(0), None);
        assert_eq!(BlockKind::from_code(13), None);
        assert_eq!(BlockKind::from_name("Parked"), None);
        let attention: Vec<_> = BlockKind::ALL
            .iter()
            .filter(|k| !k.needs_attention())
            .copied()
            .collect();
        assert_eq!(
            attention,
            [
                BlockKind::Paused,
                BlockKind::RetryRequested,
                BlockKind::FailRequested,
                BlockKind::AwaitingAdmission
            ]
        );
        let requests: Vec<_> = BlockKind::ALL
            .iter()
            .filter(|k| k.is_request())
            .copied()
            .collect();
        assert_eq!(
            requests,
            [BlockKind::RetryRequested, BlockKind::FailRequested]
        );
    }

    #[test]
    fn statuses_round_trip_by_code_and_name() {
        let names = ["running", "completed", "failed", "cancelled"];
        assert_eq!(Status::ALL.len(), names.len());
        for (i, (status, name)) in Status::ALL.iter().zip(names).enumerate() {
            assert_eq!(status.code(), i as i64);
            assert_eq!(status.name(), name);
            assert_eq!(status.to_string(), name);
            assert_eq!(Status::from_name(name), Some(*status));
            assert_eq!(Status::from_code(status.code()), Some(*status));
        }
        assert_eq!(Status::from_name("Running"), None);
        assert_eq!(Status::from_code(4), None);
    }
}
