//! The database file and its side files: permissions, paths that cannot hold a database,
//! read-only files and directories (issue 13, item 13).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use sayiir_store::{FileProblem, SqliteOptions, SqliteStore, Store, StoreError, WorkerId};
use tempfile::TempDir;

use super::{create, db, step};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn side(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn assert_modes(path: &Path, expected: u32, when: &str) {
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let file = side(path, suffix);
        assert_eq!(
            mode(&file),
            expected,
            "{} {when}: {:o}",
            file.display(),
            mode(&file)
        );
    }
}

#[tokio::test]
async fn the_database_and_its_side_files_are_private() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let store = SqliteStore::open(&path).unwrap();
    assert_modes(&path, 0o600, "after open");
    store.register_worker(&WorkerId("w".into())).await.unwrap();
    create(&store, "a").await;
    store.commit(step("a", 0, b"one".to_vec())).await.unwrap();
    assert_modes(&path, 0o600, "after writes");
    drop(store);

    // Another mode when asked; a file that exists keeps its own.
    let path = dir.path().join("shared.db");
    let options = SqliteOptions::default().file_mode(0o640);
    let store = SqliteStore::open_with(&path, options).unwrap();
    create(&store, "a").await;
    assert_modes(&path, 0o640, "with file_mode 0o640");
    drop(store);
    set_mode(&path, 0o644);
    let store = SqliteStore::open(&path).unwrap();
    create(&store, "b").await;
    assert_eq!(mode(&path), 0o644, "an existing file keeps its mode");
}

/// The environment variable that tells a test run again as `nobody` which directory to work
/// in.
const AS_NOBODY: &str = "SAYIIR_TEST_AS_NOBODY";

fn is_root() -> bool {
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

/// Runs the test `name` of this binary again as the `nobody` user with [`AS_NOBODY`] set to
/// `dir`, and checks that it ran (not filtered out) and passed. Root may write any file, so
/// this is how a root test run meets a file it may not write.
fn rerun_as_nobody(name: &str, dir: &Path) {
    // A copy `nobody` can reach: the build directory may sit below a directory only root may
    // enter (a clone in a `mktemp -d` directory, mode 0700).
    let bin = TempDir::new().unwrap();
    set_mode(bin.path(), 0o755);
    let exe = bin.path().join("sqlite-tests");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    set_mode(&exe, 0o755);
    let out = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(&exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(AS_NOBODY, dir)
        .output()
        .unwrap_or_else(|e| panic!("running as `nobody` needs `runuser` (util-linux): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("--- as nobody ---\n{stdout}{stderr}");
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the check as `nobody` failed"
    );
}

fn chown_nobody(path: &Path) {
    std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
}

/// Opens the database in `dir` (which this process may not write, as `problem` says) and
/// checks the error names the file and the problem, and that the file is left as it was.
fn open_is_refused(dir: &Path, problem: FileProblem) {
    let path = dir.join("sayiir.db");
    let before = std::fs::read(&path).unwrap();
    let result = SqliteStore::open(&path);
    println!("open: {result:?}");
    match result {
        Err(e @ StoreError::File { .. }) => {
            let StoreError::File {
                path: p,
                problem: found,
            } = &e
            else {
                unreachable!()
            };
            assert_eq!((p, found), (&path, &problem));
            assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
        }
        other => panic!("expected File {{ {problem:?} }}, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
}

/// A database this process may read but not write.
#[test]
fn a_read_only_database_file_is_refused_at_open() {
    if let Some(dir) = std::env::var_os(AS_NOBODY) {
        return open_is_refused(Path::new(&dir), FileProblem::ReadOnlyFile);
    }
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    drop(SqliteStore::open(&path).unwrap());
    if is_root() {
        // Owned by root, readable by all; the directory is nobody's (side files can be made).
        set_mode(&path, 0o644);
        chown_nobody(dir.path());
        rerun_as_nobody(
            &crate::test_name!(sqlite::files::a_read_only_database_file_is_refused_at_open),
            dir.path(),
        );
    } else {
        set_mode(&path, 0o444);
        open_is_refused(dir.path(), FileProblem::ReadOnlyFile);
    }
}

/// A database in a directory where this process may not create files (SQLite's `-wal` and
/// `-shm` files, the worker's lock file).
#[test]
fn a_database_in_a_read_only_directory_is_refused_at_open() {
    if let Some(dir) = std::env::var_os(AS_NOBODY) {
        let dir = PathBuf::from(dir);
        return open_is_refused(&dir.clone(), FileProblem::ReadOnlyDirectory { dir });
    }
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    drop(SqliteStore::open(&path).unwrap());
    std::fs::remove_file(side(&path, ".lock")).unwrap();
    if is_root() {
        // The file is nobody's; the directory is root's, readable by all.
        chown_nobody(&path);
        set_mode(dir.path(), 0o755);
        rerun_as_nobody(
            &crate::test_name!(
                sqlite::files::a_database_in_a_read_only_directory_is_refused_at_open
            ),
            dir.path(),
        );
    } else {
        set_mode(dir.path(), 0o555);
        open_is_refused(
            dir.path(),
            FileProblem::ReadOnlyDirectory {
                dir: dir.path().to_path_buf(),
            },
        );
        set_mode(dir.path(), 0o755);
    }
}

#[test]
fn paths_that_cannot_hold_a_database_are_refused() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, "x").unwrap();
    let cases = [
        (dir.path().to_path_buf(), FileProblem::IsADirectory),
        (
            file.join("sayiir.db"),
            FileProblem::NotADirectory {
                parent: file.clone(),
            },
        ),
    ];
    for (path, problem) in cases {
        let result = SqliteStore::open(&path);
        println!("{}: {result:?}", path.display());
        match result {
            Err(e @ StoreError::File { .. }) => {
                let StoreError::File {
                    path: p,
                    problem: found,
                } = &e
                else {
                    unreachable!()
                };
                assert_eq!((p, found), (&path, &problem));
                assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
            }
            other => panic!("{}: expected File, got {other:?}", path.display()),
        }
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}
