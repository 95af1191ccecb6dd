//! What can go wrong, and the exit code each kind of failure gives.

use std::path::PathBuf;

use sayiir::schedule::ScheduleError;
use sayiir::store::{InvalidId, StoreError};
use sayiir::{EngineError, InstanceId};

/// The exit codes of the command line (also in `sayiir --help` and in the crate's docs).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// An operation failed: some instances of a bulk action refused it, an action was not
    /// confirmed, the engine or the store failed in another way.
    pub const FAILED: u8 = 1;
    /// A usage error: an unknown option, a missing argument (clap's), a bulk action without
    /// `--yes` while stdin is not a terminal.
    pub const USAGE: u8 = 2;
    /// Not found: no instance with that id.
    pub const NOT_FOUND: u8 = 3;
    /// Bad input: JSON that does not parse, a payload of the wrong type, a malformed id, an
    /// unknown signal name.
    pub const BAD_INPUT: u8 = 4;
    /// The store is unreachable or unusable: connection refused, a database of a newer schema
    /// than this build knows, a file that is not a database, no database at that path.
    pub const STORE: u8 = 5;
    /// Refused by the instance's state: resume of an instance that is not paused, cancel of a
    /// finished one.
    pub const REFUSED: u8 = 6;
}

/// An error of a command. Its [`Display`](std::fmt::Display) is what the command line prints
/// after `error: ` (on one line: see [`CliError::line`]); [`CliError::exit_code`] is the
/// process's exit code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The engine refused or failed (the code depends on the variant).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The store could not be opened or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An instance id that is not valid.
    #[error("`{given}` is not a valid instance id: {reason}")]
    InvalidId {
        /// The text given.
        given: String,
        /// Why it is not valid.
        reason: InvalidId,
    },
    /// Input that does not parse or does not fit (exit code 4).
    #[error("{0}")]
    BadInput(String),
    /// The arguments do not make a command (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// There is no database at the path given (exit code 5); the command line does not create
    /// one.
    #[error(
        "there is no SQLite database at `{}`; check the path (the command line never creates a store)",
        .0.display()
    )]
    NoDatabase(PathBuf),
    /// Something this build cannot do: a store whose backend it was built without (exit
    /// code 1).
    #[error("{0}")]
    Unsupported(String),
    /// An action on some of the instances it was meant for failed (exit code 1): each one's
    /// result has been reported.
    #[error("{action} failed for {failed} of {total} instances")]
    Partial {
        /// The action (`cancel`).
        action: &'static str,
        /// How many failed.
        failed: usize,
        /// How many were selected.
        total: usize,
    },
    /// Another failure (exit code 1).
    #[error("{0}")]
    Failed(String),
    /// The action was not confirmed (exit code 1).
    #[error("not confirmed; nothing was done")]
    NotConfirmed,
    /// Writing the output or reading the input failed (exit code 1).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// The process exit code for this error (see [`exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Engine(e) => engine_code(e),
            CliError::Store(e) => store_code(e),
            CliError::InvalidId { .. } | CliError::BadInput(_) => exit::BAD_INPUT,
            CliError::Usage(_) => exit::USAGE,
            CliError::NoDatabase(_) => exit::STORE,
            CliError::Partial { .. }
            | CliError::NotConfirmed
            | CliError::Failed(_)
            | CliError::Unsupported(_)
            | CliError::Io { .. } => exit::FAILED,
        }
    }

    /// The message on one line: the lines of a multi-line message (a version mismatch lists
    /// what changed) joined with `; `, control characters escaped.
    pub fn line(&self) -> String {
        one_line(&self.to_string())
    }
}

/// `s` on one line: its lines trimmed and joined with `; `, other control characters escaped.
pub(crate) fn one_line(s: &str) -> String {
    let joined = s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    crate::output::clean(&joined).into_owned()
}

/// A command-line argument as an instance id; exit code 4 when it is not a valid one.
pub(crate) fn parse_id(given: &str) -> Result<InstanceId, CliError> {
    InstanceId::new(given).map_err(|reason| CliError::InvalidId {
        given: crate::output::clean(given).into_owned(),
        reason,
    })
}

fn engine_code(e: &EngineError) -> u8 {
    match e {
        EngineError::NotFound { .. } => exit::NOT_FOUND,
        EngineError::InvalidId(_)
        | EngineError::UnknownSignal { .. }
        | EngineError::SignalType { .. }
        | EngineError::BadPayload { .. }
        | EngineError::WrongWorkflow { .. }
        | EngineError::NotRegistered { .. }
        | EngineError::UnknownWorkflow { .. }
        | EngineError::WrongInput { .. }
        | EngineError::InputChanged { .. }
        | EngineError::Encode { .. }
        | EngineError::TooLarge { .. } => exit::BAD_INPUT,
        EngineError::Finished { .. }
        | EngineError::NotPaused { .. }
        | EngineError::NotAllowed { .. }
        | EngineError::Cancelled { .. }
        | EngineError::Blocked { .. }
        | EngineError::VersionMismatch(_)
        | EngineError::WrongDefinition(_) => exit::REFUSED,
        EngineError::Store(s) => store_code(s),
        EngineError::Schedule(ScheduleError::NotFound { .. }) => exit::NOT_FOUND,
        EngineError::Schedule(ScheduleError::Stored { .. }) => exit::FAILED,
        EngineError::Schedule(_) => exit::BAD_INPUT,
        // UnknownDefinition (nothing to check a payload against), Corrupt, WorkerCrashed and
        // whatever later versions add.
        _ => exit::FAILED,
    }
}

fn store_code(e: &StoreError) -> u8 {
    match e {
        StoreError::NotFound { .. } | StoreError::ScheduleNotFound { .. } => exit::NOT_FOUND,
        StoreError::Finished { .. }
        | StoreError::Paused { .. }
        | StoreError::BlockState { .. }
        | StoreError::IdTaken { .. } => exit::REFUSED,
        StoreError::SchemaTooNew { .. }
        | StoreError::NotADatabase { .. }
        | StoreError::ForeignDatabase { .. }
        | StoreError::Locked { .. }
        | StoreError::DiskFull
        | StoreError::Corrupt { .. }
        | StoreError::Connect { .. }
        | StoreError::DatabaseMissing { .. }
        | StoreError::Unavailable { .. }
        | StoreError::File { .. }
        | StoreError::Io { .. }
        | StoreError::Backend { .. } => exit::STORE,
        // Conflict (another writer moved the instance on: try again), InvalidData (one damaged
        // row) and whatever later versions add.
        _ => exit::FAILED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_messages_become_one_line() {
        assert_eq!(one_line("a\n    b\n\nc\u{1b}[31m"), "a; b; c\\u{1b}[31m");
    }

    #[test]
    fn codes_follow_the_documented_table() {
        let id = InstanceId::new("x").unwrap();
        let not_found: CliError = EngineError::NotFound { id: id.clone() }.into();
        assert_eq!(not_found.exit_code(), exit::NOT_FOUND);
        let not_paused: CliError = EngineError::NotPaused { id: id.clone() }.into();
        assert_eq!(not_paused.exit_code(), exit::REFUSED);
        let too_new: CliError = StoreError::SchemaTooNew {
            found: 99,
            supported: 6,
        }
        .into();
        assert_eq!(too_new.exit_code(), exit::STORE);
        let wrapped: CliError = EngineError::Store(StoreError::Unavailable {
            detail: "refused".into(),
        })
        .into();
        assert_eq!(wrapped.exit_code(), exit::STORE);
        assert_eq!(parse_id(" x").unwrap_err().exit_code(), exit::BAD_INPUT);
    }
}
