//! The instance counts on SQLite: a database of schema 15, whose counts triggers kept, keeps
//! its counts through migration 0016 (which drops the triggers), and the store's own writes
//! keep them from then on.

use sayiir_store::{SqliteStore, Status, Store};
use tempfile::TempDir;

use super::{NEWEST, create, db, id, raw, step};

#[tokio::test]
async fn a_version_15_database_keeps_its_counts_without_the_triggers() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    {
        // A database as a build that knew versions 1 to 15 wrote it: two running instances
        // and a finished one, counted by the triggers of 0015.
        let conn = raw(&path);
        for sql in [
            include_str!("../../../migrations/sqlite/0001_init.sql"),
            include_str!("../../../migrations/sqlite/0002_signals.sql"),
            include_str!("../../../migrations/sqlite/0003_due_index.sql"),
            include_str!("../../../migrations/sqlite/0004_versions.sql"),
            include_str!("../../../migrations/sqlite/0005_lease_generation.sql"),
            include_str!("../../../migrations/sqlite/0006_workers.sql"),
            include_str!("../../../migrations/sqlite/0007_admin.sql"),
            include_str!("../../../migrations/sqlite/0008_trace_context.sql"),
            include_str!("../../../migrations/sqlite/0009_limits.sql"),
            include_str!("../../../migrations/sqlite/0010_schedules.sql"),
            include_str!("../../../migrations/sqlite/0011_priority.sql"),
            include_str!("../../../migrations/sqlite/0012_gates.sql"),
            include_str!("../../../migrations/sqlite/0013_namespaces.sql"),
            include_str!("../../../migrations/sqlite/0014_audit.sql"),
            include_str!("../../../migrations/sqlite/0015_counts.sql"),
        ] {
            conn.execute_batch(sql).unwrap();
        }
        for (i, status) in [("r1", 0), ("r2", 0), ("done", 1)] {
            conn.execute(
                "INSERT INTO sayiir_instances (id, workflow, definition_hash, seq, status, \
                 created_at, updated_at, version, fingerprint) \
                 VALUES (?1, 'wf', ?2, 0, ?3, 100, 100, 2, ?4)",
                rusqlite::params![i, [1u8; 32].as_slice(), status, [0xf0u8; 32].as_slice()],
            )
            .unwrap();
        }
        conn.pragma_update(None, "user_version", 15).unwrap();
        conn.pragma_update(None, "application_id", 0x5359_5952)
            .unwrap();
    }

    let store = SqliteStore::open(&path).unwrap();
    let conn = raw(&path);
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, NEWEST, "the version-15 file was upgraded");
    let triggers: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(triggers, 0, "0016 drops the counts triggers");
    let by_status = |counts: &[sayiir_store::VersionCount]| {
        let of = |s: Status| {
            counts
                .iter()
                .filter(|c| c.status == s)
                .map(|c| c.count)
                .sum::<u64>()
        };
        (of(Status::Running), of(Status::Completed))
    };
    let counts = store.version_counts().await.unwrap();
    assert_eq!(
        by_status(&counts),
        (2, 1),
        "the triggers' counts: {counts:?}"
    );

    // The store's writes count from there: a create, and a finish of an old instance.
    create(&store, "new").await;
    let finish = sayiir_store::Transition::new(
        id("r1"),
        0,
        sayiir_store::Next::Finished {
            status: Status::Completed,
            output: vec![1],
        },
        sayiir_store::Event {
            kind: "finished".into(),
            payload: vec![],
        },
        sayiir_store::Timestamp(200),
    );
    let results = store
        .commit_batch(vec![finish, step("r2", 0, vec![2])])
        .await;
    assert!(results.unwrap().iter().all(Result::is_ok));
    let counts = store.version_counts().await.unwrap();
    assert_eq!(
        by_status(&counts),
        (2, 2),
        "after a create and a finish: {counts:?}"
    );
}
