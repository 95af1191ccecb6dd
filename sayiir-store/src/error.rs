//! Typed store errors.

use std::fmt;
use std::path::PathBuf;

use crate::listing::escape_control;
use crate::types::{BlockKind, InstanceId};

/// An instance id that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidId {
    /// The empty string.
    #[error("instance id is empty")]
    Empty,
    /// Longer than the limit.
    #[error("instance id is {len} bytes long; the limit is {max}")]
    TooLong {
        /// Length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Contains a control character.
    #[error("instance id `{id}` contains the control character {ch:?}")]
    ControlCharacter {
        /// The id, escaped.
        id: String,
        /// The offending character.
        ch: char,
    },
    /// Leading or trailing whitespace.
    #[error("instance id `{id}` has leading or trailing whitespace")]
    Whitespace {
        /// The id.
        id: String,
    },
}

/// Why a SQLite database file cannot be used ([`StoreError::File`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileProblem {
    /// The directory that should hold the file does not exist.
    MissingDirectory {
        /// The directory.
        dir: PathBuf,
    },
    /// What should be the directory holding the file is a file.
    NotADirectory {
        /// The path that is not a directory.
        parent: PathBuf,
    },
    /// The path is a directory, not a file.
    IsADirectory,
    /// The file exists but this process may not write it.
    ReadOnlyFile,
    /// This process may not create files in the directory: the database itself, SQLite's
    /// `-wal` and `-shm` files or the worker's `.lock` file.
    ReadOnlyDirectory {
        /// The directory.
        dir: PathBuf,
    },
    /// The file system holding the file is mounted read-only.
    ReadOnlyFileSystem,
    /// The file was deleted while the store had it open.
    Deleted,
    /// Another file was put at the path while the store had it open (a rename over it, a
    /// restore from a backup).
    Replaced,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const REOPEN: &str = "what the store writes no longer reaches a file at that path; \
                              stop the process, put the right file back and open the store again";
        match self {
            FileProblem::MissingDirectory { dir } => {
                write!(
                    f,
                    "the directory `{}` does not exist; create it first",
                    dir.display()
                )
            }
            FileProblem::NotADirectory { parent } => {
                write!(f, "`{}` is not a directory", parent.display())
            }
            FileProblem::IsADirectory => {
                f.write_str("it is a directory; give the path of a database file")
            }
            FileProblem::ReadOnlyFile => f.write_str(
                "the file is read-only for this process; check its owner and permissions",
            ),
            FileProblem::ReadOnlyDirectory { dir } => write!(
                f,
                "this process cannot create files in `{}` (SQLite needs its `-wal` and `-shm` \
                 files beside the database, a worker its `.lock` file); check the directory's \
                 owner and permissions",
                dir.display()
            ),
            FileProblem::ReadOnlyFileSystem => f.write_str("the file system is read-only"),
            FileProblem::Deleted => {
                write!(
                    f,
                    "the file was deleted while the store had it open; {REOPEN}"
                )
            }
            FileProblem::Replaced => write!(
                f,
                "another file was put at that path while the store had it open; {REOPEN}"
            ),
        }
    }
}

