//! create, load, commit, commit_batch, history, set_blocked.

use std::num::NonZeroUsize;
use std::sync::Arc;

use super::{
    FP, VERSION, assert_conflict, assert_finished, assert_not_found, claim_ids, claim_of,
    claim_req, claims_of, commit, create, create_with, event, fingerprint, finished, hash, id, key,
    lease, load, new_instance, running, worker,
};
use crate::{
    BlockKind, Blocked, Created, HistoryEntry, InstanceRecord, Status, Store, StoreError, Timestamp,
};

pub(super) async fn create_new_and_existing<S: Store>(s: Arc<S>) {
    assert!(!s.backend().is_empty(), "backend() is empty");
    let new = new_instance("order-1", "orders", 7, Some(150), 100);
    let expected = InstanceRecord {
        id: id("order-1"),
        workflow: "orders".to_owned(),
        version: VERSION,
        hash: hash(7),
        fingerprint: fingerprint(FP),
        seq: 0,
        status: Status::Running,
        state_id: Some("start".to_owned()),
        state: Some(new.state.clone()),
        output: None,
        due_at: Some(Timestamp(150)),
        blocked: None,
        created_at: Timestamp(100),
        updated_at: Timestamp(100),
        lease: None,
        trace_context: None,
        priority: 0,
        head_start_ms: 0,
        concurrency_key: None,
    };
    let entry0 = vec![HistoryEntry {
        seq: 0,
        at: Timestamp(100),
        kind: "started".to_owned(),
        payload: new.event.payload.clone(),
    }];
    let created = create_with(&*s, new).await;
    assert_eq!(created, expected, "record returned by create");
    assert_eq!(load(&*s, "order-1").await, expected, "load after create");
    let history = s.history(&id("order-1"), None, None).await.unwrap();
    assert_eq!(
        history, entry0,
        "history after create: entry 0 holds the creation event"
    );

    // A second create with the same id returns the existing instance and changes nothing.
    let mut again = new_instance("order-1", "other", 9, None, 999);
    again.state = b"other state".to_vec();
    again.event = event("other", b"other payload");
    match s.create(again).await {
        Ok(Created::Existing(r)) => assert_eq!(r, expected, "record returned by a second create"),
        other => panic!("second create of `order-1` returned {other:?}, expected Existing"),
    }
    assert_eq!(
        load(&*s, "order-1").await,
        expected,
        "load after a second create"
    );
    let history = s.history(&id("order-1"), None, None).await.unwrap();
    assert_eq!(history, entry0, "history after a second create");

    // An instance waiting for an event has no due time.
    let waiting = create_with(&*s, new_instance("order-2", "orders", 7, None, 100)).await;
    assert_eq!(
        waiting.due_at, None,
        "due_at of an instance created with due_at None"
    );
    assert_eq!(
        load(&*s, "order-2").await.due_at,
        None,
        "loaded due_at of a waiting instance"
    );
}

pub(super) async fn load_not_found<S: Store>(s: Arc<S>) {
    assert_not_found(
        s.load(&id("missing")).await,
        "missing",
        "load of an unknown id",
    );
    create(&*s, "present", Some(100)).await;
    assert_not_found(
        s.load(&id("Present")).await,
        "Present",
        "load is case-sensitive",
    );
}

