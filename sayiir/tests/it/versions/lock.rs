//! The workflows lock file: created on first use, up to date while nothing changes, and a
//! readable failure when a definition changes without a version bump, appears or disappears;
//! the update mode accepts the change.

use sayiir::{Engine, LockError, LockMode, LockOutcome, MemoryStore, Migration};

use super::fingerprints::{added, base};
use super::flows::{v1, v2};

fn engine_with<F: FnOnce(sayiir::EngineBuilder) -> sayiir::EngineBuilder>(f: F) -> Engine {
    f(Engine::builder(MemoryStore::new())).build().unwrap()
}

#[test]
fn the_lock_file_catches_a_change_without_a_version_bump() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("workflows.lock");
    let before = engine_with(|b| b.register::<base::keep>().register::<v1::checkout>());
    // Under CI a missing file is an error; otherwise it is written.
    assert!(matches!(
        before.check_lock_with(&lock, LockMode::Strict),
        Err(LockError::Missing { .. })
    ));
    assert_eq!(
        before.check_lock_with(&lock, LockMode::Check).unwrap(),
        LockOutcome::Created
    );
    assert_eq!(
        before.check_lock_with(&lock, LockMode::Strict).unwrap(),
        LockOutcome::UpToDate
    );
    let text = std::fs::read_to_string(&lock).unwrap();
    for needle in [
        "\"name\": \"keep\"",
        "\"id\": \"signal:go#1\"",
        "\"fingerprint\"",
        "\"hash\"",
    ] {
        assert!(
            text.contains(needle),
            "{needle} not in the lock file:\n{text}"
        );
    }

    // `keep` version 1 now stores an `Order` with one more field: same name, same version.
    let after = engine_with(|b| b.register::<added::keep>().register::<v1::checkout>());
    let e = after.check_lock_with(&lock, LockMode::Check).unwrap_err();
    let msg = e.to_string();
    for needle in [
        "workflow `keep` version 1 changed without a version bump:",
        "state `signal:go#1`: field `order`: `Order`: field `note: String` added",
        "bump `#[workflow(version = 2)]`",
        "SAYIIR_UPDATE_LOCK=1 cargo test",
    ] {
        assert!(msg.contains(needle), "{needle:?} not in:\n{msg}");
    }
    assert!(
        !msg.contains("checkout"),
        "an unchanged workflow is not reported:\n{msg}"
    );
    // The file is left as it was until the change is accepted.
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), text);
    match after.check_lock_with(&lock, LockMode::Update).unwrap() {
        LockOutcome::Updated(lines) => assert_eq!(lines.len(), 1, "{lines:?}"),
        o => panic!("{o:?}"),
    }
    assert_eq!(
        after.check_lock_with(&lock, LockMode::Strict).unwrap(),
        LockOutcome::UpToDate
    );
}

#[test]
fn new_and_removed_versions_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("workflows.lock");
    let one = engine_with(|b| b.register::<v1::checkout>());
    one.check_lock_with(&lock, LockMode::Check).unwrap();
    // Version 2 takes version 1 over: both are compiled in, the lock must list both.
    let two = engine_with(|b| b.migrate(Migration::<v1::checkout, v2::checkout>::new()));
    assert_eq!(two.definitions().len(), 2);
    let msg = two
        .check_lock_with(&lock, LockMode::Check)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("workflow `checkout` version 2 is not in the lock file (new)"),
        "{msg}"
    );
    two.check_lock_with(&lock, LockMode::Update).unwrap();
    // Version 1 dropped altogether: its instances would be stranded.
    let only_two = engine_with(|b| b.register::<v2::checkout>());
    let msg = only_two
        .check_lock_with(&lock, LockMode::Check)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("workflow `checkout` version 1 is in the lock file but no longer registered"),
        "{msg}"
    );
}

#[test]
#[should_panic(expected = "changed without a version bump")]
fn assert_lock_panics_with_the_diff() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("workflows.lock");
    engine_with(|b| b.register::<base::keep>())
        .check_lock_with(&lock, LockMode::Check)
        .unwrap();
    if std::env::var("SAYIIR_UPDATE_LOCK").is_ok() {
        panic!("changed without a version bump (the update mode is on in this environment)");
    }
    sayiir::testing::assert_lock(&engine_with(|b| b.register::<added::keep>()), &lock);
}
