//! The store side of operators' tools: blocks set or cleared by commits, the lease in the
//! head, claims that take operators' requests, update_block, backlog.

use std::sync::Arc;

use super::leases::block;
use super::signals::assert_paused;
use super::{
    assert_conflict, assert_finished, assert_not_found, claim_ids, claim_of, claim_req, commit,
    create, create_with, finished, id, key, lease, load, new_instance, running, worker,
};
use crate::{
    Backlog, BlockChange, BlockKind, BlockWrite, Blocked, Created, InstanceRecord, LeaseHolder,
    Status, Store, StoreError, Timestamp,
};

/// A block of `kind` set at `at`, its reason naming both.
fn block_at(kind: BlockKind, at: i64) -> Blocked {
    Blocked {
        kind,
        reason: format!("{kind} at {at}"),
        at: Timestamp(at),
    }
}

/// The lease `owner` holds until `until` by its claim of generation `generation`.
fn holder(owner: &str, until: i64, generation: u64) -> Option<LeaseHolder> {
    Some(LeaseHolder {
        owner: worker(owner),
        until: Timestamp(until),
        generation,
    })
}

/// Applies `change`, which must succeed.
async fn change_ok<S: Store>(s: &S, change: BlockChange) {
    let what = format!("{change:?}");
    if let Err(e) = s.update_block(change).await {
        panic!("update_block {what} failed: {e:?}");
    }
}

/// Asserts that `result` is `Err(StoreError::BlockState)` for `i` with `actual`, and that its
/// message says what the block is.
fn assert_block_state(result: Result<(), StoreError>, i: &str, actual: Option<BlockKind>) {
    match result {
        Err(e @ StoreError::BlockState { .. }) => {
            let StoreError::BlockState { id: got, actual: a } = &e else {
                unreachable!()
            };
            assert_eq!((got.as_str(), *a), (i, actual), "BlockState fields");
            assert!(!e.is_retryable(), "BlockState is not retryable");
            let said = match actual {
                Some(kind) => format!("instance `{i}` is blocked ({kind}), which does not allow"),
                None => format!("instance `{i}` is not blocked, which does not allow"),
            };
            assert!(e.to_string().starts_with(&said), "message: {e}");
        }
        other => panic!("got {other:?}, expected BlockState {{ id: {i:?}, actual: {actual:?} }}"),
    }
}

pub(super) async fn commits_set_and_clear_blocks<S: Store>(s: Arc<S>) {
    for i in ["a", "b", "p", "q", "g"] {
        create(&*s, i, Some(100)).await;
    }
    let parked = block_at(BlockKind::Parked, 150);

    // Set, kept by a transition that says nothing, cleared.
    let t = running("a", 0, b"a1", Some(200), 150).block(BlockWrite::Set(parked.clone()));
    commit(&*s, t).await;
    let head = load(&*s, "a").await;
    assert_eq!(
        (head.seq, head.blocked.clone(), head.due_at),
        (1, Some(parked.clone()), Some(Timestamp(200))),
        "a running transition that sets a block writes it with the rest"
    );
    commit(&*s, running("a", 1, b"a2", Some(200), 160)).await;
    assert_eq!(
        load(&*s, "a").await.blocked,
        Some(parked.clone()),
        "a transition that keeps the block (the default) leaves it"
    );
    commit(
        &*s,
        running("a", 2, b"a3", Some(200), 170).block(BlockWrite::Clear),
    )
    .await;
    let head = load(&*s, "a").await;
    assert_eq!(
        (head.seq, head.blocked),
        (3, None),
        "cleared by a transition"
    );

    // A finishing transition may set a block too.
    let t = finished("b", 0, Status::Failed, b"err", 150)
        .block(BlockWrite::Set(block_at(BlockKind::Parked, 150)));
    commit(&*s, t).await;
    let head = load(&*s, "b").await;
    assert_eq!(
        (head.status, head.blocked),
        (Status::Failed, Some(block_at(BlockKind::Parked, 150)))
    );

    // Paused: clearing the block does not lift the rule; finishing does, and clears it.
    s.set_blocked(&id("p"), Some(block_at(BlockKind::Paused, 120)))
        .await
        .unwrap();
    let t = running("p", 0, b"p1", Some(200), 150).block(BlockWrite::Clear);
    assert_paused(
        s.commit(t).await,
        "p",
        "a clearing transition of a paused instance",
    );
    let head = load(&*s, "p").await;
    assert_eq!(
        (head.seq, head.blocked),
        (0, Some(block_at(BlockKind::Paused, 120))),
        "a refused transition writes no block"
    );
    let t = finished("p", 0, Status::Cancelled, b"c", 160).block(BlockWrite::Clear);
    commit(&*s, t).await;
    assert_eq!(load(&*s, "p").await.blocked, None, "finished and cleared");

    // A refused transition (conflict) writes no block.
    let t = running("g", 5, b"g1", Some(200), 150).block(BlockWrite::Set(parked.clone()));
    assert_conflict(
        s.commit(t).await,
        "g",
        5,
        0,
        "stale transition that sets a block",
    );
    assert_eq!(load(&*s, "g").await.blocked, None);
    let t = finished("g", 0, Status::Completed, b"o", 150);
    commit(&*s, t).await;
    let t = running("g", 1, b"g1", Some(200), 150).block(BlockWrite::Clear);
    assert_finished(s.commit(t).await, "g", "a finished instance");

    // Setting a block on a blocked instance replaces it.
    s.set_blocked(&id("q"), Some(block_at(BlockKind::Panicked, 110)))
        .await
        .unwrap();
    let t = running("q", 0, b"q1", None, 150).block(BlockWrite::Set(parked.clone()));
    commit(&*s, t).await;
    assert_eq!(load(&*s, "q").await.blocked, Some(parked));
}

