//! Namespaces: two handles of one store, bound to namespaces `a` and `b`, see nothing of each
//! other: loads, listings, backlogs, counts, histories, signals, operators' actions, claims,
//! idle sleeps, leases, schedules and worker registrations. An id taken in the other namespace
//! cannot be created again, and the error returns nothing of the other instance.

use std::sync::Arc;

use super::restarts::restart;
use super::schedules::schedule;
use super::workers::record;
use super::{
    DefinitionRef, FP, VERSION, assert_not_found, claim_ids, claim_of, claim_req, commit,
    create_with, fingerprint, hash, id, key, list_ids, load, new_instance, running, worker,
};
use crate::{
    BlockChange, BlockKind, Blocked, Created, ListQuery, Namespace, NewSignal, ScheduleClaim,
    ScheduleWrite, Store, StoreError, Timestamp,
};

/// The handles of namespaces `a` and `b` over `s`.
fn handles<S: Store>(s: &S) -> (Arc<dyn Store>, Arc<dyn Store>) {
    let a = s.in_namespace(&Namespace::new("a").unwrap()).unwrap();
    let b = s.in_namespace(&Namespace::new("b").unwrap()).unwrap();
    assert_eq!(a.namespace().as_str(), "a");
    assert_eq!(b.namespace().as_str(), "b");
    (a, b)
}

fn assert_taken<T: std::fmt::Debug>(r: Result<T, StoreError>, i: &str, what: &str) {
    match r {
        Err(StoreError::IdTaken { id: got }) if got == i => {}
        other => panic!("{what}: got {other:?}, expected IdTaken {{ id: {i:?} }}"),
    }
}

fn signal(i: &str, now: i64) -> NewSignal {
    NewSignal {
        id: id(i),
        name: "go".into(),
        payload: b"p".to_vec(),
        now: Timestamp(now),
    }
}

/// Instances, their signals, histories, counts and every action on them stay in their
/// namespace; a create of an id of the other namespace fails with `IdTaken`.
pub(super) async fn namespaces_isolate_instances<S: Store>(s: Arc<S>) {
    assert!(s.namespace().is_default());
    let (a, b) = handles(&*s);
    create_with(&*a, new_instance("a-1", "wf", 1, Some(100), 10)).await;
    let b1 = create_with(&*b, new_instance("b-1", "wf", 1, Some(50), 10)).await;

    // Reads by id.
    load(&*a, "a-1").await;
    assert_not_found(a.load(&id("b-1")).await, "b-1", "load across");
    assert_not_found(b.load(&id("a-1")).await, "a-1", "load across");
    assert_not_found(s.load(&id("a-1")).await, "a-1", "load from default");
    assert_not_found(a.history(&id("b-1"), None, None).await, "b-1", "history");
    assert_not_found(a.load_input(&id("b-1")).await, "b-1", "input");
    assert_not_found(a.signals(&id("b-1")).await, "b-1", "signals");

    // Listings, counts, backlog, version checks.
    assert_eq!(list_ids(&*a, ListQuery::default()).await, ["a-1"]);
    assert_eq!(list_ids(&*b, ListQuery::default()).await, ["b-1"]);
    assert_eq!(
        list_ids(&*s, ListQuery::default()).await,
        Vec::<String>::new()
    );
    let counts = a.version_counts().await.unwrap();
    assert_eq!(counts.iter().map(|c| c.count).sum::<u64>(), 1, "{counts:?}");
    assert!(s.version_counts().await.unwrap().is_empty());
    let backlog = a.backlog(Timestamp(200)).await.unwrap();
    assert_eq!((backlog.due, backlog.oldest_due), (1, Some(Timestamp(100))));
    let backlog = b.backlog(Timestamp(200)).await.unwrap();
    assert_eq!((backlog.due, backlog.oldest_due), (1, Some(Timestamp(50))));
    assert_eq!(s.backlog(Timestamp(200)).await.unwrap().due, 0);
    let mismatched = a
        .find_version_mismatches(&["wf".into()], &[])
        .await
        .unwrap();
    assert_eq!(
        mismatched.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["a-1"]
    );

    // Creations of an id of the other namespace.
    assert_taken(
        a.create(new_instance("b-1", "wf", 1, Some(1), 20)).await,
        "b-1",
        "create across",
    );
    let batch = a
        .create_batch(vec![
            new_instance("b-1", "wf", 1, Some(1), 20),
            new_instance("a-2", "wf", 1, None, 20),
            new_instance("a-1", "wf", 1, None, 20),
        ])
        .await
        .unwrap();
    assert_taken(batch[0].clone(), "b-1", "create_batch across");
    assert!(matches!(batch[1], Ok(Created::New(_))), "{:?}", batch[1]);
    assert!(
        matches!(batch[2], Ok(Created::Existing(_))),
        "{:?}",
        batch[2]
    );
    assert_eq!(load(&*b, "b-1").await, b1, "b-1 untouched");

    // Signals and actions across: not found, nothing written.
    assert_not_found(a.send_signal(signal("b-1", 30)).await, "b-1", "signal");
    let blocked = Blocked {
        kind: BlockKind::Paused,
        reason: "x".into(),
        at: Timestamp(30),
    };
    assert_not_found(
        a.set_blocked(&id("b-1"), Some(blocked.clone())).await,
        "b-1",
        "set_blocked",
    );
    let pause = BlockChange::new(id("b-1"), [None], blocked, Timestamp(30));
    assert_not_found(a.update_block(pause).await, "b-1", "update_block");
    assert_not_found(
        a.commit(running("b-1", 0, b"s", None, 30)).await,
        "b-1",
        "commit",
    );
    let results = a
        .commit_batch(vec![running("b-1", 0, b"s", None, 30)])
        .await
        .unwrap();
    assert_not_found(results[0].clone(), "b-1", "commit_batch");
    let def = DefinitionRef {
        version: VERSION,
        hash: hash(1),
        fingerprint: fingerprint(FP),
    };
    assert_not_found(
        a.restart(restart("b-1", 0, def, Some(1), 30)).await,
        "b-1",
        "restart",
    );
    assert_eq!(load(&*b, "b-1").await, b1, "b-1 untouched");
    assert!(b.signals(&id("b-1")).await.unwrap().is_empty());

    // Idle sleeps and claims: each namespace its own instances.
    let known = [key("wf", 1)];
    assert_eq!(a.next_due(&known).await.unwrap(), Some(Timestamp(100)));
    assert_eq!(b.next_due(&known).await.unwrap(), Some(Timestamp(50)));
    assert_eq!(s.next_due(&known).await.unwrap(), None);
    assert_eq!(
        claim_ids(&*s, claim_req("w-0", 500, 1_000, 10, &known)).await,
        Vec::<String>::new()
    );
    assert_eq!(
        claim_ids(&*a, claim_req("w-a", 500, 1_000, 10, &known)).await,
        ["a-1"]
    );
    assert_eq!(
        claim_ids(&*b, claim_req("w-b", 500, 1_000, 10, &known)).await,
        ["b-1"]
    );
    // Leases across: a renewal by the wrong handle loses it, a release or an unregistration
    // leaves it.
    let lost = a
        .renew(&worker("w-b"), &[claim_of("b-1", 1)], Timestamp(2_000))
        .await
        .unwrap();
    assert_eq!(lost, [claim_of("b-1", 1)]);
    a.release(&worker("w-b"), &[claim_of("b-1", 1)])
        .await
        .unwrap();
    a.unregister_worker(&worker("w-b")).await.unwrap();
    let lease = load(&*b, "b-1").await.lease.expect("still leased");
    assert_eq!(
        (lease.owner, lease.until),
        (worker("w-b"), Timestamp(1_000))
    );

    // The signal to its own instance works, and a commit of it.
    b.send_signal(signal("b-1", 600)).await.unwrap();
    commit(&*b, running("b-1", 0, b"s", None, 600)).await;
    assert_eq!(load(&*b, "b-1").await.seq, 1);
    assert_eq!(load(&*a, "a-1").await.seq, 0);
}

