//! PostgreSQL-specific behaviour: connecting, migrating, several stores (as several processes
//! would) on one database, and wake-ups. Each test takes a database of its own from the
//! harness, which skips them (loudly) when no PostgreSQL is available.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sayiir_store::pg_harness::{PgTestDb, fresh_database};
use sayiir_store::{
    ClaimRequest, Created, DefinitionHash, Event, InstanceId, NewInstance, NewSignal, Next,
    PgOptions, PgStore, Store, StoreError, Timestamp, Transition, WorkerId, WorkflowKey,
};
use sqlx::Connection;
use sqlx::postgres::PgConnectOptions;
use tokio::sync::broadcast;

fn id(s: &str) -> InstanceId {
    InstanceId::new(s).unwrap()
}

fn key() -> WorkflowKey {
    WorkflowKey {
        workflow: "wf".into(),
        hash: DefinitionHash([1; 32]),
    }
}

fn new_instance(i: &str, due: Option<i64>) -> NewInstance {
    NewInstance {
        id: id(i),
        workflow: "wf".into(),
        hash: DefinitionHash([1; 32]),
        state: format!("state of {i}").into_bytes(),
        due_at: due.map(Timestamp),
        event: Event {
            kind: "started".into(),
            payload: b"input".to_vec(),
        },
        now: Timestamp(100),
    }
}

fn step(i: &str, expected_seq: u64, due: Option<i64>, now: i64) -> Transition {
    Transition {
        id: id(i),
        expected_seq,
        event: Event {
            kind: "step".into(),
            payload: expected_seq.to_le_bytes().to_vec(),
        },
        next: Next::Running {
            state: format!("{i} after {expected_seq}").into_bytes(),
            due_at: due.map(Timestamp),
        },
        release_lease: false,
        consume_signals: Vec::new(),
        truncate_history: false,
        listening: Vec::new(),
        now: Timestamp(now),
    }
}

fn claim(owner: &str, now: i64, until: i64, limit: usize) -> ClaimRequest {
    ClaimRequest {
        owner: WorkerId(owner.into()),
        now: Timestamp(now),
        lease_until: Timestamp(until),
        limit,
        known: vec![key()],
    }
}

async fn create(store: &PgStore, i: &str, due: Option<i64>) {
    match store.create(new_instance(i, due)).await.unwrap() {
        Created::New(_) => {}
        Created::Existing(r) => panic!("`{i}` already existed: {r:?}"),
    }
}

async fn claim_ids(store: &PgStore, req: ClaimRequest) -> Vec<String> {
    let claimed = store.claim(req).await.unwrap();
    claimed.iter().map(|r| r.id.as_str().to_owned()).collect()
}

async fn raw(db: &PgTestDb) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(db.url()).await.unwrap()
}

