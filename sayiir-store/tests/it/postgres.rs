//! PostgreSQL-specific behaviour: connecting, migrating, several stores (as several processes
//! would) on one database, and wake-ups. Each test takes a database of its own from the
//! harness, which skips them (loudly) when no PostgreSQL is available.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sayiir_store::pg_harness::{PgTestDb, fresh_database};
use sayiir_store::{
    Claim, ClaimRequest, Created, DefinitionHash, DefinitionRef, Event, Fingerprint, InstanceId,
    Lease, NewInstance, NewSignal, Next, PgOptions, PgStore, Status, Store, StoreError, Timestamp,
    Transition, WorkerId, WorkflowKey,
};
use sqlx::Connection;
use sqlx::postgres::PgConnectOptions;
use tokio::sync::broadcast;

/// How long a test waits for an event before it calls the store stuck: only a hang, never a
/// loaded machine, gets near it.
const PATIENCE: Duration = Duration::from_secs(30);

mod admin;
mod caller;
mod damaged;
mod extra;
mod leases;
mod priority;
mod single;
mod tls;
mod versions;

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

fn new_instance(i: &str, due: Option<i64>) -> NewInstance {
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
        .due_at(due.map(Timestamp))
}

fn step(i: &str, expected_seq: u64, due: Option<i64>, now: i64) -> Transition {
    let event = Event {
        kind: "step".into(),
        payload: expected_seq.to_le_bytes().to_vec(),
    };
    let next = Next::Running {
        state: format!("{i} after {expected_seq}").into_bytes(),
        due_at: due.map(Timestamp),
        state_id: format!("step#{}", expected_seq + 1),
    };
    Transition::new(id(i), expected_seq, next, event, Timestamp(now))
}

/// The claim of instance `i` of generation `generation`.
fn claim_of(i: &str, generation: u64) -> Claim {
    Claim {
        id: id(i),
        generation,
    }
}

/// The lease of `owner` by a claim of generation `generation`.
fn lease(owner: &str, generation: u64) -> Lease {
    Lease {
        owner: WorkerId(owner.into()),
        generation,
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
    claimed
        .iter()
        .map(|c| c.record.id.as_str().to_owned())
        .collect()
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
    assert_eq!(applied, PgStore::schema_versions(), "each applied once");
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

/// With timeouts of an hour, a refused connection still fails at once, and a server that
/// never answers at the connect timeout (300 ms); either would otherwise hang the test until
/// [`PATIENCE`] runs out.
#[tokio::test]
async fn an_unreachable_server_is_unavailable_and_retryable() {
    let hour = Duration::from_secs(3600);
    let patient = PgOptions::default()
        .connect_timeout(hour)
        .acquire_timeout(hour);
    // Nothing listens on port 1: the connection is refused at once.
    let connect = PgStore::connect_with("postgres://sayiir:s3cret@127.0.0.1:1/sayiir", patient);
    let err = tokio::time::timeout(PATIENCE, connect)
        .await
        .expect("a refused connection was retried")
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable { .. }),
        "refused connection: {err:?}"
    );
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(!text.contains("s3cret"), "the password leaked: {text}");

    // A server that takes the connection and never answers (a local socket nobody accepts
    // on: the kernel completes the handshake): the connect timeout applies.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let options = PgOptions::default()
        .connect_timeout(Duration::from_millis(300))
        .acquire_timeout(hour);
    let url = format!("postgres://sayiir@127.0.0.1:{port}/sayiir");
    let err = tokio::time::timeout(PATIENCE, PgStore::connect_with(&url, options))
        .await
        .expect("the 300 ms connect timeout did not apply")
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable { .. }),
        "silent server: {err:?}"
    );
    drop(silent);
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
        .renew(&WorkerId("A".into()), &[claim_of("x", 1)], Timestamp(9000))
        .await
        .unwrap();
    assert_eq!(lost, [claim_of("x", 1)]);
    // The old owner's release and unregistration leave the new lease alone.
    a.release(&WorkerId("A".into()), &[claim_of("x", 1)])
        .await
        .unwrap();
    a.unregister_worker(&WorkerId("A".into())).await.unwrap();
    assert!(claim_ids(&a, claim("C", 4999, 9000, 1)).await.is_empty());
    let kept = b
        .renew(&WorkerId("B".into()), &[claim_of("x", 2)], Timestamp(6000))
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
        .renew(&WorkerId("A".into()), &[claim_of("x", 1)], Timestamp(2000))
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

const SOON: Duration = PATIENCE;

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
        .renew(
            &WorkerId("W".into()),
            &[claim_of("x", 1)],
            Timestamp(20_000),
        )
        .await
        .unwrap();
    quiet(&mut rx, "renew").await;
    worker
        .release(&WorkerId("W".into()), &[claim_of("x", 1)])
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
    released.release_lease = Some(lease("client", 1));
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
    assert_eq!(
        client.history(&id("n1"), None, None).await.unwrap().len(),
        1
    );
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

fn finish(i: &str, expected_seq: u64, now: i64) -> Transition {
    let mut t = step(i, expected_seq, None, now);
    t.next = Next::Finished {
        status: Status::Completed,
        output: format!("output of {i}").into_bytes(),
    };
    t
}

