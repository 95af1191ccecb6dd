//! claim, renew, release, lease generations, next_due, find_version_mismatches,
//! register_worker.

use std::sync::Arc;

use super::{
    claim_ids, claim_of, claim_req, claims_of, commit, create, create_with, finished, id, key,
    load, new_instance, worker,
};
use crate::{BlockKind, Blocked, InstanceSummary, Status, Store, Timestamp};

pub(super) fn block(kind: BlockKind) -> Blocked {
    Blocked {
        kind,
        reason: format!("{kind:?}"),
        at: Timestamp(50),
    }
}

pub(super) async fn claim_due_order_limit<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    for (i, due) in [("a", 300), ("b", 100), ("c", 200), ("d", 500), ("f", 100)] {
        create(&*s, i, Some(due)).await;
    }
    create(&*s, "e-waiting", None).await;
    create(&*s, "g-finished", Some(50)).await;
    commit(
        &*s,
        finished("g-finished", 0, Status::Completed, b"out", 60),
    )
    .await;

    let claimed = s
        .claim(claim_req("w1", 400, 1000, 3, &known))
        .await
        .unwrap();
    let ids: Vec<&str> = claimed.iter().map(|c| c.record.id.as_str()).collect();
    assert_eq!(
        ids,
        ["b", "f", "c"],
        "claim orders by due time, then id, and honours the limit"
    );
    for c in &claimed {
        assert_eq!(
            c.record,
            load(&*s, c.record.id.as_str()).await,
            "claimed record is the head"
        );
        assert_eq!(c.generation, 1, "the first claim of `{}`", c.record.id);
    }
    assert_eq!(
        claim_ids(&*s, claim_req("w2", 400, 1000, 10, &known)).await,
        ["a"]
    );
    let nothing = claim_ids(&*s, claim_req("w2", 400, 1000, 10, &known)).await;
    assert!(
        nothing.is_empty(),
        "not due, waiting or finished instances were claimed: {nothing:?}"
    );
    assert_eq!(
        claim_ids(&*s, claim_req("w2", 500, 1000, 10, &known)).await,
        ["d"],
        "due == now"
    );

    create(&*s, "h", Some(0)).await;
    let zero = claim_ids(&*s, claim_req("w3", 600, 1000, 0, &known)).await;
    assert!(zero.is_empty(), "claim with limit 0 returned {zero:?}");
    assert_eq!(
        claim_ids(&*s, claim_req("w3", 600, 1000, 1, &known)).await,
        ["h"]
    );
}

pub(super) async fn claim_known_filter<S: Store>(s: Arc<S>) {
    create_with(&*s, new_instance("a", "A", 1, Some(100), 100)).await;
    create_with(&*s, new_instance("b", "A", 2, Some(100), 100)).await;
    create_with(&*s, new_instance("c", "B", 1, Some(100), 100)).await;
    let claim = |known: Vec<crate::WorkflowKey>| {
        let s = Arc::clone(&s);
        async move { claim_ids(&*s, claim_req("w", 100, 1000, 10, &known)).await }
    };
    assert!(
        claim(vec![]).await.is_empty(),
        "claim with no known versions"
    );
    assert!(
        claim(vec![key("A", 9), key("C", 1)]).await.is_empty(),
        "unknown versions"
    );
    assert!(
        claim(vec![key("B", 2)]).await.is_empty(),
        "the (workflow, hash) pair must match"
    );
    assert_eq!(claim(vec![key("A", 1)]).await, ["a"], "claim of (A, 1)");
    assert_eq!(
        claim(vec![key("B", 1), key("A", 2)]).await,
        ["b", "c"],
        "claim of two versions"
    );
}

pub(super) async fn claim_lease_exclusion<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    create(&*s, "a", Some(100)).await;
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 100, 1000, 1, &known)).await,
        ["a"]
    );
    let own = claim_ids(&*s, claim_req("w1", 500, 2000, 1, &known)).await;
    assert!(
        own.is_empty(),
        "a worker re-claimed its own live lease: {own:?}"
    );
    let early = claim_ids(&*s, claim_req("w2", 999, 2000, 1, &known)).await;
    assert!(
        early.is_empty(),
        "claimed before the lease expired: {early:?}"
    );
    let taken = claim_ids(&*s, claim_req("w2", 1000, 5000, 1, &known)).await;
    assert_eq!(taken, ["a"], "a lease expiring at `now` can be taken over");
    let lost = s
        .renew(&worker("w1"), &[claim_of("a", 1)], Timestamp(9000))
        .await
        .unwrap();
    assert_eq!(
        lost,
        [claim_of("a", 1)],
        "the previous holder's renew after a takeover"
    );
    let kept = s
        .renew(&worker("w2"), &[claim_of("a", 2)], Timestamp(6000))
        .await
        .unwrap();
    assert!(kept.is_empty(), "the new holder's renew lost {kept:?}");
    assert!(
        claim_ids(&*s, claim_req("w3", 5999, 9000, 1, &known))
            .await
            .is_empty()
    );
    assert_eq!(
        claim_ids(&*s, claim_req("w3", 6000, 9000, 1, &known)).await,
        ["a"]
    );
}