/// A URL of the test server with another user and database.
fn url_with(db: &PgTestDb, user: &str, database: &str) -> String {
    let o = PgConnectOptions::from_str(db.url()).unwrap();
    format!(
        "postgres://{user}@{}:{}/{database}",
        o.get_host(),
        o.get_port()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_connects_apply_the_schema_once() {
    let Some(db) = fresh_database("pg connect race").await else {
        return;
    };
    let url = Arc::new(db.url().to_owned());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let url = Arc::clone(&url);
            tokio::spawn(async move { PgStore::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for task in tasks {
        stores.push(
            task.await
                .unwrap()
                .expect("every concurrent connect succeeds"),
        );
    }
    create(&stores[0], "a", Some(100)).await;
    for store in &stores {
        assert_eq!(store.load(&id("a")).await.unwrap().seq, 0);
    }
    let mut conn = raw(&db).await;
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM sayiir_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(applied, [PgStore::schema_version()], "applied once");
    // Connecting again migrates nothing and keeps the data.
    let again = PgStore::connect(db.url()).await.unwrap();
    assert_eq!(again.load(&id("a")).await.unwrap().seq, 0);
}

#[tokio::test]
async fn a_schema_newer_than_supported_is_refused_and_left_alone() {
    let Some(db) = fresh_database("pg schema too new").await else {
        return;
    };
    {
        let store = PgStore::connect(db.url()).await.unwrap();
        create(&store, "a", Some(100)).await;
    }
    let mut conn = raw(&db).await;
    sqlx::query(
        "INSERT INTO sayiir_migrations (version, description, success, checksum, execution_time) \
         VALUES (999, 'from the future', TRUE, '\\x00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let supported = PgStore::schema_version();
    match PgStore::connect(db.url()).await {
        Err(StoreError::SchemaTooNew {
            found: 999,
            supported: s,
        }) if s == supported => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let err = PgStore::connect(db.url()).await.unwrap_err();
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("version 999"), "{text}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM sayiir_instances")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 1, "the data is left alone");
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_and_retryable() {
    let started = Instant::now();
    // Nothing listens on port 1: the connection is refused at once.
    let err = PgStore::connect("postgres://sayiir:s3cret@127.0.0.1:1/sayiir")
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable { .. }),
        "refused connection: {err:?}"
    );
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(!text.contains("s3cret"), "the password leaked: {text}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // An address that does not answer (or is unroutable here): the connect timeout applies.
    let started = Instant::now();
    let options = PgOptions::default().connect_timeout(Duration::from_millis(300));
    let err = PgStore::connect_with("postgres://sayiir@10.255.255.1:5432/sayiir", options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable { .. }),
        "silent server: {err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_malformed_url_is_a_connect_error() {
    for url in [
        "postgres://sayiir:s3cret@localhost:notaport/db",
        "mysql://sayiir:s3cret@localhost/db",
        "postgres://sayiir:s3cret@localhost/db?sslmode=sometimes",
    ] {
        let err = PgStore::connect(url).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Connect { .. }),
            "{url}: expected Connect, got {err:?}"
        );
        assert!(!err.is_retryable(), "{url}");
        assert!(!err.to_string().contains("s3cret"), "{url}: {err}");
    }
}

#[tokio::test]
async fn a_missing_database_and_an_unknown_role_are_typed() {
    let Some(db) = fresh_database("pg missing").await else {
        return;
    };
    let user = PgConnectOptions::from_str(db.url())
        .unwrap()
        .get_username()
        .to_owned();
    let url = url_with(&db, &user, "sayiir_no_such_database");
    match PgStore::connect(&url).await {
        Err(e @ StoreError::DatabaseMissing { .. }) => {
            assert!(!e.is_retryable());
            let text = e.to_string();
            assert!(text.contains("sayiir_no_such_database"), "{text}");
        }
        other => panic!("expected DatabaseMissing, got {other:?}"),
    }
    let url = url_with(&db, "sayiir_no_such_role", "postgres");
    match PgStore::connect(&url).await {
        Err(e @ StoreError::Connect { .. }) => assert!(!e.is_retryable()),
        other => panic!("expected Connect for an unknown role, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_claiming_at_once_never_claim_twice() {
    let Some(db) = fresh_database("pg two stores claim").await else {
        return;
    };
    const INSTANCES: usize = 120;
    let options = PgOptions::default().max_connections(4);
    let a = Arc::new(
        PgStore::connect_with(db.url(), options.clone())
            .await
            .unwrap(),
    );
    let b = Arc::new(PgStore::connect_with(db.url(), options).await.unwrap());
    for i in 0..INSTANCES {
        create(&a, &format!("job-{i:03}"), Some(100 + (i % 7) as i64)).await;
    }
    let mut tasks = Vec::new();
    for (s, store) in [&a, &b].into_iter().enumerate() {
        for w in 0..4 {
            let store = Arc::clone(store);
            tasks.push(tokio::spawn(async move {
                let owner = format!("store{s}-worker{w}");
                let mut mine = Vec::new();
                loop {
                    let got = claim_ids(&store, claim(&owner, 1000, 1_000_000, 5)).await;
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got);
                }
            }));
        }
    }
    let mut seen = HashSet::new();
    for task in tasks {
        for i in task.await.unwrap() {
            assert!(seen.insert(i.clone()), "`{i}` was claimed twice");
        }
    }
    assert_eq!(seen.len(), INSTANCES, "everything was claimed");
}

#[tokio::test]
async fn an_expired_lease_passes_on_and_fences_the_old_owner() {
    let Some(db) = fresh_database("pg lease expiry").await else {
        return;
    };
    let a = PgStore::connect(db.url()).await.unwrap();
    let b = PgStore::connect(db.url()).await.unwrap();
    create(&a, "x", Some(100)).await;
    assert_eq!(claim_ids(&a, claim("A", 100, 1000, 1)).await, ["x"]);
    assert!(claim_ids(&b, claim("B", 999, 5000, 1)).await.is_empty());
    assert_eq!(claim_ids(&b, claim("B", 1000, 5000, 1)).await, ["x"]);
    b.commit(step("x", 0, Some(2000), 1100)).await.unwrap();
    match a.commit(step("x", 0, Some(3000), 1200)).await {
        Err(StoreError::Conflict {
            expected: 0,
            actual: 1,
            ..
        }) => {}
        other => panic!("the old owner's commit must be fenced, got {other:?}"),
    }
    let lost = a
        .renew(&WorkerId("A".into()), &[id("x")], Timestamp(9000))
        .await
        .unwrap();
    assert_eq!(lost, [id("x")]);
    // The old owner's release and unregistration leave the new lease alone.
    a.release(&WorkerId("A".into()), &[id("x")]).await.unwrap();
    a.unregister_worker(&WorkerId("A".into())).await.unwrap();
    assert!(claim_ids(&a, claim("C", 4999, 9000, 1)).await.is_empty());
    let kept = b
        .renew(&WorkerId("B".into()), &[id("x")], Timestamp(6000))
        .await
        .unwrap();
    assert!(kept.is_empty());
}

#[tokio::test]
async fn registering_a_worker_keeps_the_leases_of_others() {
    let Some(db) = fresh_database("pg register").await else {
        return;
    };
    let a = PgStore::connect(db.url()).await.unwrap();
    let b = PgStore::connect(db.url()).await.unwrap();
    a.register_worker(&WorkerId("A".into())).await.unwrap();
    create(&a, "x", Some(100)).await;
    create(&a, "y", Some(100)).await;
    assert_eq!(claim_ids(&a, claim("A", 100, 1000, 1)).await, ["x"]);
    b.register_worker(&WorkerId("B".into())).await.unwrap();
    assert_eq!(
        claim_ids(&b, claim("B", 200, 1000, 10)).await,
        ["y"],
        "A's lease survives B's registration"
    );
    b.unregister_worker(&WorkerId("B".into())).await.unwrap();
    let lost = a
        .renew(&WorkerId("A".into()), &[id("x")], Timestamp(2000))
        .await
        .unwrap();
    assert!(lost.is_empty(), "B's unregistration released A's lease");
    assert_eq!(claim_ids(&a, claim("C", 300, 1000, 10)).await, ["y"]);
}

/// Waits for a hint; panics after `within`.
async fn hint(rx: &mut broadcast::Receiver<()>, what: &str, within: Duration) {
    match tokio::time::timeout(within, rx.recv()).await {
        Ok(Ok(()) | Err(broadcast::error::RecvError::Lagged(_))) => {}
        Ok(Err(e)) => panic!("{what}: the wake-up channel closed: {e}"),
        Err(_) => panic!("{what}: no wake-up within {within:?}"),
    }
}

/// Asserts that no hint arrives for a while.
async fn quiet(rx: &mut broadcast::Receiver<()>, what: &str) {
    if let Ok(r) = tokio::time::timeout(Duration::from_millis(400), rx.recv()).await {
        panic!("{what}: unexpected wake-up {r:?}");
    }
}

const SOON: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wakeups_arrive_from_another_store() {
    let Some(db) = fresh_database("pg wakeups").await else {
        return;
    };
    let worker = PgStore::connect(db.url()).await.unwrap();
    let client = PgStore::connect(db.url()).await.unwrap();
    let mut rx = worker.wakeups().expect("PgStore has wake-ups");
    hint(&mut rx, "listening", SOON).await;

    create(&client, "x", Some(100)).await;
    hint(&mut rx, "create", SOON).await;
    create(&client, "waiting", None).await;
    quiet(&mut rx, "create without a due time").await;

    assert_eq!(claim_ids(&worker, claim("W", 100, 10_000, 1)).await, ["x"]);
    quiet(&mut rx, "claim").await;
    worker.commit(step("x", 0, Some(200), 150)).await.unwrap();
    quiet(&mut rx, "commit keeping the lease").await;
    worker
        .renew(&WorkerId("W".into()), &[id("x")], Timestamp(20_000))
        .await
        .unwrap();
    quiet(&mut rx, "renew").await;
    worker
        .release(&WorkerId("W".into()), &[id("x")])
        .await
        .unwrap();
    hint(&mut rx, "release", SOON).await;

    client
        .send_signal(NewSignal {
            id: id("waiting"),
            name: "go".into(),
            payload: b"x".to_vec(),
            now: Timestamp(300),
        })
        .await
        .unwrap();
    hint(&mut rx, "send_signal", SOON).await;

    let mut released = step("x", 1, Some(400), 350);
    released.release_lease = true;
    client.commit(released).await.unwrap();
    hint(&mut rx, "commit by someone without a lease", SOON).await;

    let block = sayiir_store::Blocked {
        kind: sayiir_store::BlockKind::Paused,
        reason: "paused".into(),
        at: Timestamp(500),
    };
    client.set_blocked(&id("x"), Some(block)).await.unwrap();
    quiet(&mut rx, "pause").await;
    client.set_blocked(&id("x"), None).await.unwrap();
    hint(&mut rx, "resume", SOON).await;

    // A second subscriber shares the listener.
    let mut rx2 = worker.wakeups().unwrap();
    create(&client, "y", Some(600)).await;
    hint(&mut rx, "create (first receiver)", SOON).await;
    hint(&mut rx2, "create (second receiver)", SOON).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_batches_wake_and_report_a_bad_instance_on_their_own() {
    let Some(db) = fresh_database("pg create batches").await else {
        return;
    };
    let worker = PgStore::connect(db.url()).await.unwrap();
    let client = PgStore::connect(db.url()).await.unwrap();
    let mut rx = worker.wakeups().expect("PgStore has wake-ups");
    hint(&mut rx, "listening", SOON).await;

    let results = client
        .create_batch(vec![new_instance("w1", None), new_instance("w2", None)])
        .await
        .unwrap();
    assert!(results.iter().all(|r| matches!(r, Ok(Created::New(_)))));
    quiet(&mut rx, "create_batch without due times").await;
    let results = client
        .create_batch(vec![
            new_instance("w1", Some(1)),
            new_instance("d", Some(1)),
        ])
        .await
        .unwrap();
    assert!(
        matches!(results[0], Ok(Created::Existing(_))),
        "{results:?}"
    );
    assert!(matches!(results[1], Ok(Created::New(_))), "{results:?}");
    hint(&mut rx, "create_batch with a due time", SOON).await;

    let mut conn = raw(&db).await;
    sqlx::query("UPDATE sayiir_instances SET status = 42 WHERE id = 'w2'")
        .execute(&mut conn)
        .await
        .unwrap();
    // History entry 0 of an instance that does not exist.
    sqlx::query(
        "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) \
         VALUES ('ghost', 0, 1, 'started', '\\x00')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let results = client
        .create_batch(vec![
            new_instance("n1", Some(1)),
            new_instance("ghost", Some(1)),
            new_instance("w2", Some(1)),
            new_instance("ghost", Some(1)),
            new_instance("n1", Some(1)),
        ])
        .await
        .unwrap();
    let Ok(Created::New(n1)) = &results[0] else {
        panic!("expected `n1` created: {results:?}");
    };
    assert!(
        matches!(&results[1], Err(StoreError::InvalidData { id, .. }) if id == "ghost"),
        "{results:?}"
    );
    assert!(
        matches!(&results[2], Err(StoreError::InvalidData { id, detail }) if id == "w2" && detail.contains("status")),
        "{results:?}"
    );
    assert!(
        matches!(&results[3], Err(StoreError::InvalidData { id, .. }) if id == "ghost"),
        "{results:?}"
    );
    assert!(
        matches!(&results[4], Ok(Created::Existing(r)) if r == n1),
        "{results:?}"
    );
    assert!(matches!(
        client.load(&id("ghost")).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(client.history(&id("n1"), None, 0).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wakeups_survive_a_lost_connection() {
    let Some(db) = fresh_database("pg wakeups reconnect").await else {
        return;
    };
    let worker = PgStore::connect(db.url()).await.unwrap();
    let client = PgStore::connect(db.url()).await.unwrap();
    let mut rx = worker.wakeups().unwrap();
    hint(&mut rx, "listening", SOON).await;

    let mut conn = raw(&db).await;
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(killed, 1, "the listener's connection");
    // The listener says so once it listens again: notifications may have been lost.
    hint(&mut rx, "reconnected", SOON).await;
    while rx.try_recv().is_ok() {}

    create(&client, "x", Some(100)).await;
    hint(&mut rx, "create after the reconnection", SOON).await;
}