pub(super) async fn commit_compare_and_swap<S: Store>(s: Arc<S>) {
    let created = create(&*s, "a", Some(100)).await;
    commit(&*s, running("a", 0, b"s1", Some(200), 110)).await;
    let expected = InstanceRecord {
        seq: 1,
        state: Some(b"s1".to_vec()),
        state_id: Some("step#1".to_owned()),
        due_at: Some(Timestamp(200)),
        updated_at: Timestamp(110),
        ..created
    };
    assert_eq!(load(&*s, "a").await, expected, "head after a commit");
    let history = s.history(&id("a"), None, None).await.unwrap();
    assert_eq!(history.len(), 2, "history after one commit: {history:?}");
    assert_eq!(
        history[1],
        HistoryEntry {
            seq: 1,
            at: Timestamp(110),
            kind: "step".to_owned(),
            payload: b"s1".to_vec()
        },
        "history entry 1"
    );

    // Stale and future expected_seq are both conflicts and change nothing.
    let stale = s.commit(running("a", 0, b"stale", Some(300), 120)).await;
    assert_conflict(stale, "a", 0, 1, "commit with a stale expected_seq");
    let future = s.commit(running("a", 7, b"future", Some(300), 120)).await;
    assert_conflict(future, "a", 7, 1, "commit with a future expected_seq");
    assert_eq!(
        load(&*s, "a").await,
        expected,
        "head after conflicting commits"
    );
    assert_eq!(
        s.history(&id("a"), None, None).await.unwrap().len(),
        2,
        "history after conflicts"
    );

    // Waiting for an event: due_at None.
    commit(&*s, running("a", 1, b"s2", None, 130)).await;
    let head = load(&*s, "a").await;
    assert_eq!(
        (head.seq, head.due_at),
        (2, None),
        "seq and due_at after a commit with due None"
    );

    let missing = s.commit(running("missing", 0, b"x", None, 130)).await;
    assert_not_found(missing, "missing", "commit of an unknown id");
}

pub(super) async fn commit_finished<S: Store>(s: Arc<S>) {
    let created = create(&*s, "done", Some(100)).await;
    commit(&*s, finished("done", 0, Status::Completed, b"out", 120)).await;
    let expected = InstanceRecord {
        seq: 1,
        status: Status::Completed,
        state_id: None,
        state: None,
        output: Some(b"out".to_vec()),
        due_at: None,
        updated_at: Timestamp(120),
        ..created
    };
    assert_eq!(load(&*s, "done").await, expected, "head after finishing");
    let next = s.commit(running("done", 1, b"again", Some(200), 130)).await;
    assert_finished(next, "done", "commit on a finished instance");
    let twice = s
        .commit(finished("done", 1, Status::Failed, b"x", 130))
        .await;
    assert_finished(twice, "done", "finishing a finished instance");
    let stale = s.commit(running("done", 0, b"stale", Some(200), 130)).await;
    assert_conflict(stale, "done", 0, 1, "stale commit on a finished instance");
    assert_eq!(
        load(&*s, "done").await,
        expected,
        "head after refused commits"
    );
    assert_eq!(
        s.history(&id("done"), None, None).await.unwrap().len(),
        2,
        "history length"
    );

    for (i, status) in [("failed", Status::Failed), ("cancelled", Status::Cancelled)] {
        create(&*s, i, Some(100)).await;
        commit(&*s, finished(i, 0, status, b"why", 120)).await;
        assert_eq!(
            load(&*s, i).await.status,
            status,
            "status of `{i}` after finishing"
        );
    }

    // Finishing releases the lease even without release_lease.
    create(&*s, "leased", Some(100)).await;
    let known = [key("wf", 1)];
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 100, 10_000, 1, &known)).await,
        ["leased"]
    );
    commit(&*s, finished("leased", 0, Status::Completed, b"out", 200)).await;
    let leased = [claim_of("leased", 1)];
    let lost = s
        .renew(&worker("w1"), &leased, Timestamp(20_000))
        .await
        .unwrap();
    assert_eq!(
        lost, leased,
        "renew after finishing: the lease must be gone"
    );
}

pub(super) async fn commit_release_lease<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    create(&*s, "a", Some(100)).await;
    create(&*s, "b", Some(100)).await;
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 100, 1000, 10, &known)).await,
        ["a", "b"]
    );
    let mut release = running("a", 0, b"a1", Some(100), 200);
    release.release_lease = Some(lease("w1", 1));
    commit(&*s, release).await;
    commit(&*s, running("b", 0, b"b1", Some(100), 200)).await;

    // `a` is free at once, `b` stays leased until 1000.
    let claimed = s
        .claim(claim_req("w2", 300, 5000, 10, &known))
        .await
        .unwrap();
    assert_eq!(
        claimed.len(),
        1,
        "claim after a commit that released the lease: {claimed:?}"
    );
    assert_eq!(
        claimed[0].record,
        load(&*s, "a").await,
        "claimed record is the current head"
    );
    assert_eq!(claimed[0].record.seq, 1, "claimed record's seq");
    assert_eq!(claimed[0].generation, 2, "the second claim of `a`");
    let mut lost = s
        .renew(&worker("w1"), &claims_of(&["a", "b"], 1), Timestamp(2000))
        .await
        .unwrap();
    lost.sort();
    assert_eq!(
        lost,
        [claim_of("a", 1)],
        "w1 lost `a` to w2 and still holds `b`"
    );
    assert!(
        claim_ids(&*s, claim_req("w2", 1500, 5000, 10, &known))
            .await
            .is_empty()
    );
    assert_eq!(
        claim_ids(&*s, claim_req("w2", 2000, 5000, 10, &known)).await,
        ["b"]
    );
}

