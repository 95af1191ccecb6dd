//! The database file itself: what can be wrong with its path (checked at open, and explained
//! when SQLite refuses to open or write it), its permissions, and its identity, which every
//! operation checks so that a file deleted or replaced under the store is noticed.

use std::fs::OpenOptions;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};

use crate::{FileProblem, StoreError};

/// The problem `problem` with the database at `path`.
pub(super) fn error(path: &Path, problem: FileProblem) -> StoreError {
    StoreError::File {
        path: path.to_path_buf(),
        problem,
    }
}

/// The directory holding `path` (`.` for a bare file name).
fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Checks what can be checked before opening: the directory exists and is one, and the path
/// is not a directory.
pub(super) fn check_path(path: &Path) -> Result<(), StoreError> {
    let dir = dir_of(path);
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(error(path, FileProblem::NotADirectory { parent: dir })),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(error(path, FileProblem::MissingDirectory { dir }));
        }
        Err(e) if e.kind() == ErrorKind::NotADirectory => {
            // A component further up is a file.
            return Err(error(path, FileProblem::NotADirectory { parent: dir }));
        }
        Err(source) => return Err(io(path, source)),
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(error(path, FileProblem::IsADirectory)),
        _ => Ok(()),
    }
}

fn io(path: &Path, source: io::Error) -> StoreError {
    StoreError::Io {
        context: format!("cannot open the database `{}`", path.display()),
        source,
    }
}

/// Creates `path` empty with permissions `mode` (Unix) unless it exists, so that SQLite, which
/// gives its `-wal` and `-shm` files the database's permissions, creates them with `mode` too.
/// An empty file is an empty SQLite database.
pub(super) fn create(path: &Path, mode: u32) -> Result<(), StoreError> {
    match open_new(path, mode) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(explain(path).map_or_else(|| io(path, e), |p| error(path, p))),
    }
}

fn open_new(path: &Path, mode: u32) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    set_mode(&mut options, mode);
    options.open(path).map(drop)
}

/// Opens (creating if needed) a side file of the database with permissions `mode` (Unix).
pub(super) fn open_side(path: &Path, mode: u32) -> io::Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    set_mode(&mut options, mode);
    options.open(path)
}

#[cfg(unix)]
fn set_mode(options: &mut OpenOptions, mode: u32) {
    use std::os::unix::fs::OpenOptionsExt;
    options.mode(mode);
}

#[cfg(not(unix))]
fn set_mode(_: &mut OpenOptions, _: u32) {}

/// Why the database at `path` cannot be opened or written, when it is a matter of the file:
/// the path is a directory, a directory is missing, the file or its directory is read-only
/// for this process, or the file system is read-only. `None` when none of these holds. Tries
/// the writes it asks about (opening the file for writing, creating and removing a probe file
/// beside it), so it is only used on the way to an error.
pub(super) fn explain(path: &Path) -> Option<FileProblem> {
    if let Err(StoreError::File { problem, .. }) = check_path(path) {
        return Some(problem);
    }
    if let Err(e) = OpenOptions::new().write(true).open(path) {
        match e.kind() {
            ErrorKind::ReadOnlyFilesystem => return Some(FileProblem::ReadOnlyFileSystem),
            ErrorKind::PermissionDenied => return Some(FileProblem::ReadOnlyFile),
            // Not there (yet): whether it can be created is the directory's business.
            ErrorKind::NotFound => {}
            _ => return None,
        }
    }
    let dir = dir_of(path);
    let name = path
        .file_name()
        .map_or_else(|| "database".into(), |n| n.to_string_lossy().into_owned());
    let probe = dir.join(format!(".{name}.sayiir-probe-{}", std::process::id()));
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            // Best effort: a leftover probe file is harmless.
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) => match e.kind() {
            ErrorKind::ReadOnlyFilesystem => Some(FileProblem::ReadOnlyFileSystem),
            ErrorKind::PermissionDenied => Some(FileProblem::ReadOnlyDirectory { dir }),
            _ => None,
        },
    }
}

/// What identifies the file at a path: device and inode on Unix (elsewhere, where an open file
/// cannot be deleted or replaced, only its existence is checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileId(#[cfg(unix)] (u64, u64));

/// The identity of the file at `path`.
pub(super) fn identity(path: &Path) -> io::Result<FileId> {
    let meta = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Ok(FileId((meta.dev(), meta.ino())))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(FileId())
    }
}

/// Checks that the file at `canonical` (the database at `path`, as given) is still `opened`,
/// the one the store opened: [`FileProblem::Deleted`] when no file is there any more,
/// [`FileProblem::Replaced`] when another one is.
pub(super) fn check_identity(
    path: &Path,
    canonical: &Path,
    opened: FileId,
) -> Result<(), StoreError> {
    match identity(canonical) {
        Ok(id) if id == opened => Ok(()),
        Ok(_) => Err(error(path, FileProblem::Replaced)),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(error(path, FileProblem::Deleted)),
        // Cannot tell (e.g. a permission changed on a directory on the way): SQLite reports
        // what it meets.
        Err(_) => Ok(()),
    }
}
