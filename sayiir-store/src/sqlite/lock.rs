//! The one-worker-process-per-database rule: an exclusive advisory lock (`flock` on Unix,
//! `LockFileEx` on Windows) on the sidecar file `<database>.lock`, held from
//! `register_worker` until the last registered owner unregisters or the store is dropped.
//!
//! The lock belongs to an open file description, so a second store opened on the same database
//! in the same process is refused too: two engines on one SQLite file would fight over leases.

use std::collections::HashSet;
use std::fs::{File, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::Inner;
use super::ops::lease;
use crate::{StoreError, WorkerId};

/// The worker lock of one store.
#[derive(Debug, Default)]
pub(super) struct WorkerLock {
    /// The locked file, while some owner is registered.
    file: Option<File>,
    /// The registered owners.
    owners: HashSet<String>,
}

/// `<db>.lock`, next to the database file.
pub(super) fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// Creates (unless it exists) `lock`, the lock file of `db`, with permissions `mode`.
pub(super) fn create(db: &Path, lock: &Path, mode: u32) -> Result<(), StoreError> {
    open(db, lock, mode).map(drop)
}

/// Opens (creating if needed) `lock`, the lock file of `db`.
fn open(db: &Path, lock: &Path, mode: u32) -> Result<File, StoreError> {
    super::file::open_side(lock, mode).map_err(|source| {
        match source.kind() {
            ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
                if let Some(problem) = super::file::explain(db) {
                    return super::file::error(db, problem);
                }
            }
            _ => {}
        }
        StoreError::Io {
            context: format!("cannot open the lock file `{}`", lock.display()),
            source,
        }
    })
}

/// Opens (creating if needed) and exclusively locks `lock`, the lock file of `db`.
fn acquire(db: &Path, lock: &Path, mode: u32) -> Result<File, StoreError> {
    let file = open(db, lock, mode)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::Locked {
            path: db.to_path_buf(),
            lock: lock.to_path_buf(),
        }),
        Err(TryLockError::Error(source)) => Err(StoreError::Io {
            context: format!("cannot lock `{}`", lock.display()),
            source,
        }),
    }
}

impl Inner {
    fn worker_lock(&self) -> std::sync::MutexGuard<'_, WorkerLock> {
        // Every update below is a single assignment or set operation after the fallible work,
        // so a panic elsewhere while the guard was held cannot leave it half-updated.
        self.worker.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the lock (unless this store holds it already) and then drops every lease left in
    /// the database by dead processes. Blocking.
    pub(super) fn register_worker(&self, owner: &WorkerId) -> Result<(), StoreError> {
        let mut state = self.worker_lock();
        if state.file.is_some() {
            // Another engine of this process shares the store: its leases are live.
            state.owners.insert(owner.0.clone());
            return Ok(());
        }
        let file = acquire(&self.path, &self.lock_path, self.file_mode)?;
        // On failure `file` is dropped here, which releases the lock: nothing changed.
        self.write_blocking(lease::release_all)?;
        state.file = Some(file);
        state.owners.insert(owner.0.clone());
        Ok(())
    }

    /// Drops `owner`'s leases, and the lock once no registered owner is left. Blocking.
    pub(super) fn unregister_worker(&self, ns: &str, owner: &WorkerId) -> Result<(), StoreError> {
        let mut state = self.worker_lock();
        let owner_ = owner.clone();
        self.write_blocking(move |conn| lease::release_owner(conn, ns, &owner_))?;
        state.owners.remove(&owner.0);
        if state.owners.is_empty() {
            state.file = None;
        }
        Ok(())
    }
}
