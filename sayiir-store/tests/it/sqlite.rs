//! SQLite-specific behaviour, each test on a real file in a temporary directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use sayiir_store::{
    ClaimRequest, Created, DefinitionHash, DefinitionRef, Event, FileProblem, Fingerprint,
    InstanceId, ListQuery, NewInstance, NewSignal, Next, SqliteOptions, SqliteStore, Status, Store,
    StoreError, Synchronous, Timestamp, Transition, WorkerId, WorkflowKey,
};
use tempfile::TempDir;

mod admin;
mod caller;
mod counts;
mod damaged;
mod extra;
#[cfg(unix)]
mod files;
mod leases;
mod priority;
mod versions;

/// The schema version this build migrates to.
const NEWEST: i64 = 16;

fn id(s: &str) -> InstanceId {
    InstanceId::new(s).unwrap()
}

fn key() -> WorkflowKey {
    WorkflowKey {
        workflow: "wf".into(),
        hash: DefinitionHash([1; 32]),
        fingerprint: Fingerprint([2; 32]),
    }
}

fn new_instance(i: &str, due: i64) -> NewInstance {
    let def = DefinitionRef {
        version: 1,
        hash: DefinitionHash([1; 32]),
        fingerprint: Fingerprint([2; 32]),
    };
    let event = Event {
        kind: "started".into(),
        payload: b"input".to_vec(),
    };
    let state = format!("state of {i}").into_bytes();
    NewInstance::new(id(i), "wf", def, "start", state, event, Timestamp(100))
        .input(b"input".to_vec())
        .due_at(Timestamp(due))
}

fn step(i: &str, expected_seq: u64, state: Vec<u8>) -> Transition {
    let event = Event {
        kind: "step".into(),
        payload: expected_seq.to_le_bytes().to_vec(),
    };
    let next = Next::Running {
        state,
        due_at: Some(Timestamp(100)),
        state_id: format!("step#{}", expected_seq + 1),
    };
    let now = Timestamp(200 + i64::try_from(expected_seq).unwrap());
    Transition::new(id(i), expected_seq, next, event, now)
}

fn claim(owner: &str, now: i64) -> ClaimRequest {
    ClaimRequest {
        owner: WorkerId(owner.into()),
        now: Timestamp(now),
        lease_until: Timestamp(now + 60_000),
        limit: 10,
        known: vec![key()],
    }
}

fn db(dir: &TempDir) -> PathBuf {
    dir.path().join("sayiir.db")
}

async fn create(store: &SqliteStore, i: &str) {
    match store.create(new_instance(i, 100)).await.unwrap() {
        Created::New(_) => {}
        Created::Existing(r) => panic!("`{i}` already existed: {r:?}"),
    }
}

fn raw(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn
}

#[tokio::test]
async fn data_survives_close_and_reopen() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.path(), path);
    create(&store, "a").await;
    store.commit(step("a", 0, b"one".to_vec())).await.unwrap();
    store.commit(step("a", 1, b"two".to_vec())).await.unwrap();
    create(&store, "b").await;
    let head = store.load(&id("a")).await.unwrap();
    let history = store.history(&id("a"), None, None).await.unwrap();
    drop(store);

    for _ in 0..2 {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.load(&id("a")).await.unwrap(), head);
        assert_eq!(store.history(&id("a"), None, None).await.unwrap(), history);
        assert_eq!(
            store
                .list(&ListQuery::default())
                .await
                .unwrap()
                .instances
                .len(),
            2
        );
    }
    let conn = raw(&path);
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, NEWEST, "reopening does not migrate again");
}

#[tokio::test]
async fn wal_mode_and_application_id_are_set() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let _store = SqliteStore::open_with(
        &path,
        SqliteOptions::default().synchronous(Synchronous::Normal),
    )
    .unwrap();
    let conn = raw(&path);
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let app: i64 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(app, 0x5359_5952, "application_id is \"SYYR\"");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, NEWEST);
}