pub(super) async fn commit_batch_mixed<S: Store>(s: Arc<S>) {
    for i in ["a", "b", "c", "e"] {
        create(&*s, i, Some(100)).await;
    }
    commit(&*s, running("b", 0, b"b1", Some(100), 110)).await;
    commit(&*s, finished("e", 0, Status::Completed, b"e-out", 110)).await;
    let b_before = load(&*s, "b").await;
    let e_before = load(&*s, "e").await;

    let results = s
        .commit_batch(vec![
            running("a", 0, b"a1", Some(300), 120),
            running("b", 0, b"stale", Some(300), 120),
            running("d", 0, b"missing", Some(300), 120),
            finished("c", 0, Status::Failed, b"c-out", 120),
            running("e", 1, b"finished", Some(300), 120),
        ])
        .await
        .expect("commit_batch");
    assert_eq!(results.len(), 5, "one result per transition: {results:?}");
    assert!(results[0].is_ok(), "batch result 0 (a): {:?}", results[0]);
    assert_conflict(
        results[1].clone_err(),
        "b",
        0,
        1,
        "batch result 1 (b, stale)",
    );
    assert_not_found(results[2].clone_err(), "d", "batch result 2 (unknown d)");
    assert!(results[3].is_ok(), "batch result 3 (c): {:?}", results[3]);
    assert_finished(results[4].clone_err(), "e", "batch result 4 (finished e)");

    let a = load(&*s, "a").await;
    assert_eq!(
        (a.seq, a.state, a.due_at),
        (1, Some(b"a1".to_vec()), Some(Timestamp(300)))
    );
    let c = load(&*s, "c").await;
    assert_eq!(
        (c.seq, c.status, c.output),
        (1, Status::Failed, Some(b"c-out".to_vec()))
    );
    assert_eq!(
        load(&*s, "b").await,
        b_before,
        "conflicting transition changed `b`"
    );
    assert_eq!(
        load(&*s, "e").await,
        e_before,
        "refused transition changed `e`"
    );
    assert_eq!(
        s.history(&id("a"), None, None).await.unwrap().len(),
        2,
        "history of a"
    );
    assert_eq!(
        s.history(&id("b"), None, None).await.unwrap().len(),
        2,
        "history of b"
    );
    assert_eq!(
        s.history(&id("c"), None, None).await.unwrap().len(),
        2,
        "history of c"
    );
    assert_not_found(
        s.load(&id("d")).await,
        "d",
        "a batch must not create instances",
    );

    let empty = s
        .commit_batch(Vec::new())
        .await
        .expect("empty commit_batch");
    assert!(empty.is_empty(), "empty batch returned {empty:?}");
}

/// `Result<(), StoreError>` is not `Clone`; this moves the error out of a shared reference for
/// the assertion helpers.
pub(super) trait CloneErr {
    fn clone_err(&self) -> Result<(), StoreError>;
}

impl CloneErr for Result<(), StoreError> {
    fn clone_err(&self) -> Result<(), StoreError> {
        match self {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict {
                id,
                expected,
                actual,
            }) => Err(StoreError::Conflict {
                id: id.clone(),
                expected: *expected,
                actual: *actual,
            }),
            Err(StoreError::NotFound { id }) => Err(StoreError::NotFound { id: id.clone() }),
            Err(StoreError::Finished { id }) => Err(StoreError::Finished { id: id.clone() }),
            Err(StoreError::Paused { id }) => Err(StoreError::Paused { id: id.clone() }),
            Err(other) => Err(StoreError::Backend {
                detail: format!("{other:?}"),
            }),
        }
    }
}

