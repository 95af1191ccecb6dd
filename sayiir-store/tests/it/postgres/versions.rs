//! Workflow versions on PostgreSQL: upgrading a database of schema 2 in place.

use std::borrow::Cow;

use sayiir_store::conformance::after_upgrade_from_unversioned;
use sayiir_store::pg_harness::fresh_database;
use sayiir_store::{
    DefinitionHash, DefinitionRef, Event, Fingerprint, PgStore, Restart, Store, Timestamp,
};
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migrate, Migration, MigrationType};

use super::{SOON, create, hint, id, quiet, raw};

fn restart(i: &str, expected_seq: u64, due: Option<i64>) -> Restart {
    Restart {
        id: id(i),
        expected_seq,
        definition: DefinitionRef {
            version: 2,
            hash: DefinitionHash([3; 32]),
            fingerprint: Fingerprint([4; 32]),
        },
        input: b"in".to_vec(),
        state: b"st".to_vec(),
        state_id: "start".into(),
        due_at: due.map(Timestamp),
        event: Event {
            kind: "restarted".into(),
            payload: Vec::new(),
        },
        now: Timestamp(400),
        trace_context: None,
    }
}

/// A restart that leaves the instance due wakes idle workers (of any process), as a creation
/// does; one without a due time does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_wakes_idle_workers_when_due() {
    let Some(db) = fresh_database("pg restart wakeups").await else {
        return;
    };
    let worker = PgStore::connect(db.url()).await.unwrap();
    let client = PgStore::connect(db.url()).await.unwrap();
    create(&client, "a", None).await;
    create(&client, "b", None).await;
    let mut rx = worker.wakeups().expect("PgStore has wake-ups");
    hint(&mut rx, "listening", SOON).await;
    client.restart(restart("a", 0, None)).await.unwrap();
    quiet(&mut rx, "restart without a due time").await;
    client.restart(restart("b", 0, Some(400))).await.unwrap();
    hint(&mut rx, "restart with a due time", SOON).await;
    let refused = client.restart(restart("b", 0, Some(400))).await;
    assert!(refused.is_err(), "{refused:?}");
    quiet(&mut rx, "refused restart").await;
}

#[tokio::test]
async fn a_version_2_database_is_upgraded_in_place() {
    let Some(db) = fresh_database("pg upgrade from 2").await else {
        return;
    };
    {
        // A database as migrated by a build that knew migrations 1 and 2 (same table, same
        // checksums), with a running instance holding a lease and a finished one.
        let mut conn = raw(&db).await;
        conn.ensure_migrations_table("sayiir_migrations")
            .await
            .unwrap();
        let old = [
            (
                1,
                include_str!("../../../migrations/postgres/0001_init.sql"),
            ),
            (
                2,
                include_str!("../../../migrations/postgres/0002_fillfactor.sql"),
            ),
        ];
        for (version, sql) in old {
            let m = Migration::new(
                version,
                Cow::Borrowed("old"),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            );
            conn.apply("sayiir_migrations", &m).await.unwrap();
        }
        sqlx::query(
            "INSERT INTO sayiir_instances (id, workflow, definition_hash, seq, status, state, \
             output, due_at, lease_owner, lease_until, created_at, updated_at) VALUES \
             ('old', 'wf', $1, 0, 0, '\\x01', NULL, 100, 'gone', 150, 100, 100), \
             ('done', 'wf', $1, 1, 1, NULL, '\\x03', NULL, NULL, NULL, 100, 110)",
        )
        .bind([1u8; 32].as_slice())
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) VALUES \
             ('old', 0, 100, 'started', '\\x02'), ('done', 0, 100, 'started', '\\x02'), \
             ('done', 1, 110, 'finished', '\\x03')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    }

    let store = PgStore::connect(db.url()).await.unwrap();
    let mut conn = raw(&db).await;
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM sayiir_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        applied,
        PgStore::schema_versions(),
        "the later migrations applied on top of 1 and 2"
    );
    let def = after_upgrade_from_unversioned(&store).await;
    drop(store);

    // Connecting again migrates nothing and loses nothing.
    let store = PgStore::connect(db.url()).await.unwrap();
    assert_eq!(store.definitions(None).await.unwrap(), [def]);
    assert_eq!(store.load(&id("done")).await.unwrap().version, 2);
}