#[tokio::test]
async fn schema_newer_than_supported_is_refused_and_the_file_is_unchanged() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    {
        let store = SqliteStore::open(&path).unwrap();
        create(&store, "a").await;
    }
    raw(&path).pragma_update(None, "user_version", 999).unwrap();
    let before = std::fs::read(&path).unwrap();
    match SqliteStore::open(&path) {
        Err(StoreError::SchemaTooNew {
            found: 999,
            supported: NEWEST,
        }) => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
    let err = SqliteStore::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("version 999") && err.contains(&format!("supports up to {NEWEST}")),
        "{err}"
    );
}

#[tokio::test]
async fn a_text_file_is_not_a_database_and_is_left_alone() {
    let dir = TempDir::new().unwrap();
    for (name, text) in [
        ("short.txt", "not a database\n".to_owned()),
        ("long.txt", "these are notes, not a database\n".repeat(200)),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        match SqliteStore::open(&path) {
            Err(StoreError::NotADatabase { path: p, detail }) => {
                assert_eq!(p, path);
                assert!(!detail.is_empty());
            }
            other => panic!("{name}: expected NotADatabase, got {other:?}"),
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "{name} changed"
        );
    }
}

#[tokio::test]
async fn a_database_of_another_application_is_refused_and_left_alone() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("notes.db");
    {
        let conn = raw(&path);
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    match SqliteStore::open(&path) {
        Err(StoreError::ForeignDatabase { path: p }) => assert_eq!(p, path),
        other => panic!("expected ForeignDatabase, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
    let mode: String = raw(&path)
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "the foreign database was switched to WAL");

    // Another application's id without tables is foreign too.
    let path = dir.path().join("other-app.db");
    raw(&path)
        .pragma_update(None, "application_id", 1234)
        .unwrap();
    assert!(matches!(
        SqliteStore::open(&path),
        Err(StoreError::ForeignDatabase { .. })
    ));
}

#[tokio::test]
async fn a_missing_directory_is_a_typed_error() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("no-such-dir");
    let path = missing.join("sayiir.db");
    match SqliteStore::open(&path) {
        Err(
            e @ StoreError::File {
                problem: FileProblem::MissingDirectory { .. },
                ..
            },
        ) => {
            let StoreError::File {
                path: p,
                problem: FileProblem::MissingDirectory { dir: d },
            } = &e
            else {
                unreachable!()
            };
            assert_eq!((p, d), (&path, &missing));
            let msg = e.to_string();
            assert!(
                msg.contains("no-such-dir") && msg.contains("does not exist"),
                "{msg}"
            );
        }
        other => panic!("expected File {{ MissingDirectory }}, got {other:?}"),
    }
    assert!(!missing.exists());
}

#[tokio::test]
async fn a_second_worker_is_locked_out_until_the_first_leaves() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let first = SqliteStore::open(&path).unwrap();
    let second = SqliteStore::open(&path).unwrap();
    let (w1, w2, w3) = (
        WorkerId("w1".into()),
        WorkerId("w2".into()),
        WorkerId("w3".into()),
    );

    first.register_worker(&w1).await.unwrap();
    first.register_worker(&w1).await.unwrap();
    match second.register_worker(&w2).await {
        Err(StoreError::Locked { path: p, lock }) => {
            assert_eq!(p, path);
            assert_eq!(lock.file_name().unwrap(), "sayiir.db.lock");
            assert!(lock.exists());
        }
        other => panic!("expected Locked, got {other:?}"),
    }

    // Unregistering releases the lock.
    first.unregister_worker(&w1).await.unwrap();
    second.register_worker(&w2).await.unwrap();
    assert!(matches!(
        first.register_worker(&w1).await,
        Err(StoreError::Locked { .. })
    ));

    // Dropping the store releases the lock.
    drop(second);
    first.register_worker(&w1).await.unwrap();

    // Two owners on one store: the lock is held until both have unregistered.
    first.register_worker(&w3).await.unwrap();
    let third = SqliteStore::open(&path).unwrap();
    first.unregister_worker(&w1).await.unwrap();
    assert!(matches!(
        third.register_worker(&w2).await,
        Err(StoreError::Locked { .. })
    ));
    first.unregister_worker(&w3).await.unwrap();
    third.register_worker(&w2).await.unwrap();
}