/// Errors of [`Store`](crate::Store) operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No instance has this id.
    #[error("no instance with id `{id}`")]
    NotFound {
        /// The id.
        id: InstanceId,
    },
    /// Compare-and-swap failed: the instance moved on since the writer loaded it.
    #[error(
        "instance `{id}` is at sequence {actual}, not {expected}: another writer committed first"
    )]
    Conflict {
        /// The id.
        id: InstanceId,
        /// The sequence number the writer expected.
        expected: u64,
        /// The sequence number found.
        actual: u64,
    },
    /// The instance has finished; it takes no more transitions.
    #[error("instance `{id}` has finished; it takes no more transitions")]
    Finished {
        /// The id.
        id: InstanceId,
    },
    /// The instance is paused; it takes no transitions until it is resumed.
    #[error("instance `{id}` is paused; it takes no transitions until it is resumed")]
    Paused {
        /// The id.
        id: InstanceId,
    },
    /// The instance's block is not one the operation allows
    /// ([`Store::update_block`](crate::Store::update_block): not among its `from`).
    #[error("instance `{id}` {}, which does not allow this", block_state(*actual))]
    BlockState {
        /// The id.
        id: InstanceId,
        /// Its block kind (`None`: not blocked).
        actual: Option<BlockKind>,
    },
    /// No schedule has this id.
    #[error("no schedule with id `{}`", escape_control(id))]
    ScheduleNotFound {
        /// The id.
        id: String,
    },
    /// Compare-and-swap failed: the schedule was written (or claimed) since the writer read it.
    #[error(
        "schedule `{}` is at revision {actual}, not {expected}: it was written since it was read",
        escape_control(id)
    )]
    ScheduleConflict {
        /// The id.
        id: String,
        /// The revision the writer expected.
        expected: u64,
        /// The revision found.
        actual: u64,
    },
    /// The database was written by a newer version of sayiir: it has schema migrations this
    /// build does not know (SQLite: `PRAGMA user_version`; PostgreSQL: the `sayiir_migrations`
    /// table).
    #[error(
        "the database schema is version {found} but this build supports up to {supported}; upgrade sayiir to open it"
    )]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The file is not a database at all.
    #[error("`{}` is not a SQLite database: {detail}", path.display())]
    NotADatabase {
        /// The file.
        path: PathBuf,
        /// What the backend said.
        detail: String,
    },
    /// The database belongs to another application.
    #[error("`{}` is a database of another application (it has tables but no sayiir schema)", path.display())]
    ForeignDatabase {
        /// The file.
        path: PathBuf,
    },
    /// Another process is already working this database and the backend allows only one.
    #[error("`{}` is already worked by another process (lock file `{}`); SQLite allows one worker process per database, use PostgreSQL for several", path.display(), lock.display())]
    Locked {
        /// The database.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// No space left: the transaction was rolled back and nothing was written.
    #[error("the disk is full; the transaction was rolled back")]
    DiskFull,
    /// The database file itself is damaged.
    #[error("the database is corrupt: {detail}")]
    Corrupt {
        /// What the backend said.
        detail: String,
    },
    /// The store refused the connection for a reason that retrying will not fix: invalid
    /// connection settings (a malformed URL), failed authentication, missing privileges, a TLS
    /// misconfiguration.
    #[error("cannot connect to the store: {detail}")]
    Connect {
        /// What went wrong (never includes a password).
        detail: String,
    },
    /// The database named in the connection settings does not exist on the server.
    #[error(
        "the database `{name}` does not exist on the server; create it first (`CREATE DATABASE \"{name}\"`)"
    )]
    DatabaseMissing {
        /// The database name.
        name: String,
    },
    /// The database is busy or temporarily unreachable; the operation can be retried.
    #[error("the store is temporarily unavailable: {detail}")]
    Unavailable {
        /// What the backend said.
        detail: String,
    },
    /// A value read back from the store is not valid (e.g. an unknown status code, a time
    /// that is not a number, an id with a control character). The message names the column;
    /// its control characters, and the id's, are escaped.
    #[error(
        "invalid data in the store for `{}`: {}",
        escape_control(id),
        escape_control(detail)
    )]
    InvalidData {
        /// The instance, as stored (it need not be a valid id).
        id: String,
        /// What is wrong, naming the column.
        detail: String,
    },
    /// The database file cannot be used, or is no longer the one the store opened: see
    /// [`FileProblem`]. Retrying does not help; a worker that meets it stops.
    #[error("cannot use the database `{}`: {problem}", path.display())]
    File {
        /// The database file, as given to the store.
        path: PathBuf,
        /// What is wrong with it.
        problem: FileProblem,
    },
    /// An I/O error outside the database engine (lock file, directory).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A creation (of an instance or a schedule) whose id is taken in another namespace of the
    /// same store: ids are unique per store, not per namespace. Nothing of the other
    /// namespace's record is returned.
    #[error("id `{id}` is taken in another namespace (ids are unique per store)")]
    IdTaken {
        /// The id asked.
        id: String,
    },
    /// Any other backend error.
    #[error("store error: {detail}")]
    Backend {
        /// What the backend said.
        detail: String,
    },
}

