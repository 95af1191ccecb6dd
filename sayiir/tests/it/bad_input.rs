//! Bad input gets a typed error and loses nothing: corrupt and truncated state blobs, corrupt
//! outputs, databases from a newer schema, files that are not databases, bad ids.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod files;
mod rows;

use crate::common;

use std::path::Path;

use sayiir::store::{BlockKind, InstanceId, Store, StoreError};
use sayiir::{Engine, EngineError, InstanceStatus, SqliteStore};

#[sayiir::task]
async fn double(n: u64) -> u64 {
    n * 2
}

#[sayiir::workflow]
async fn twice(n: u64) -> u64 {
    let a = double(n).await;
    double(a).await
}

fn raw(db: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(db).unwrap()
}

fn blob(db: &Path, column: &str, id: &str) -> Vec<u8> {
    raw(db)
        .query_row(
            &format!("SELECT {column} FROM sayiir_instances WHERE id = ?1"),
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

fn set_blob(db: &Path, column: &str, id: &str, value: &[u8]) {
    raw(db)
        .execute(
            &format!("UPDATE sayiir_instances SET {column} = ?1 WHERE id = ?2"),
            rusqlite::params![value, id],
        )
        .unwrap();
}

/// Starts `id` without running it, then damages its state with `damage`.
async fn damaged_instance(db: &Path, id: &str, damage: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let engine = Engine::builder(SqliteStore::open(db).unwrap())
        .register::<twice>()
        .build()
        .unwrap();
    engine.start::<twice>(id, 5).await.unwrap();
    drop(engine);
    let mut state = blob(db, "state", id);
    damage(&mut state);
    set_blob(db, "state", id, &state);
    state
}

async fn assert_blocked_and_untouched(db: &Path, id: &str, damaged: &[u8]) {
    let engine = Engine::builder(SqliteStore::open(db).unwrap())
        .register::<twice>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    let healthy = engine.start::<twice>("healthy", 1).await.unwrap();
    assert_eq!(
        healthy.result().await.unwrap(),
        4,
        "other instances keep running"
    );
    let err = match engine.result::<twice>(id).await {
        Err(e @ EngineError::Blocked { .. }) => e,
        other => panic!("expected a blocked instance, got {other:?}"),
    };
    let EngineError::Blocked { kind, reason, .. } = &err else {
        unreachable!()
    };
    assert_eq!(*kind, BlockKind::CorruptState);
    assert!(reason.contains("does not decode"), "{reason}");
    assert!(matches!(
        engine.status(id).await.unwrap().status,
        InstanceStatus::Blocked { .. }
    ));
    worker.shutdown().await.unwrap();
    assert_eq!(
        blob(db, "state", id),
        damaged,
        "the damaged state is left as it was"
    );
    let store = SqliteStore::open(db).unwrap();
    let record = store.load(&InstanceId::new(id).unwrap()).await.unwrap();
    assert_eq!(record.seq, 0, "no transition was committed");
    assert_eq!(
        store.history(&record.id, None, None).await.unwrap().len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_state_blob_blocks_the_instance_and_keeps_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("corrupt.db");
    let damaged = damaged_instance(&db, "flipped", |s| {
        let last = s.len() - 1;
        s[last] ^= 0x40;
    })
    .await;
    assert_blocked_and_untouched(&db, "flipped", &damaged).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_state_blob_blocks_the_instance_and_keeps_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("truncated.db");
    let damaged = damaged_instance(&db, "cut", |s| s.truncate(s.len() / 2)).await;
    assert_blocked_and_untouched(&db, "cut", &damaged).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_output_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("output.db");
    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .register::<twice>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    assert_eq!(common::run_to_end::<twice>(&engine, "done", 3).await, 12);
    worker.shutdown().await.unwrap();
    set_blob(&db, "output", "done", &[1, 0, 0]);
    match engine.result::<twice>("done").await {
        Err(EngineError::Corrupt {
            what: "output", id, ..
        }) => assert_eq!(id.as_str(), "done"),
        r => panic!("expected Corrupt, got {r:?}"),
    }
}

#[test]
fn a_database_from_a_newer_schema_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("newer.db");
    drop(SqliteStore::open(&db).unwrap());
    raw(&db).execute_batch("PRAGMA user_version = 999").unwrap();
    let before = std::fs::read(&db).unwrap();
    match SqliteStore::open(&db) {
        Err(e @ StoreError::SchemaTooNew { found: 999, .. }) => {
            assert!(e.to_string().contains("upgrade sayiir"), "{e}")
        }
        r => panic!("expected SchemaTooNew, got {r:?}"),
    }
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "these are my notes, not a database\n".repeat(100)).unwrap();
    match SqliteStore::open(&path) {
        Err(e @ StoreError::NotADatabase { .. }) => {
            assert!(e.to_string().contains("notes.txt"), "{e}")
        }
        r => panic!("expected NotADatabase, got {r:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "these are my notes, not a database\n".repeat(100)
    );
}
