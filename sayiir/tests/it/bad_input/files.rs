//! The database file deleted or replaced under a running worker (issue 13, item 13b): every
//! operation fails with a typed error naming the file, starts report failure instead of `Ok`,
//! and the worker stops with that error.

use std::time::Duration;

use sayiir::store::{FileProblem, InstanceId, ListQuery, Store, StoreError};
use sayiir::{Engine, EngineError, SqliteStore, WorkerConfig};

use super::{common, twice};

/// Checks that `r` failed with [`StoreError::File`] about `db` and `problem`.
fn is_file_error<T: std::fmt::Debug>(
    r: Result<T, EngineError>,
    db: &std::path::Path,
    problem: &FileProblem,
    what: &str,
) {
    match r {
        Err(EngineError::Store(StoreError::File { path, problem: p })) => {
            assert_eq!((path.as_path(), &p), (db, problem), "{what}");
        }
        other => panic!("{what}: expected File {{ {problem:?} }}, got {other:?}"),
    }
}

async fn swap_under_a_running_worker(replace: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("swapped.db");
    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .register::<twice>()
        .worker_config(WorkerConfig::default().idle_poll(Duration::from_millis(100)))
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    assert_eq!(common::run_to_end::<twice>(&engine, "before", 1).await, 4);
    let problem = if replace {
        let other = dir.path().join("other.db");
        drop(SqliteStore::open(&other).unwrap());
        std::fs::rename(&other, &db).unwrap();
        FileProblem::Replaced
    } else {
        std::fs::remove_file(&db).unwrap();
        FileProblem::Deleted
    };

    for i in 0..10 {
        let started = engine.start::<twice>(&format!("after-{i}"), i).await;
        is_file_error(started, &db, &problem, "a start");
    }
    let before = InstanceId::new("before").unwrap();
    let read = engine
        .store()
        .load(&before)
        .await
        .map_err(EngineError::from);
    is_file_error(read, &db, &problem, "a read");
    let write = engine.store().set_blocked(&before, None).await;
    is_file_error(write.map_err(EngineError::from), &db, &problem, "a write");
    let stopped = common::within("the worker to stop", worker.join()).await;
    is_file_error(stopped, &db, &problem, "the worker");
    let err = engine.status("before").await.unwrap_err().to_string();
    assert!(err.contains(&*db.to_string_lossy()), "{err}");
    drop(engine);

    // Nothing reported done is missing from the file now at the path: nothing was.
    if db.exists() {
        let listed = SqliteStore::open(&db)
            .unwrap()
            .list(&ListQuery::default())
            .await
            .unwrap();
        assert!(
            listed
                .instances
                .iter()
                .all(|s| !s.id.as_str().starts_with("after-")),
            "{listed:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_file_deleted_under_a_running_worker_stops_it() {
    swap_under_a_running_worker(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_file_replaced_under_a_running_worker_stops_it() {
    swap_under_a_running_worker(true).await;
}