pub(super) async fn commit_batch_sets_and_clears_blocks<S: Store>(s: Arc<S>) {
    // Enough plain transitions around them that a backend writing the common ones together
    // (PostgreSQL) has a bulk part.
    let plain: Vec<String> = (0..40).map(|i| format!("plain-{i:02}")).collect();
    for i in plain
        .iter()
        .map(String::as_str)
        .chain(["set", "clear", "keep", "twice"])
    {
        create(&*s, i, Some(100)).await;
    }
    for i in ["clear", "keep"] {
        s.set_blocked(&id(i), Some(block_at(BlockKind::Panicked, 110)))
            .await
            .unwrap();
    }
    let parked = block_at(BlockKind::Parked, 150);
    let paused = block_at(BlockKind::Paused, 150);
    let mut batch: Vec<_> = plain
        .iter()
        .map(|i| running(i, 0, b"p1", Some(200), 150))
        .collect();
    batch.insert(
        10,
        running("set", 0, b"s1", Some(200), 150).block(BlockWrite::Set(parked.clone())),
    );
    batch.insert(
        20,
        running("clear", 0, b"c1", Some(200), 150).block(BlockWrite::Clear),
    );
    batch.insert(30, running("keep", 0, b"k1", Some(200), 150));
    // The first pauses the instance, so the second (same instance) is refused.
    batch.push(running("twice", 0, b"t1", Some(200), 150).block(BlockWrite::Set(paused.clone())));
    batch.push(running("twice", 1, b"t2", Some(200), 150));
    let n = batch.len();
    let results = s.commit_batch(batch).await.expect("commit_batch");
    assert_eq!(results.len(), n);
    for (k, r) in results.iter().enumerate().take(n - 1) {
        assert!(r.is_ok(), "result {k}: {r:?}");
    }
    let last = results.last().cloned().expect("a result");
    assert_paused(last, "twice", "second transition after one that paused");

    let heads: Vec<(String, u64, Option<Blocked>)> = {
        let mut out = Vec::new();
        for i in ["set", "clear", "keep", "twice", "plain-00", "plain-39"] {
            let h = load(&*s, i).await;
            out.push((i.to_owned(), h.seq, h.blocked));
        }
        out
    };
    assert_eq!(
        heads,
        [
            ("set".to_owned(), 1, Some(parked)),
            ("clear".to_owned(), 1, None),
            (
                "keep".to_owned(),
                1,
                Some(block_at(BlockKind::Panicked, 110))
            ),
            ("twice".to_owned(), 1, Some(paused)),
            ("plain-00".to_owned(), 1, None),
            ("plain-39".to_owned(), 1, None),
        ],
        "heads after the batch: (id, seq, block)"
    );
}