#[tokio::test]
async fn registering_releases_the_leases_of_dead_processes() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    {
        let crashed = SqliteStore::open(&path).unwrap();
        crashed
            .register_worker(&WorkerId("old".into()))
            .await
            .unwrap();
        create(&crashed, "a").await;
        assert_eq!(crashed.claim(claim("old", 100)).await.unwrap().len(), 1);
        // Dropped without unregistering, as by a crash.
    }
    let store = SqliteStore::open(&path).unwrap();
    assert!(
        store.claim(claim("new", 200)).await.unwrap().is_empty(),
        "the lease survives close"
    );
    store
        .register_worker(&WorkerId("new".into()))
        .await
        .unwrap();
    let claimed = store.claim(claim("new", 200)).await.unwrap();
    assert_eq!(
        claimed.len(),
        1,
        "register_worker must release stale leases"
    );
    assert_eq!(claimed[0].record.id, id("a"));
}

#[tokio::test]
async fn disk_full_rolls_back_and_the_store_recovers() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let store = SqliteStore::open(&path).unwrap();
    create(&store, "a").await;
    create(&store, "b").await;
    store.commit(step("a", 0, b"small".to_vec())).await.unwrap();
    let head = store.load(&id("a")).await.unwrap();
    let history = store.history(&id("a"), None, None).await.unwrap();

    let limit = store.set_max_page_count_for_tests(1).await.unwrap();
    assert!(limit >= 1, "max_page_count is {limit}");
    let big = vec![7u8; 256 * 1024];
    match store.commit(step("a", 1, big.clone())).await {
        Err(StoreError::DiskFull) => {}
        other => panic!("expected DiskFull, got {other:?}"),
    }
    match store
        .commit_batch(vec![
            step("b", 0, b"ok".to_vec()),
            step("a", 1, big.clone()),
        ])
        .await
    {
        Err(StoreError::DiskFull) => {}
        other => panic!("expected DiskFull for the whole batch, got {other:?}"),
    }
    match store
        .create({
            let mut new = new_instance("c", 100);
            new.state = big.clone();
            new
        })
        .await
    {
        Err(StoreError::DiskFull) => {}
        other => panic!("expected DiskFull for create, got {other:?}"),
    }
    assert_eq!(
        store.load(&id("a")).await.unwrap(),
        head,
        "a failed commit changed the head"
    );
    assert_eq!(store.history(&id("a"), None, None).await.unwrap(), history);
    assert_eq!(
        store.load(&id("b")).await.unwrap().seq,
        0,
        "the failed batch committed `b`"
    );
    assert!(matches!(
        store.load(&id("c")).await,
        Err(StoreError::NotFound { .. })
    ));

    store.set_max_page_count_for_tests(1 << 30).await.unwrap();
    store.commit(step("a", 1, big.clone())).await.unwrap();
    let results = store
        .commit_batch(vec![step("b", 0, b"ok".to_vec())])
        .await
        .unwrap();
    assert!(results[0].is_ok());
    drop(store);

    let store = SqliteStore::open(&path).unwrap();
    let a = store.load(&id("a")).await.unwrap();
    assert_eq!((a.seq, a.state), (2, Some(big)));
    let seqs: Vec<u64> = store
        .history(&id("a"), None, None)
        .await
        .unwrap()
        .iter()
        .map(|h| h.seq)
        .collect();
    assert_eq!(seqs, [0, 1, 2]);
    assert_eq!(store.load(&id("b")).await.unwrap().seq, 1);
}