/// One error can be the answer of several callers (a batch that failed as a whole). A clone of
/// [`StoreError::Io`] keeps the I/O error's kind and message, not its inner source.
impl Clone for StoreError {
    fn clone(&self) -> Self {
        match self {
            Self::NotFound { id } => Self::NotFound { id: id.clone() },
            Self::Conflict {
                id,
                expected,
                actual,
            } => Self::Conflict {
                id: id.clone(),
                expected: *expected,
                actual: *actual,
            },
            Self::Finished { id } => Self::Finished { id: id.clone() },
            Self::Paused { id } => Self::Paused { id: id.clone() },
            Self::BlockState { id, actual } => Self::BlockState {
                id: id.clone(),
                actual: *actual,
            },
            Self::ScheduleNotFound { id } => Self::ScheduleNotFound { id: id.clone() },
            Self::ScheduleConflict {
                id,
                expected,
                actual,
            } => Self::ScheduleConflict {
                id: id.clone(),
                expected: *expected,
                actual: *actual,
            },
            Self::SchemaTooNew { found, supported } => Self::SchemaTooNew {
                found: *found,
                supported: *supported,
            },
            Self::NotADatabase { path, detail } => Self::NotADatabase {
                path: path.clone(),
                detail: detail.clone(),
            },
            Self::ForeignDatabase { path } => Self::ForeignDatabase { path: path.clone() },
            Self::Locked { path, lock } => Self::Locked {
                path: path.clone(),
                lock: lock.clone(),
            },
            Self::DiskFull => Self::DiskFull,
            Self::Corrupt { detail } => Self::Corrupt {
                detail: detail.clone(),
            },
            Self::Connect { detail } => Self::Connect {
                detail: detail.clone(),
            },
            Self::DatabaseMissing { name } => Self::DatabaseMissing { name: name.clone() },
            Self::Unavailable { detail } => Self::Unavailable {
                detail: detail.clone(),
            },
            Self::InvalidData { id, detail } => Self::InvalidData {
                id: id.clone(),
                detail: detail.clone(),
            },
            Self::File { path, problem } => Self::File {
                path: path.clone(),
                problem: problem.clone(),
            },
            Self::Io { context, source } => Self::Io {
                context: context.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            Self::IdTaken { id } => Self::IdTaken { id: id.clone() },
            Self::Backend { detail } => Self::Backend {
                detail: detail.clone(),
            },
        }
    }
}

impl StoreError {
    /// Whether retrying the same operation later may succeed: only for
    /// [`StoreError::Unavailable`] (a busy database, an unreachable server, a lost connection, a
    /// serialization failure). Refused credentials ([`StoreError::Connect`]), a missing
    /// database and the other errors need a change before a retry can pass.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

/// How [`StoreError::BlockState`] says what the block is.
fn block_state(actual: Option<BlockKind>) -> String {
    match actual {
        Some(kind) => format!("is blocked ({kind})"),
        None => "is not blocked".to_owned(),
    }
}

/// The sequence number after `seq`, or a backend error when `seq` is the last one.
pub(crate) fn seq_after(seq: u64) -> Result<u64, StoreError> {
    seq.checked_add(1).ok_or_else(|| StoreError::Backend {
        detail: "sequence number overflow".into(),
    })
}

/// The head's sequence number once `t` is committed (its last history entry's):
/// [`Transition::next_seq`](crate::Transition::next_seq), overflow as [`seq_after`]'s.
pub(crate) fn last_seq(t: &crate::Transition) -> Result<u64, StoreError> {
    t.next_seq().ok_or_else(|| StoreError::Backend {
        detail: "sequence number overflow".into(),
    })
}