pub(super) async fn heads_carry_leases<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    create(&*s, "a", Some(100)).await;
    assert_eq!(
        load(&*s, "a").await.lease,
        None,
        "a new instance has no lease"
    );

    let claimed = s
        .claim(claim_req("w1", 100, 1000, 1, &known))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        claimed[0].record.lease,
        holder("w1", 1000, 1),
        "the record a claim returns carries its lease"
    );
    assert_eq!(
        claimed[0].record,
        load(&*s, "a").await,
        "and so does the head"
    );
    let exists = s.create(new_instance("a", "wf", 1, Some(100), 100)).await;
    match exists {
        Ok(Created::Existing(r)) => assert_eq!(r.lease, holder("w1", 1000, 1), "Existing"),
        other => panic!("create of an existing instance: {other:?}"),
    }

    s.renew(&worker("w1"), &[claim_of("a", 1)], Timestamp(2000))
        .await
        .unwrap();
    assert_eq!(load(&*s, "a").await.lease, holder("w1", 2000, 1), "renewed");
    // Expired at 2000, and still reported as it is; taken over by another claim.
    assert_eq!(
        claim_ids(&*s, claim_req("w2", 2000, 3000, 1, &known)).await,
        ["a"]
    );
    assert_eq!(
        load(&*s, "a").await.lease,
        holder("w2", 3000, 2),
        "taken over"
    );

    // Released by a commit naming it.
    let t = running("a", 0, b"a1", Some(3000), 2500).release_lease(lease("w2", 2));
    commit(&*s, t).await;
    assert_eq!(load(&*s, "a").await.lease, None, "released by a commit");
    // Kept by a commit that does not name it.
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 3000, 4000, 1, &known)).await,
        ["a"]
    );
    commit(&*s, running("a", 1, b"a2", Some(3000), 3100)).await;
    assert_eq!(load(&*s, "a").await.lease, holder("w1", 4000, 3), "kept");
    s.release(&worker("w1"), &[claim_of("a", 3)]).await.unwrap();
    assert_eq!(load(&*s, "a").await.lease, None, "released");

    assert_eq!(
        claim_ids(&*s, claim_req("w1", 3000, 5000, 1, &known)).await,
        ["a"]
    );
    assert_eq!(load(&*s, "a").await.lease, holder("w1", 5000, 4));
    s.unregister_worker(&worker("w1")).await.unwrap();
    assert_eq!(load(&*s, "a").await.lease, None, "unregistered");

    assert_eq!(
        claim_ids(&*s, claim_req("w1", 3000, 6000, 1, &known)).await,
        ["a"]
    );
    commit(&*s, finished("a", 2, Status::Completed, b"o", 3200)).await;
    let head = load(&*s, "a").await;
    assert_eq!(head.lease, None, "a finished instance holds no lease");
    let listed = s.list(&crate::ListQuery::new()).await.unwrap().instances;
    assert_eq!(listed, [crate::InstanceSummary::from(&head)]);
}