#[tokio::test]
async fn reads_do_not_wait_for_a_writer_and_busy_is_unavailable() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let options = SqliteOptions::default().busy_timeout(Duration::from_millis(100));
    let store = SqliteStore::open_with(&path, options).unwrap();
    create(&store, "a").await;

    let other = raw(&path);
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert_eq!(
        store.load(&id("a")).await.unwrap().seq,
        0,
        "a read waited for the writer"
    );
    match store.commit(step("a", 0, b"x".to_vec())).await {
        Err(e @ StoreError::Unavailable { .. }) => assert!(e.is_retryable()),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    other.execute_batch("ROLLBACK").unwrap();
    store.commit(step("a", 0, b"x".to_vec())).await.unwrap();
}

#[tokio::test]
async fn undecodable_rows_are_invalid_data() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let store = SqliteStore::open(&path).unwrap();
    create(&store, "a").await;
    create(&store, "b").await;
    let conn = raw(&path);

    conn.execute("UPDATE sayiir_instances SET status = 42 WHERE id = 'a'", [])
        .unwrap();
    match store.load(&id("a")).await {
        Err(StoreError::InvalidData { id, detail }) => {
            assert_eq!(id, "a");
            assert!(detail.contains("status"), "{detail}");
        }
        other => panic!("expected InvalidData, got {other:?}"),
    }
    assert!(matches!(
        store.commit(step("a", 0, vec![])).await,
        Err(StoreError::InvalidData { .. })
    ));

    conn.execute(
        "UPDATE sayiir_instances SET definition_hash = x'0102' WHERE id = 'b'",
        [],
    )
    .unwrap();
    match store.load(&id("b")).await {
        Err(StoreError::InvalidData { id, detail }) => {
            assert_eq!(id, "b");
            assert!(detail.contains("32"), "{detail}");
        }
        other => panic!("expected InvalidData, got {other:?}"),
    }

    conn.execute(
        "UPDATE sayiir_instances SET status = 0, id = ' padded' WHERE id = 'a'",
        [],
    )
    .unwrap();
    // A listing reports the row beside the others instead of failing.
    let listing = store.list(&ListQuery::default()).await.unwrap();
    assert_eq!(listing.instances, []);
    let ids: Vec<&str> = listing.damaged.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, [" padded", "b"], "{listing:?}");
    assert!(
        listing.damaged[0].problem.contains("column `id`"),
        "{listing:?}"
    );

    // A batch reports a bad instance on its own and commits the rest.
    conn.execute(
        "UPDATE sayiir_instances SET id = 'a', status = 42 WHERE id = ' padded'",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE sayiir_instances SET definition_hash = zeroblob(32) WHERE id = 'b'",
        [],
    )
    .unwrap();
    let results = store
        .commit_batch(vec![step("a", 0, vec![]), step("b", 0, b"ok".to_vec())])
        .await
        .unwrap();
    assert!(
        matches!(results[0], Err(StoreError::InvalidData { .. })),
        "{results:?}"
    );
    assert!(results[1].is_ok(), "{results:?}");
    assert_eq!(store.load(&id("b")).await.unwrap().status, Status::Running);
}

