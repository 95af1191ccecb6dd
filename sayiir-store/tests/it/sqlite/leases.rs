//! Lease generations on SQLite: upgrading a database of schema 4 in place.

use sayiir_store::conformance::after_upgrade_to_lease_generations;
use sayiir_store::{SqliteStore, Store};
use tempfile::TempDir;

use super::{db, id, raw};

#[tokio::test]
async fn a_version_4_database_is_upgraded_in_place() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    {
        // A database as written by a build that knew versions 1 to 4: an instance leased by a
        // worker of that build, and a free one.
        let conn = raw(&path);
        for sql in [
            include_str!("../../../migrations/sqlite/0001_init.sql"),
            include_str!("../../../migrations/sqlite/0002_signals.sql"),
            include_str!("../../../migrations/sqlite/0003_due_index.sql"),
            include_str!("../../../migrations/sqlite/0004_versions.sql"),
        ] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute(
            "INSERT INTO sayiir_instances (id, workflow, definition_hash, seq, status, state, \
             due_at, lease_owner, lease_until, created_at, updated_at, version, fingerprint, \
             state_id) VALUES \
             ('held', 'wf', ?1, 0, 0, x'01', 100, 'gone', 150, 100, 100, 1, ?2, 'start'), \
             ('free', 'wf', ?1, 0, 0, x'01', 100, NULL, NULL, 100, 100, 1, ?2, 'start')",
            [[1u8; 32].as_slice(), [2u8; 32].as_slice()],
        )
        .unwrap();
        conn.execute_batch(
            "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) VALUES \
             ('held', 0, 100, 'started', x'02'), ('free', 0, 100, 'started', x'02')",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 4).unwrap();
        conn.pragma_update(None, "application_id", 0x5359_5952)
            .unwrap();
    }

    let store = SqliteStore::open(&path).unwrap();
    let version: i64 = raw(&path)
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, super::NEWEST, "the version-4 file was upgraded");
    after_upgrade_to_lease_generations(&store).await;
    drop(store);

    // Reopening migrates nothing and keeps the generations counting.
    let store = SqliteStore::open(&path).unwrap();
    let generation: i64 = raw(&path)
        .query_row(
            "SELECT lease_generation FROM sayiir_instances WHERE id = 'held'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(generation, 2);
    assert_eq!(store.load(&id("held")).await.unwrap().seq, 1);
}
