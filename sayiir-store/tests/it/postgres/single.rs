//! The single commit of a common transition, one statement outside a transaction: every
//! refusal is the transactional path's error and writes nothing; extra history entries,
//! lease releases, signal deletion and wake-ups are those of the transactional path.

use sayiir_store::pg_harness::{PgTestDb, fresh_database};
use sayiir_store::{
    BlockKind, Blocked, Event, HistoryEntry, InstanceRecord, Namespace, NewSignal, PgStore, Status,
    Store, StoreError, Timestamp, Transition, WorkerId,
};

use super::{
    SOON, claim, claim_ids, create, finish, hint, id, lease, quiet, settle, step, stray_entry,
};

/// The head and the history of `i`.
async fn snapshot(store: &PgStore, i: &str) -> (InstanceRecord, Vec<HistoryEntry>) {
    let head = store.load(&id(i)).await.unwrap();
    let history = store.history(&id(i), None, None).await.unwrap();
    (head, history)
}

/// Commits `t` alone, expecting a refusal, and checks that `i` did not change.
async fn refused(store: &PgStore, t: Transition) -> StoreError {
    let i = t.id.as_str().to_owned();
    let before = snapshot(store, &i).await;
    let e = store.commit(t).await.unwrap_err();
    assert_eq!(
        snapshot(store, &i).await,
        before,
        "the refused `{i}` changed"
    );
    e
}

async fn store(db: &PgTestDb) -> PgStore {
    PgStore::connect(db.url()).await.unwrap()
}

#[tokio::test]
async fn single_commits_refuse_as_the_transactional_path_and_write_nothing() {
    let Some(db) = fresh_database("pg single refusals").await else {
        return;
    };
    let store = store(&db).await;
    for i in ["a", "p", "f", "s"] {
        create(&store, i, Some(100)).await;
    }

    match store.commit(step("ghost", 0, None, 200)).await {
        Err(StoreError::NotFound { id }) => assert_eq!(id.as_str(), "ghost"),
        other => panic!("unknown instance: {other:?}"),
    }
    let other = store.with_namespace(&Namespace::new("other").unwrap());
    let before = snapshot(&store, "a").await;
    match other.commit(step("a", 0, None, 200)).await {
        Err(StoreError::NotFound { id }) => assert_eq!(id.as_str(), "a"),
        other => panic!("instance of another namespace: {other:?}"),
    }
    assert_eq!(snapshot(&store, "a").await, before);

    match refused(&store, step("a", 5, None, 200)).await {
        StoreError::Conflict {
            id,
            expected,
            actual,
        } => assert_eq!((id.as_str(), expected, actual), ("a", 5, 0)),
        other => panic!("stale expected seq: {other:?}"),
    }
    store.commit(step("a", 0, Some(300), 200)).await.unwrap();
    match refused(&store, step("a", 0, None, 210)).await {
        StoreError::Conflict {
            expected, actual, ..
        } => assert_eq!((expected, actual), (0, 1)),
        other => panic!("second commit at the same seq: {other:?}"),
    }

    let paused = Blocked {
        kind: BlockKind::Paused,
        reason: "operator".into(),
        at: Timestamp(150),
    };
    store.set_blocked(&id("p"), Some(paused)).await.unwrap();
    match refused(&store, step("p", 0, Some(300), 200)).await {
        StoreError::Paused { id } => assert_eq!(id.as_str(), "p"),
        other => panic!("step of a paused instance: {other:?}"),
    }
    // A paused instance may still finish.
    store.commit(finish("p", 0, 220)).await.unwrap();
    let p = store.load(&id("p")).await.unwrap();
    assert_eq!((p.seq, p.status), (1, Status::Completed));

    store.commit(finish("f", 0, 200)).await.unwrap();
    match refused(&store, step("f", 1, None, 210)).await {
        StoreError::Finished { id } => assert_eq!(id.as_str(), "f"),
        other => panic!("step of a finished instance: {other:?}"),
    }

    stray_entry(&db, "s", 1).await;
    match refused(&store, step("s", 0, Some(300), 200)).await {
        StoreError::InvalidData { id, detail } => {
            assert_eq!(id.as_str(), "s");
            assert!(
                detail.contains("history entry 1 already exists"),
                "{detail}"
            );
        }
        other => panic!("existing history entry: {other:?}"),
    }
    match refused(&store, finish("s", 0, 200)).await {
        StoreError::InvalidData { .. } => {}
        other => panic!("existing history entry, finishing: {other:?}"),
    }
}