pub(super) async fn claims_take_requests<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    for (i, due, kind) in [
        ("p-parked", 50, Some(BlockKind::Parked)),
        ("u-paused", 60, Some(BlockKind::Paused)),
        ("r-retry", 100, Some(BlockKind::RetryRequested)),
        ("f-fail", 100, Some(BlockKind::FailRequested)),
        ("n-none", 200, None),
        ("x-later", 1500, Some(BlockKind::RetryRequested)),
    ] {
        create(&*s, i, Some(due)).await;
        if let Some(kind) = kind {
            s.set_blocked(&id(i), Some(block(kind))).await.unwrap();
        }
    }
    assert_eq!(
        s.next_due(&known).await.unwrap(),
        Some(Timestamp(100)),
        "next_due counts requests, not other blocks"
    );
    // Requests are not version mismatches to report.
    create_with(&*s, new_instance("m-retry", "wf", 2, Some(100), 100)).await;
    s.set_blocked(&id("m-retry"), Some(block(BlockKind::RetryRequested)))
        .await
        .unwrap();
    let found = s
        .find_version_mismatches(&["wf".to_owned()], &known)
        .await
        .unwrap();
    assert!(
        found.is_empty(),
        "blocked instances are not reported: {found:?}"
    );

    let claimed = s
        .claim(claim_req("w1", 300, 1000, 10, &known))
        .await
        .unwrap();
    let got: Vec<(&str, Option<BlockKind>)> = claimed
        .iter()
        .map(|c| {
            (
                c.record.id.as_str(),
                c.record.blocked.as_ref().map(|b| b.kind),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("f-fail", Some(BlockKind::FailRequested)),
            ("r-retry", Some(BlockKind::RetryRequested)),
            ("n-none", None),
        ],
        "claims take requests like unblocked instances and keep them in the record"
    );
    for c in &claimed {
        assert_eq!(
            c.record,
            load(&*s, c.record.id.as_str()).await,
            "the claimed record is the head (the request kept in the row)"
        );
    }
    assert_eq!(
        load(&*s, "r-retry").await.blocked,
        Some(block(BlockKind::RetryRequested))
    );

    // Same lease rule as any claim: not while another claim's lease lives.
    s.set_blocked(&id("n-none"), Some(block(BlockKind::RetryRequested)))
        .await
        .unwrap();
    assert!(
        claim_ids(&*s, claim_req("w2", 999, 2000, 10, &known))
            .await
            .is_empty(),
        "a leased instance with a request"
    );
    assert_eq!(
        claim_ids(&*s, claim_req("w2", 1000, 2000, 10, &known)).await,
        ["f-fail", "r-retry", "n-none"],
        "taken over once the leases expired"
    );
    assert_eq!(
        claim_ids(&*s, claim_req("w3", 2000, 3000, 10, &known)).await,
        ["f-fail", "r-retry", "n-none", "x-later"],
        "and due"
    );
    for i in ["p-parked", "u-paused"] {
        assert_eq!(load(&*s, i).await.lease, None, "`{i}` was never claimed");
    }
    // The worker's first commit performs the request and clears it.
    let t = running("r-retry", 0, b"r1", Some(2000), 2100)
        .release_lease(lease("w3", 3))
        .block(BlockWrite::Clear);
    commit(&*s, t).await;
    let head = load(&*s, "r-retry").await;
    assert_eq!((head.blocked, head.lease), (None, None));
}

pub(super) async fn update_block_compare_and_set<S: Store>(s: Arc<S>) {
    let parked = block_at(BlockKind::Parked, 150);
    let retry = block_at(BlockKind::RetryRequested, 160);
    let change = |i: &str, from: Vec<Option<BlockKind>>, to: Option<Blocked>, now: i64| {
        BlockChange::new(id(i), from, to, Timestamp(now))
    };
    assert_not_found(
        s.update_block(change("ghost", vec![None], Some(parked.clone()), 150))
            .await,
        "ghost",
        "update_block of an unknown id",
    );
    create(&*s, "done", Some(100)).await;
    commit(&*s, finished("done", 0, Status::Failed, b"e", 110)).await;
    assert_finished(
        s.update_block(change("done", vec![None], Some(parked.clone()), 150))
            .await,
        "done",
        "update_block of a finished instance",
    );

    create(&*s, "a", Some(100)).await;
    commit(&*s, running("a", 0, b"a1", Some(300), 120)).await;
    let before = load(&*s, "a").await;
    let history = s.history(&id("a"), None, None).await.unwrap();
    assert_block_state(
        s.update_block(change(
            "a",
            vec![Some(BlockKind::Parked)],
            Some(retry.clone()),
            150,
        ))
        .await,
        "a",
        None,
    );
    change_ok(&*s, change("a", vec![None], Some(parked.clone()), 150)).await;
    let head = load(&*s, "a").await;
    assert_eq!(
        head,
        InstanceRecord {
            blocked: Some(parked.clone()),
            ..before.clone()
        },
        "only the block changed (not the state, the sequence number, the due time)"
    );
    assert_eq!(s.history(&id("a"), None, None).await.unwrap(), history);
    assert_block_state(
        s.update_block(change(
            "a",
            vec![None, Some(BlockKind::Panicked)],
            None,
            150,
        ))
        .await,
        "a",
        Some(BlockKind::Parked),
    );

    // Woken: due now (earlier than its due time).
    let to_retry = change(
        "a",
        vec![Some(BlockKind::Parked), Some(BlockKind::Panicked)],
        Some(retry.clone()),
        160,
    )
    .wake(true);
    change_ok(&*s, to_retry).await;
    let head = load(&*s, "a").await;
    assert_eq!(
        (head.blocked.clone(), head.due_at, head.seq),
        (Some(retry.clone()), Some(Timestamp(160)), 1),
        "a woken change makes it due now"
    );
    assert_block_state(
        s.update_block(change("a", vec![Some(BlockKind::Parked)], None, 170))
            .await,
        "a",
        Some(BlockKind::RetryRequested),
    );
    // Woken again later: an earlier due time is kept.
    change_ok(
        &*s,
        change("a", vec![Some(BlockKind::RetryRequested)], None, 400).wake(true),
    )
    .await;
    let head = load(&*s, "a").await;
    assert_eq!((head.blocked, head.due_at), (None, Some(Timestamp(160))));

    // Without a due time: woken to `now`; not woken: left without one.
    create(&*s, "w", None).await;
    change_ok(&*s, change("w", vec![None], Some(parked.clone()), 150)).await;
    assert_eq!(load(&*s, "w").await.due_at, None, "not woken");
    change_ok(
        &*s,
        change("w", vec![Some(BlockKind::Parked)], Some(retry.clone()), 170).wake(true),
    )
    .await;
    assert_eq!(load(&*s, "w").await.due_at, Some(Timestamp(170)), "woken");

    // The lease stays as it is; a paused instance resumes.
    create(&*s, "l", Some(100)).await;
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 100, 1000, 10, &[key("wf", 1)])).await,
        ["l"]
    );
    s.set_blocked(&id("l"), Some(block_at(BlockKind::Paused, 120)))
        .await
        .unwrap();
    change_ok(&*s, change("l", vec![Some(BlockKind::Paused)], None, 130)).await;
    let head = load(&*s, "l").await;
    assert_eq!((head.blocked, head.lease), (None, holder("w1", 1000, 1)));
}