pub(super) async fn history_gapless_and_paged<S: Store>(s: Arc<S>) {
    create(&*s, "h", Some(100)).await;
    for seq in 0..5u8 {
        commit(
            &*s,
            running("h", u64::from(seq), &[seq], Some(100), 200 + i64::from(seq)),
        )
        .await;
    }
    let all = s.history(&id("h"), None, None).await.unwrap();
    let seqs: Vec<u64> = all.iter().map(|h| h.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4, 5], "history sequence numbers");
    for entry in &all[1..] {
        let n = u8::try_from(entry.seq - 1).unwrap();
        let want = HistoryEntry {
            seq: entry.seq,
            at: Timestamp(200 + i64::from(n)),
            kind: "step".to_owned(),
            payload: vec![n],
        };
        assert_eq!(*entry, want, "history entry {}", entry.seq);
    }
    let page = |after: Option<u64>, limit: Option<usize>| {
        let s = Arc::clone(&s);
        async move {
            let limit = limit.map(|n| NonZeroUsize::new(n).unwrap());
            let h = s.history(&id("h"), after, limit).await.unwrap();
            h.iter().map(|e| e.seq).collect::<Vec<_>>()
        }
    };
    assert_eq!(page(Some(2), None).await, [3, 4, 5], "history after 2");
    assert_eq!(page(None, Some(2)).await, [0, 1], "history limit 2");
    assert_eq!(
        page(Some(2), Some(2)).await,
        [3, 4],
        "history after 2 limit 2"
    );
    assert_eq!(
        page(Some(0), None).await,
        [1, 2, 3, 4, 5],
        "history after 0"
    );
    assert_eq!(
        page(Some(5), None).await,
        Vec::<u64>::new(),
        "history after the last entry"
    );
    assert_eq!(
        page(Some(u64::MAX), None).await,
        Vec::<u64>::new(),
        "history after u64::MAX"
    );
    assert_eq!(
        page(None, Some(100)).await,
        [0, 1, 2, 3, 4, 5],
        "history limit past the end"
    );
    assert_not_found(
        s.history(&id("nope"), None, None).await,
        "nope",
        "history of an unknown id",
    );
}

pub(super) async fn set_blocked_touches_nothing_else<S: Store>(s: Arc<S>) {
    create(&*s, "a", Some(100)).await;
    commit(&*s, running("a", 0, b"s1", Some(150), 110)).await;
    let before = load(&*s, "a").await;
    let history = s.history(&id("a"), None, None).await.unwrap();

    let block = Blocked {
        kind: BlockKind::Panicked,
        reason: "boom".to_owned(),
        at: Timestamp(500),
    };
    s.set_blocked(&id("a"), Some(block.clone()))
        .await
        .expect("set_blocked");
    let blocked = load(&*s, "a").await;
    assert_eq!(blocked.blocked, Some(block), "block after set_blocked");
    assert_eq!(
        InstanceRecord {
            blocked: None,
            ..blocked
        },
        before,
        "set_blocked changed something besides the block"
    );
    assert_eq!(
        s.history(&id("a"), None, None).await.unwrap(),
        history,
        "set_blocked wrote history"
    );

    let other = Blocked {
        kind: BlockKind::CorruptState,
        reason: "bad bytes".to_owned(),
        at: Timestamp(600),
    };
    s.set_blocked(&id("a"), Some(other.clone()))
        .await
        .expect("replace block");
    assert_eq!(load(&*s, "a").await.blocked, Some(other), "replaced block");

    s.set_blocked(&id("a"), None).await.expect("clear block");
    assert_eq!(
        load(&*s, "a").await,
        before,
        "head after clearing the block"
    );
    assert_eq!(
        s.history(&id("a"), None, None).await.unwrap(),
        history,
        "history after clearing"
    );

    let missing = s.set_blocked(&id("missing"), None).await;
    assert_not_found(missing, "missing", "set_blocked of an unknown id");
}