/// Schedules and worker registrations stay in their namespace; the instances a schedule fires
/// are in its namespace.
pub(super) async fn namespaces_isolate_schedules_and_workers<S: Store>(s: Arc<S>) {
    let (a, b) = handles(&*s);
    a.create_schedule(schedule("s-a", "report", Some(1_000)))
        .await
        .unwrap();
    let sb = b
        .create_schedule(schedule("s-b", "report", Some(500)))
        .await
        .unwrap();
    let names = |v: Vec<crate::ScheduleRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(names(a.schedules().await.unwrap()), ["s-a"]);
    assert_eq!(names(b.schedules().await.unwrap()), ["s-b"]);
    assert!(s.schedules().await.unwrap().is_empty());
    assert!(matches!(
        a.load_schedule("s-b").await,
        Err(StoreError::ScheduleNotFound { .. })
    ));
    assert_taken(
        a.create_schedule(schedule("s-b", "report", Some(1))).await,
        "s-b",
        "schedule create across",
    );
    let served = vec!["report".to_owned()];
    assert_eq!(
        a.next_schedule_due(&served).await.unwrap(),
        Some(Timestamp(1_000))
    );
    assert_eq!(
        b.next_schedule_due(&served).await.unwrap(),
        Some(Timestamp(500))
    );
    let claim = |owner: &str| ScheduleClaim {
        owner: worker(owner),
        now: Timestamp(2_000),
        lease_until: Timestamp(3_000),
        limit: 10,
        served: served.clone(),
    };
    let claimed = a.claim_schedules(claim("w-a")).await.unwrap();
    assert_eq!(names(claimed.clone()), ["s-a"]);
    assert_eq!(b.load_schedule("s-b").await.unwrap(), sb, "s-b not claimed");
    assert!(matches!(
        a.write_schedule(ScheduleWrite::of(&sb, Timestamp(2_001)))
            .await,
        Err(StoreError::ScheduleNotFound { .. })
    ));
    assert!(matches!(
        a.delete_schedule("s-b").await,
        Err(StoreError::ScheduleNotFound { .. })
    ));
    let mut w = ScheduleWrite::of(&claimed[0], Timestamp(2_001));
    w.fire = vec![new_instance("s-a@1", "report", 1, Some(2_000), 2_001)];
    a.write_schedule(w).await.unwrap();
    load(&*a, "s-a@1").await;
    assert_not_found(b.load(&id("s-a@1")).await, "s-a@1", "fired across");
    b.delete_schedule("s-b").await.unwrap();
    assert_eq!(names(a.schedules().await.unwrap()), ["s-a"]);

    // Worker registrations.
    a.heartbeat(record("w-a", 100, 5_000, &[])).await.unwrap();
    b.heartbeat(record("w-b", 100, 5_000, &[("report", 1, FP)]))
        .await
        .unwrap();
    let ids = |v: Vec<crate::WorkerRecord>| v.into_iter().map(|w| w.id.0).collect::<Vec<_>>();
    assert_eq!(ids(a.workers().await.unwrap()), ["w-a"]);
    assert_eq!(ids(b.workers().await.unwrap()), ["w-b"]);
    assert!(s.workers().await.unwrap().is_empty());
    // A heartbeat of `b` long after does not prune `a`'s registrations.
    b.heartbeat(record("w-b", 1_000_000_000, 1_000_005_000, &[]))
        .await
        .unwrap();
    assert_eq!(ids(a.workers().await.unwrap()), ["w-a"]);
}