/// Writes history entry `seq` of `i` behind the store's back, as a damaged database could hold.
async fn stray_entry(db: &PgTestDb, i: &str, seq: i64) {
    sqlx::query(
        "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) \
         VALUES ($1, $2, 50, 'stray', '\\x00')",
    )
    .bind(i)
    .bind(seq)
    .execute(&mut raw(db).await)
    .await
    .unwrap();
}

/// A transition whose history entry already exists writes nothing and is refused on its own,
/// whether the batch writes it with the others (plain running and finishing transitions) or on
/// its own (one that consumes signals); the rest of the batch commits.
#[tokio::test]
async fn a_batch_refuses_the_transitions_whose_history_entry_exists() {
    let Some(db) = fresh_database("pg batch history exists").await else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    for i in ["a", "b", "c", "d", "e"] {
        create(&store, i, Some(100)).await;
    }
    let mut signals = Vec::new();
    for i in ["c", "d"] {
        let signal = NewSignal {
            id: id(i),
            name: "go".into(),
            payload: b"x".to_vec(),
            now: Timestamp(150),
        };
        signals.push(store.send_signal(signal).await.unwrap());
    }
    for i in ["a", "c", "d"] {
        stray_entry(&db, i, 1).await;
    }
    let mut before = Vec::new();
    for i in ["a", "c", "d"] {
        let head = store.load(&id(i)).await.unwrap();
        let history = store.history(&id(i), None, None).await.unwrap();
        let pending = store.signals(&id(i)).await.unwrap();
        before.push((head, history, pending));
    }

    let mut consume = step("d", 0, None, 200);
    consume.consume_signals = vec![signals[1]];
    let results = store
        .commit_batch(vec![
            step("a", 0, Some(300), 200),
            step("b", 0, Some(300), 200),
            finish("c", 0, 200),
            consume,
            finish("e", 0, 200),
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 5);
    for (n, i) in [(0, "a"), (2, "c"), (3, "d")] {
        match &results[n] {
            Err(StoreError::InvalidData { id, detail }) => {
                assert_eq!(id, i);
                assert!(
                    detail.contains("history entry 1 already exists"),
                    "{i}: {detail}"
                );
            }
            other => panic!("result of `{i}`: expected InvalidData, got {other:?}"),
        }
    }
    assert!(results[1].is_ok(), "{results:?}");
    assert!(results[4].is_ok(), "{results:?}");
    for (i, before) in ["a", "c", "d"].into_iter().zip(before) {
        let head = store.load(&id(i)).await.unwrap();
        let history = store.history(&id(i), None, None).await.unwrap();
        let pending = store.signals(&id(i)).await.unwrap();
        assert_eq!(
            (head, history, pending),
            before,
            "the refused `{i}` changed"
        );
    }
    assert_eq!(store.load(&id("b")).await.unwrap().seq, 1);
    let e = store.load(&id("e")).await.unwrap();
    assert_eq!((e.seq, e.status), (1, Status::Completed));
}

/// Waits until no hint came for a while, dropping the ones that came.
async fn settle(rx: &mut broadcast::Receiver<()>) {
    while tokio::time::timeout(Duration::from_millis(400), rx.recv())
        .await
        .is_ok()
    {}
}

/// A batch wakes idle workers when one of its committed transitions leaves an instance due
/// and claimable, and only then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_wake_for_the_instances_they_make_claimable() {
    let Some(db) = fresh_database("pg batch wakeups").await else {
        return;
    };
    let worker = PgStore::connect(db.url()).await.unwrap();
    let client = PgStore::connect(db.url()).await.unwrap();
    let mut rx = worker.wakeups().unwrap();
    hint(&mut rx, "listening", SOON).await;
    for i in ["x", "y", "z", "h"] {
        create(&client, i, Some(100)).await;
    }
    assert_eq!(
        claim_ids(&worker, claim("W", 100, 10_000, 10)).await.len(),
        4
    );
    settle(&mut rx).await;

    let results = worker
        .commit_batch(vec![step("x", 0, Some(200), 150), finish("y", 0, 150)])
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    quiet(&mut rx, "a batch keeping its leases, and a finish").await;

    let mut waiting = step("x", 1, None, 160);
    waiting.release_lease = Some(lease("W", 1));
    let results = worker.commit_batch(vec![waiting]).await.unwrap();
    assert!(results[0].is_ok(), "{results:?}");
    quiet(&mut rx, "a release without a due time").await;

    stray_entry(&db, "h", 1).await;
    let mut refused = step("h", 0, Some(200), 170);
    refused.release_lease = Some(lease("W", 1));
    let results = worker.commit_batch(vec![refused]).await.unwrap();
    assert!(
        matches!(results[0], Err(StoreError::InvalidData { .. })),
        "{results:?}"
    );
    quiet(&mut rx, "a refused release").await;

    let mut released = step("z", 0, Some(200), 180);
    released.release_lease = Some(lease("W", 1));
    let results = worker
        .commit_batch(vec![step("x", 2, Some(300), 180), released])
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    hint(&mut rx, "a batch releasing a due instance", SOON).await;
}