fn event(kind: &str) -> Event {
    Event {
        kind: kind.into(),
        payload: kind.as_bytes().to_vec(),
    }
}

#[tokio::test]
async fn a_single_commit_writes_every_extra_event_or_none() {
    let Some(db) = fresh_database("pg single extra events").await else {
        return;
    };
    let store = store(&db).await;
    for i in ["x", "y"] {
        create(&store, i, Some(100)).await;
    }
    let t = step("x", 0, Some(300), 200).extra_events([event("two"), event("three")]);
    store.commit(t).await.unwrap();
    let (head, history) = snapshot(&store, "x").await;
    assert_eq!(head.seq, 3);
    let kinds: Vec<(u64, &str)> = history.iter().map(|e| (e.seq, e.kind.as_str())).collect();
    assert_eq!(
        kinds,
        [(0, "started"), (1, "step"), (2, "two"), (3, "three")]
    );
    // The next commit continues from the last of them.
    store.commit(finish("x", 3, 300)).await.unwrap();
    assert_eq!(store.load(&id("x")).await.unwrap().seq, 4);

    // One existing entry among three refuses the whole transition.
    stray_entry(&db, "y", 3).await;
    let t = step("y", 0, Some(300), 200).extra_events([event("two"), event("three")]);
    match refused(&store, t).await {
        StoreError::InvalidData { id, .. } => assert_eq!(id.as_str(), "y"),
        other => panic!("existing extra entry: {other:?}"),
    }
}

#[tokio::test]
async fn a_single_commit_releases_the_named_lease_only_and_drops_signals_when_finishing() {
    let Some(db) = fresh_database("pg single leases").await else {
        return;
    };
    let store = store(&db).await;
    for i in ["l", "g"] {
        create(&store, i, Some(100)).await;
    }
    assert_eq!(
        claim_ids(&store, claim("W", 100, 10_000, 10)).await.len(),
        2
    );

    // Another generation's lease is not released.
    let mut t = step("l", 0, Some(300), 200);
    t.release_lease = Some(lease("W", 2));
    store.commit(t).await.unwrap();
    let held = store.load(&id("l")).await.unwrap().lease.unwrap();
    assert_eq!((held.owner, held.generation), (WorkerId("W".into()), 1));
    // Nor another owner's.
    let mut t = step("l", 1, Some(300), 210);
    t.release_lease = Some(lease("V", 1));
    store.commit(t).await.unwrap();
    assert!(store.load(&id("l")).await.unwrap().lease.is_some());
    // The lease it names is.
    let mut t = step("l", 2, Some(300), 220);
    t.release_lease = Some(lease("W", 1));
    store.commit(t).await.unwrap();
    let l = store.load(&id("l")).await.unwrap();
    assert_eq!((l.seq, l.lease), (3, None));

    let signal = NewSignal {
        id: id("g"),
        name: "go".into(),
        payload: b"x".to_vec(),
        now: Timestamp(150),
    };
    store.send_signal(signal).await.unwrap();
    assert_eq!(store.signals(&id("g")).await.unwrap().len(), 1);
    store.commit(finish("g", 0, 200)).await.unwrap();
    assert!(store.signals(&id("g")).await.unwrap().is_empty());
    let g = store.load(&id("g")).await.unwrap();
    assert_eq!((g.status, g.lease), (Status::Completed, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_commit_wakes_when_it_leaves_the_instance_due_and_claimable() {
    let Some(db) = fresh_database("pg single wakeups").await else {
        return;
    };
    let worker = store(&db).await;
    let client = store(&db).await;
    let mut rx = worker.wakeups().unwrap();
    hint(&mut rx, "listening", SOON).await;
    for i in ["x", "y"] {
        create(&client, i, Some(100)).await;
    }
    assert_eq!(
        claim_ids(&worker, claim("W", 100, 10_000, 10)).await.len(),
        2
    );
    settle(&mut rx).await;

    worker.commit(step("x", 0, Some(200), 150)).await.unwrap();
    quiet(&mut rx, "a step keeping its lease").await;
    worker.commit(finish("y", 0, 150)).await.unwrap();
    quiet(&mut rx, "a finish").await;
    let mut waiting = step("x", 1, None, 160);
    waiting.release_lease = Some(lease("W", 1));
    worker.commit(waiting).await.unwrap();
    quiet(&mut rx, "a release without a due time").await;
    client.commit(step("x", 2, Some(300), 170)).await.unwrap();
    hint(&mut rx, "a due step of an instance no one leases", SOON).await;
}
