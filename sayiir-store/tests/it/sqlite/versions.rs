//! Workflow versions on SQLite: upgrading a database of schema 3, and the claim's query plan.

use sayiir_store::conformance::after_upgrade_from_unversioned;
use sayiir_store::{SqliteStore, Store};
use tempfile::TempDir;

use super::{db, id, key, raw};

#[tokio::test]
async fn a_version_3_database_is_upgraded_in_place() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    {
        // A database as written by a build that knew versions 1 to 3: a running instance with
        // a lease and a finished one.
        let conn = raw(&path);
        for sql in [
            include_str!("../../../migrations/sqlite/0001_init.sql"),
            include_str!("../../../migrations/sqlite/0002_signals.sql"),
            include_str!("../../../migrations/sqlite/0003_due_index.sql"),
        ] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute(
            "INSERT INTO sayiir_instances (id, workflow, definition_hash, seq, status, state, \
             due_at, lease_owner, lease_until, created_at, updated_at) \
             VALUES ('old', 'wf', ?1, 0, 0, x'01', 100, 'gone', 150, 100, 100)",
            [[1u8; 32].as_slice()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO sayiir_instances (id, workflow, definition_hash, seq, status, output, \
             created_at, updated_at) VALUES ('done', 'wf', ?1, 1, 1, x'03', 100, 110)",
            [[1u8; 32].as_slice()],
        )
        .unwrap();
        conn.execute_batch(
            "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) VALUES \
             ('old', 0, 100, 'started', x'02'), ('done', 0, 100, 'started', x'02'), \
             ('done', 1, 110, 'finished', x'03')",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.pragma_update(None, "application_id", 0x5359_5952)
            .unwrap();
    }

    let store = SqliteStore::open(&path).unwrap();
    let version: i64 = raw(&path)
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, super::NEWEST, "the version-3 file was upgraded");
    let def = after_upgrade_from_unversioned(&store).await;
    drop(store);

    // Reopening neither migrates again nor loses anything.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.definitions(None).await.unwrap(), [def]);
    assert_eq!(store.load(&id("done")).await.unwrap().version, 2);
}

/// The claim walks the due index in claim order (no sort, no scan of the workflow index),
/// with the `(workflow, hash, fingerprint)` filter applied to the rows it visits.
#[tokio::test]
async fn the_claim_walks_the_due_index() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let store = SqliteStore::open(&path).unwrap();
    let plan = store
        .claim_plan_for_tests(vec![key(), key()])
        .await
        .unwrap();
    assert!(
        plan.iter()
            .any(|l| l.contains("USING INDEX sayiir_instances_due")),
        "{plan:#?}"
    );
    assert!(
        !plan.iter().any(|l| l.contains("TEMP B-TREE")
            || l.contains("sayiir_instances_workflow")
            || l.starts_with("SCAN sayiir_instances")),
        "{plan:#?}"
    );
}
