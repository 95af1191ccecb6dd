//! Error plumbing: operations fail with either a raw SQLite error or a finished [`StoreError`];
//! raw errors are mapped once, at the boundary, where the database path is known.

use std::path::Path;

use rusqlite::ErrorCode;

use crate::StoreError;

/// The error of an operation running on a connection.
#[derive(Debug)]
pub(super) enum Fail {
    /// An error from SQLite, mapped by [`Fail::into_store`].
    Sql(rusqlite::Error),
    /// An error that is already typed.
    Store(StoreError),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl Fail {
    /// The typed error, naming `path` where the error is about the file.
    pub(super) fn into_store(self, path: &Path) -> StoreError {
        match self {
            Fail::Sql(e) => map_sqlite(e, path),
            Fail::Store(e) => e,
        }
    }
}

/// The SQLite result code of `e`, if it came from SQLite itself.
pub(super) fn code(e: &rusqlite::Error) -> Option<ErrorCode> {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
        _ => None,
    }
}

/// Maps a rusqlite error to the store's typed error.
pub(super) fn map_sqlite(e: rusqlite::Error, path: &Path) -> StoreError {
    match code(&e) {
        Some(ErrorCode::DiskFull) => StoreError::DiskFull,
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            detail: e.to_string(),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Unavailable {
            detail: e.to_string(),
        },
        Some(ErrorCode::NotADatabase) => StoreError::NotADatabase {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        // Explained by the file when it is the file's fault (read-only, a directory, …).
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly) => match super::file::explain(path) {
            Some(problem) => super::file::error(path, problem),
            None => StoreError::Backend {
                detail: format!("`{}`: {e}", path.display()),
            },
        },
        _ => StoreError::Backend {
            detail: e.to_string(),
        },
    }
}

/// A value read back from the database that does not decode.
pub(super) fn invalid(id: &str, detail: impl Into<String>) -> Fail {
    Fail::Store(StoreError::InvalidData {
        id: id.to_owned(),
        detail: detail.into(),
    })
}

/// Whether `e` means that a column held a value of an unexpected type or range.
pub(super) fn is_conversion(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::Utf8Error(..)
    )
}