pub(super) async fn backlog_counts_due_unclaimed<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    assert_eq!(s.backlog(Timestamp(250)).await.unwrap(), Backlog::default());
    for (i, due) in [
        ("a", Some(100)),
        ("b", Some(200)),
        ("c-future", Some(300)),
        ("d-parked", Some(50)),
        ("e-retry", Some(80)),
        ("f-mismatch", Some(90)),
        ("g-leased", Some(70)),
        ("h-expired", Some(60)),
        ("i-done", Some(10)),
        ("j-waiting", None),
        ("k-paused", Some(40)),
    ] {
        create(&*s, i, due).await;
    }
    for (i, kind) in [
        ("d-parked", BlockKind::Parked),
        ("e-retry", BlockKind::RetryRequested),
        ("f-mismatch", BlockKind::VersionMismatch),
        ("k-paused", BlockKind::Paused),
    ] {
        s.set_blocked(&id(i), Some(block(kind))).await.unwrap();
    }
    commit(&*s, finished("i-done", 0, Status::Completed, b"o", 20)).await;
    // Claimed at 60: `h-expired` (due 60) until 200, `g-leased` (due 70) until 900.
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 60, 200, 10, &known)).await,
        ["h-expired"]
    );
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 70, 900, 1, &known)).await,
        ["g-leased"]
    );
    assert_eq!(
        s.backlog(Timestamp(250)).await.unwrap(),
        backlog(4, Some(60)),
        "due at 250 and unclaimed: a, b, e-retry, h-expired"
    );
    assert_eq!(
        s.backlog(Timestamp(100)).await.unwrap(),
        backlog(2, Some(80)),
        "due at 100 and unclaimed: a, e-retry (h-expired's lease lives)"
    );
    assert_eq!(
        s.backlog(Timestamp(59)).await.unwrap(),
        backlog(0, None),
        "needing attention, due or not: d-parked, f-mismatch; parked: d-parked"
    );
}

/// The backlog `backlog_counts_due_unclaimed` expects: `due` due from `oldest`, and always two
/// needing attention (`d-parked`, `f-mismatch`), one of them parked.
fn backlog(due: u64, oldest: Option<i64>) -> Backlog {
    Backlog {
        due,
        oldest_due: oldest.map(Timestamp),
        needs_attention: 2,
        parked: 1,
    }
}
