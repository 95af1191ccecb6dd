//! Workflow versions on PostgreSQL: upgrading a database of schema 2 in place.

use std::borrow::Cow;

use sayiir_store::pg_harness::fresh_database;
use sayiir_store::{
    ClaimRequest, DefinitionHash, DefinitionRecord, DefinitionRef, Event, Fingerprint, ListQuery,
    PgStore, Restart, Status, Store, Timestamp, WorkflowKey,
};
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migrate, Migration, MigrationType};

use super::{SOON, claim, claim_ids, create, hint, id, key, quiet, raw, step};

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
            (1, include_str!("../../migrations/postgres/0001_init.sql")),
            (
                2,
                include_str!("../../migrations/postgres/0002_fillfactor.sql"),
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
    assert_eq!(applied, [1, 2, 3], "migration 3 applied on top of 1 and 2");
    for i in ["old", "done"] {
        let head = store.load(&id(i)).await.unwrap();
        assert_eq!(
            (head.version, head.fingerprint, head.state_id),
            (1, Fingerprint::UNKNOWN, None),
            "`{i}` after the upgrade"
        );
        assert_eq!(store.load_input(&id(i)).await.unwrap(), None);
    }
    let listed = store
        .list(&ListQuery {
            version: Some(1),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let counts = store.version_counts().await.unwrap();
    assert_eq!(
        counts
            .iter()
            .map(|c| (c.version, c.fingerprint, c.status, c.count))
            .collect::<Vec<_>>(),
        [
            (1, Fingerprint::UNKNOWN, Status::Running, 1),
            (1, Fingerprint::UNKNOWN, Status::Completed, 1)
        ]
    );

    // Stored before fingerprints: a version mismatch for a binary that knows the real one,
    // claimable by a key with the unknown fingerprint.
    let found = store
        .find_version_mismatches(&["wf".to_owned()], &[key()])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, id("old"));
    assert!(
        claim_ids(&store, claim("w", 200, 9000, 10))
            .await
            .is_empty()
    );
    let unknown = WorkflowKey {
        fingerprint: Fingerprint::UNKNOWN,
        ..key()
    };
    let by_unknown = ClaimRequest {
        known: vec![unknown],
        ..claim("w", 200, 9000, 10)
    };
    assert_eq!(claim_ids(&store, by_unknown).await, ["old"]);

    // Migrated in place to the real definition: claimable by it from then on.
    let mut t = step("old", 0, Some(100), 300);
    t.release_lease = true;
    t.redefine = Some(DefinitionRef {
        version: 1,
        hash: DefinitionHash([1; 32]),
        fingerprint: Fingerprint([2; 32]),
    });
    store.commit(t).await.unwrap();
    let head = store.load(&id("old")).await.unwrap();
    assert_eq!(
        (head.fingerprint, head.state_id.as_deref()),
        (Fingerprint([2; 32]), Some("step#1"))
    );
    assert_eq!(claim_ids(&store, claim("w", 300, 9000, 10)).await, ["old"]);

    // The finished one restarts, and the definitions table exists.
    store.restart(restart("done", 1, Some(400))).await.unwrap();
    assert_eq!(
        store.load_input(&id("done")).await.unwrap(),
        Some(b"in".to_vec())
    );
    let history = store.history(&id("done"), None, 0).await.unwrap();
    assert_eq!(history.iter().map(|h| h.seq).collect::<Vec<_>>(), [0, 1, 2]);
    let def = DefinitionRecord {
        workflow: "wf".into(),
        version: 2,
        hash: DefinitionHash([3; 32]),
        fingerprint: Fingerprint([4; 32]),
        shape: b"shape".to_vec(),
        created_at: Timestamp(400),
    };
    store.save_definitions(vec![def.clone()]).await.unwrap();
    drop(store);

    // Connecting again migrates nothing and loses nothing.
    let store = PgStore::connect(db.url()).await.unwrap();
    assert_eq!(store.definitions(None).await.unwrap(), [def]);
    assert_eq!(store.load(&id("done")).await.unwrap().version, 2);
}