pub(super) async fn claim_blocked<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    for i in ["c-corrupt", "p-panicked", "u-free", "v-mismatch"] {
        create(&*s, i, Some(100)).await;
    }
    s.set_blocked(&id("c-corrupt"), Some(block(BlockKind::CorruptState)))
        .await
        .unwrap();
    s.set_blocked(&id("p-panicked"), Some(block(BlockKind::Panicked)))
        .await
        .unwrap();
    s.set_blocked(&id("v-mismatch"), Some(block(BlockKind::VersionMismatch)))
        .await
        .unwrap();

    let claimed = s
        .claim(claim_req("w1", 100, 1000, 10, &known))
        .await
        .unwrap();
    let ids: Vec<&str> = claimed.iter().map(|c| c.record.id.as_str()).collect();
    assert_eq!(
        ids,
        ["u-free", "v-mismatch"],
        "claim skips blocked instances except mismatches"
    );
    assert_eq!(
        claimed[1].record.blocked, None,
        "claim clears a version-mismatch block (returned record)"
    );
    assert_eq!(
        load(&*s, "v-mismatch").await.blocked,
        None,
        "claim clears a version-mismatch block"
    );
    assert_eq!(
        load(&*s, "p-panicked").await.blocked,
        Some(block(BlockKind::Panicked))
    );
    assert_eq!(
        load(&*s, "c-corrupt").await.blocked,
        Some(block(BlockKind::CorruptState))
    );
}

pub(super) async fn renew_and_release<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    create(&*s, "a", Some(100)).await;
    create(&*s, "b", Some(100)).await;
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 100, 1000, 10, &known)).await,
        ["a", "b"]
    );

    let mut lost = s
        .renew(
            &worker("w1"),
            &claims_of(&["a", "b", "missing"], 1),
            Timestamp(2000),
        )
        .await
        .unwrap();
    lost.sort();
    assert_eq!(
        lost,
        [claim_of("missing", 1)],
        "renew returns the claims whose lease the owner does not hold"
    );
    let lost = s
        .renew(&worker("w2"), &[claim_of("a", 1)], Timestamp(3000))
        .await
        .unwrap();
    assert_eq!(
        lost,
        [claim_of("a", 1)],
        "renew by a worker that does not hold the lease"
    );
    assert!(
        s.renew(&worker("w1"), &[], Timestamp(3000))
            .await
            .unwrap()
            .is_empty()
    );
    let early = claim_ids(&*s, claim_req("w3", 1500, 5000, 10, &known)).await;
    assert!(early.is_empty(), "renewed leases were claimed: {early:?}");

    s.release(&worker("w2"), &[claim_of("a", 1)]).await.unwrap();
    let after = claim_ids(&*s, claim_req("w3", 1500, 5000, 10, &known)).await;
    assert!(
        after.is_empty(),
        "a release by a non-holder freed {after:?}"
    );
    s.release(&worker("w1"), &claims_of(&["a", "missing"], 1))
        .await
        .unwrap();
    s.release(&worker("w1"), &[]).await.unwrap();
    let freed = claim_ids(&*s, claim_req("w3", 1500, 5000, 10, &known)).await;
    assert_eq!(
        freed,
        ["a"],
        "a release by the holder frees the instance at once"
    );
    let lost = s
        .renew(&worker("w1"), &claims_of(&["a", "b"], 1), Timestamp(4000))
        .await
        .unwrap();
    assert_eq!(
        lost,
        [claim_of("a", 1)],
        "w1 released `a` and still holds `b`"
    );
}