#[tokio::test]
async fn a_creation_batch_reports_a_bad_instance_on_its_own() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let store = SqliteStore::open(&path).unwrap();
    create(&store, "bad").await;
    let conn = raw(&path);
    conn.execute(
        "UPDATE sayiir_instances SET status = 42 WHERE id = 'bad'",
        [],
    )
    .unwrap();
    // History entry 0 of an instance that does not exist.
    conn.execute(
        "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) \
         VALUES ('ghost', 0, 1, 'started', x'00')",
        [],
    )
    .unwrap();
    let results = store
        .create_batch(vec![
            new_instance("n1", 100),
            new_instance("ghost", 100),
            new_instance("bad", 100),
            new_instance("n2", 100),
        ])
        .await
        .unwrap();
    assert!(matches!(results[0], Ok(Created::New(_))), "{results:?}");
    match &results[1] {
        Err(StoreError::InvalidData { id, .. }) => assert_eq!(id, "ghost"),
        other => panic!("expected InvalidData for `ghost`, got {other:?}"),
    }
    match &results[2] {
        Err(StoreError::InvalidData { id, detail }) => {
            assert_eq!(id, "bad");
            assert!(detail.contains("status"), "{detail}");
        }
        other => panic!("expected InvalidData for `bad`, got {other:?}"),
    }
    assert!(matches!(results[3], Ok(Created::New(_))), "{results:?}");
    assert!(matches!(
        store.load(&id("ghost")).await,
        Err(StoreError::NotFound { .. })
    ));
    for i in ["n1", "n2"] {
        assert_eq!(store.history(&id(i), None, None).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_version_1_database_is_upgraded_in_place() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    {
        // A database as written by a build that knew only version 1, with one instance.
        let conn = raw(&path);
        conn.execute_batch(include_str!("../../migrations/sqlite/0001_init.sql"))
            .unwrap();
        conn.execute(
            "INSERT INTO sayiir_instances (id, workflow, definition_hash, seq, status, state, \
             due_at, created_at, updated_at) VALUES ('old', 'wf', ?1, 0, 0, x'01', NULL, 100, 100)",
            [[1u8; 32].as_slice()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) \
             VALUES ('old', 0, 100, 'started', x'02')",
            [],
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.pragma_update(None, "application_id", 0x5359_5952)
            .unwrap();
    }

    let store = SqliteStore::open(&path).unwrap();
    let version: i64 = raw(&path)
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, NEWEST, "the version-1 file was upgraded");
    let head = store.load(&id("old")).await.unwrap();
    assert_eq!(
        (head.seq, head.state, head.due_at),
        (0, Some(vec![1]), None)
    );
    assert!(store.signals(&id("old")).await.unwrap().is_empty());

    let sig = store
        .send_signal(NewSignal {
            id: id("old"),
            name: "go".into(),
            payload: b"x".to_vec(),
            now: Timestamp(500),
        })
        .await
        .unwrap();
    assert_eq!(
        store.load(&id("old")).await.unwrap().due_at,
        Some(Timestamp(500))
    );
    let mut t = step("old", 0, b"s1".to_vec());
    t.consume_signals = vec![sig];
    store.commit(t).await.unwrap();
    assert!(store.signals(&id("old")).await.unwrap().is_empty());
    drop(store);

    // Reopening neither migrates again nor loses anything.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.load(&id("old")).await.unwrap().seq, 1);
    let seqs: Vec<u64> = store
        .history(&id("old"), None, None)
        .await
        .unwrap()
        .iter()
        .map(|h| h.seq)
        .collect();
    assert_eq!(seqs, [0, 1]);
}

#[tokio::test]
async fn signals_survive_close_and_reopen_and_ids_are_not_reused() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let signal = |n: i64| NewSignal {
        id: id("a"),
        name: format!("s{n}"),
        payload: n.to_le_bytes().to_vec(),
        now: Timestamp(200 + n),
    };
    let (first, second) = {
        let store = SqliteStore::open(&path).unwrap();
        create(&store, "a").await;
        let first = store.send_signal(signal(1)).await.unwrap();
        let second = store.send_signal(signal(2)).await.unwrap();
        let mut t = step("a", 0, b"s1".to_vec());
        t.consume_signals = vec![second];
        store.commit(t).await.unwrap();
        (first, second)
    };
    let store = SqliteStore::open(&path).unwrap();
    let pending = store.signals(&id("a")).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (
            pending[0].signal_id,
            pending[0].name.as_str(),
            pending[0].sent_at
        ),
        (first, "s1", Timestamp(201))
    );
    let third = store.send_signal(signal(3)).await.unwrap();
    assert!(
        third > second,
        "id {third} reused after reopening (consumed {second})"
    );
}
