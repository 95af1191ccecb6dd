//! Workflow versions on SQLite: upgrading a database of schema 3, and the claim's query plan.

use sayiir_store::{
    ClaimRequest, DefinitionHash, DefinitionRecord, DefinitionRef, Event, Fingerprint, ListQuery,
    Restart, SqliteStore, Status, Store, Timestamp, WorkflowKey,
};
use tempfile::TempDir;

use super::{claim, db, id, key, raw, step};

#[tokio::test]
async fn a_version_3_database_is_upgraded_in_place() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    {
        // A database as written by a build that knew versions 1 to 3: a running instance with
        // a lease and a finished one.
        let conn = raw(&path);
        for sql in [
            include_str!("../../migrations/sqlite/0001_init.sql"),
            include_str!("../../migrations/sqlite/0002_signals.sql"),
            include_str!("../../migrations/sqlite/0003_due_index.sql"),
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
    assert_eq!(version, 4, "the version-3 file was upgraded");
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
    let unknown = WorkflowKey {
        fingerprint: Fingerprint::UNKNOWN,
        ..key()
    };
    assert!(store.claim(claim("w", 200)).await.unwrap().is_empty());
    let claimed = store
        .claim(ClaimRequest {
            known: vec![unknown],
            ..claim("w", 200)
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    // Migrated in place to the real definition: claimable by it from then on.
    let mut t = step("old", 0, b"s1".to_vec());
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
    assert_eq!(store.claim(claim("w", 300)).await.unwrap().len(), 1);

    // The finished one restarts, and the definitions table exists.
    store
        .restart(Restart {
            id: id("done"),
            expected_seq: 1,
            definition: DefinitionRef {
                version: 2,
                hash: DefinitionHash([3; 32]),
                fingerprint: Fingerprint([4; 32]),
            },
            input: b"in".to_vec(),
            state: b"st".to_vec(),
            state_id: "start".into(),
            due_at: Some(Timestamp(400)),
            event: Event {
                kind: "restarted".into(),
                payload: Vec::new(),
            },
            now: Timestamp(400),
        })
        .await
        .unwrap();
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