pub(super) async fn next_due<S: Store>(s: Arc<S>) {
    let a1 = key("wf", 1);
    assert_eq!(
        s.next_due(std::slice::from_ref(&a1)).await.unwrap(),
        None,
        "next_due of an empty store"
    );
    create(&*s, "a", Some(500)).await;
    create(&*s, "b", Some(300)).await;
    create_with(&*s, new_instance("x-other", "other", 1, Some(100), 100)).await;
    create(&*s, "p-panicked", Some(50)).await;
    s.set_blocked(&id("p-panicked"), Some(block(BlockKind::Panicked)))
        .await
        .unwrap();
    create(&*s, "v-mismatch", Some(200)).await;
    s.set_blocked(&id("v-mismatch"), Some(block(BlockKind::VersionMismatch)))
        .await
        .unwrap();
    create(&*s, "w-waiting", None).await;
    create(&*s, "f-finished", Some(10)).await;
    commit(
        &*s,
        finished("f-finished", 0, Status::Completed, b"out", 20),
    )
    .await;

    let due = |known: Vec<crate::WorkflowKey>| {
        let s = Arc::clone(&s);
        async move { s.next_due(&known).await.unwrap() }
    };
    assert_eq!(due(vec![]).await, None, "next_due with no known versions");
    assert_eq!(
        due(vec![a1.clone()]).await,
        Some(Timestamp(200)),
        "next_due skips other versions, blocked (except mismatched), waiting and finished ones"
    );
    assert_eq!(
        due(vec![a1.clone(), key("other", 1)]).await,
        Some(Timestamp(100))
    );

    // A leased instance counts from its lease expiry when that is later than its due time.
    assert_eq!(
        claim_ids(
            &*s,
            claim_req("w1", 200, 1000, 1, std::slice::from_ref(&a1))
        )
        .await,
        ["v-mismatch"]
    );
    assert_eq!(
        due(vec![a1.clone()]).await,
        Some(Timestamp(300)),
        "next_due with v leased"
    );
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 300, 400, 1, std::slice::from_ref(&a1))).await,
        ["b"]
    );
    assert_eq!(
        due(vec![a1.clone()]).await,
        Some(Timestamp(400)),
        "next_due with b leased to 400"
    );
    s.release(&worker("w1"), &[claim_of("b", 1)]).await.unwrap();
    assert_eq!(
        due(vec![a1.clone()]).await,
        Some(Timestamp(300)),
        "next_due after release"
    );
}

pub(super) async fn find_version_mismatches<S: Store>(s: Arc<S>) {
    let make = |i: &'static str, wf: &'static str, h: u8| {
        let s = Arc::clone(&s);
        async move { create_with(&*s, new_instance(i, wf, h, Some(100), 100)).await }
    };
    make("a", "A", 1).await;
    make("b", "A", 2).await;
    make("c", "A", 3).await;
    s.set_blocked(&id("c"), Some(block(BlockKind::Panicked)))
        .await
        .unwrap();
    make("d", "A", 2).await;
    s.set_blocked(&id("d"), Some(block(BlockKind::VersionMismatch)))
        .await
        .unwrap();
    make("e", "B", 9).await;
    make("f", "A", 2).await;
    commit(&*s, finished("f", 0, Status::Completed, b"out", 110)).await;
    make("g", "A", 4).await;
    make("aa", "A", 4).await;

    let find = |served: &[&str], known: Vec<crate::WorkflowKey>| {
        let served: Vec<String> = served.iter().map(|s| (*s).to_owned()).collect();
        let s = Arc::clone(&s);
        async move {
            let found = s.find_version_mismatches(&served, &known).await.unwrap();
            for summary in &found {
                let head = s.load(&summary.id).await.unwrap();
                assert_eq!(
                    *summary,
                    InstanceSummary::from(&head),
                    "summary of `{}`",
                    summary.id
                );
            }
            found
                .iter()
                .map(|r| r.id.as_str().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        find(&["A"], vec![key("A", 1)]).await,
        ["aa", "b", "g"],
        "served A, known (A, 1)"
    );
    assert_eq!(
        find(&["A", "B"], vec![key("A", 1)]).await,
        ["aa", "b", "e", "g"]
    );
    let none = find(&["A"], vec![key("A", 1), key("A", 2), key("A", 4)]).await;
    assert!(
        none.is_empty(),
        "every served version is known, yet found {none:?}"
    );
    assert!(
        find(&[], vec![key("A", 1)]).await.is_empty(),
        "nothing served"
    );
    assert_eq!(
        find(&["A"], vec![]).await,
        ["a", "aa", "b", "g"],
        "served A, nothing known"
    );
    assert!(
        find(&["C"], vec![]).await.is_empty(),
        "served name without instances"
    );
}

pub(super) async fn register_unregister<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    s.register_worker(&worker("w1"))
        .await
        .expect("register_worker");
    s.register_worker(&worker("w1"))
        .await
        .expect("register_worker twice (idempotent)");
    create(&*s, "a", Some(100)).await;
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 100, 1000, 1, &known)).await,
        ["a"]
    );
    assert!(
        claim_ids(&*s, claim_req("w2", 500, 1000, 1, &known))
            .await
            .is_empty()
    );
    s.unregister_worker(&worker("w1"))
        .await
        .expect("unregister_worker");
    let freed = claim_ids(&*s, claim_req("w2", 500, 1000, 1, &known)).await;
    assert_eq!(
        freed,
        ["a"],
        "unregister_worker releases the owner's leases"
    );
    s.register_worker(&worker("w1"))
        .await
        .expect("register_worker after unregister");
    s.unregister_worker(&worker("w1"))
        .await
        .expect("unregister_worker again");
}
