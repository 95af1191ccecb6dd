//! What an operator may do to an instance, from which status: the one table `pause`,
//! `resume`, `retry`, `fail` and `cancel` check (atomically, in the store), and that tools
//! read to offer only what is allowed.

use serde::Serialize;

use sayiir_store::{BlockKind, Status};

/// An operator's action on one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// [`Engine::pause`](crate::Engine::pause).
    Pause,
    /// [`Engine::resume`](crate::Engine::resume).
    Resume,
    /// [`Engine::retry`](crate::Engine::retry).
    Retry,
    /// [`Engine::fail`](crate::Engine::fail).
    Fail,
    /// [`Engine::cancel`](crate::Engine::cancel).
    Cancel,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 5] = [
        Operation::Pause,
        Operation::Resume,
        Operation::Retry,
        Operation::Fail,
        Operation::Cancel,
    ];

    /// Its name (`pause`, `resume`, `retry`, `fail`, `cancel`).
    pub fn name(self) -> &'static str {
        match self {
            Operation::Pause => "pause",
            Operation::Resume => "resume",
            Operation::Retry => "retry",
            Operation::Fail => "fail",
            Operation::Cancel => "cancel",
        }
    }

    /// The blocks (`None`: not blocked) of a running instance this operation acts on, and what
    /// it sets: the table of `docs/operations.md`.
    ///
    /// | from | pause | resume | retry | fail | cancel |
    /// |---|---|---|---|---|---|
    /// | running (not blocked) | paused | – | – | – | cancelled |
    /// | blocked: version mismatch | paused | – | – | – | cancelled |
    /// | paused | – | running | – | – | cancelled |
    /// | parked (needs attention) | – | – | retry requested | fail requested | cancelled |
    /// | panicked, migration failed, payload too large | – | – | running | – | cancelled |
    /// | corrupt state, corrupt row, iteration limit | – | – | – | – | cancelled |
    /// | retry requested, fail requested | – | – | – | – | cancelled |
    /// | awaiting admission (a concurrency limit) | – | – | – | – | cancelled |
    /// | finished | – | – | – | – | – |
    pub(crate) fn acts_on(self) -> &'static [Option<BlockKind>] {
        match self {
            Operation::Pause => &[None, Some(BlockKind::VersionMismatch)],
            Operation::Resume => &[Some(BlockKind::Paused)],
            Operation::Retry => &[
                Some(BlockKind::Parked),
                Some(BlockKind::Panicked),
                Some(BlockKind::MigrationFailed),
                Some(BlockKind::PayloadTooLarge),
            ],
            Operation::Fail => &[Some(BlockKind::Parked)],
            // Any running instance (checked by its commit, not by a block).
            Operation::Cancel => &[],
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A status in words for messages: `running`, `paused`, `blocked (panicked)`, `completed`…
pub(crate) fn status_words(status: Status, block: Option<BlockKind>) -> String {
    match (status, block) {
        (Status::Running, None) => "running".into(),
        (Status::Running, Some(BlockKind::Paused)) => "paused".into(),
        (Status::Running, Some(BlockKind::Parked)) => "parked (needs attention)".into(),
        (Status::Running, Some(BlockKind::AwaitingAdmission)) => {
            "waiting for admission (a concurrency limit is full)".into()
        }
        (Status::Running, Some(k)) => format!("blocked ({k})"),
        (s, _) => s.to_string(),
    }
}
