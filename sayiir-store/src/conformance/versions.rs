//! Versions in instance heads: the `(workflow, hash, fingerprint)` key of claims, next_due and
//! version-mismatch scans; version, fingerprint, state id and input stored by creations;
//! state ids and redefinitions written by commits (single and batched); listing by version
//! and state id.

use std::num::NonZeroUsize;
use std::sync::Arc;

use super::commits::CloneErr;
use super::signals::{assert_paused, consuming, pause, send, snapshot};
use super::{
    FP, VERSION, assert_conflict, assert_not_found, claim_ids, claim_req, commit, create,
    create_with, fingerprint, finished, hash, id, key, key_fp, list_ids, load, new_instance,
    running,
};
use crate::{
    Created, DefinitionRef, Fingerprint, InstanceRecord, InstanceSummary, ListQuery, NewInstance,
    Status, Store, Timestamp, Transition,
};

/// An instance of `workflow` under `(version, [h; 32], [f; 32])`, due at `due_at`.
pub(super) fn new_under(
    i: &str,
    workflow: &str,
    version: u32,
    h: u8,
    f: u8,
    due_at: Option<i64>,
) -> NewInstance {
    let mut new = new_instance(i, workflow, h, due_at, 100);
    new.version = version;
    new.fingerprint = fingerprint(f);
    new
}

/// The definition `(version, [h; 32], [f; 32])`.
pub(super) fn def(version: u32, h: u8, f: u8) -> DefinitionRef {
    DefinitionRef {
        version,
        hash: hash(h),
        fingerprint: fingerprint(f),
    }
}

fn redefining(t: Transition, to: DefinitionRef) -> Transition {
    t.redefine(to)
}

/// The definition an instance runs under, as loaded.
/// An instance whose hash matches a known key but whose fingerprint does not is of another
/// definition: not claimed, not counted by next_due, reported as a version mismatch.
pub(super) async fn claim_filter_by_fingerprint<S: Store>(s: Arc<S>) {
    create_with(&*s, new_under("same", "wf", VERSION, 1, FP, Some(300))).await;
    create_with(
        &*s,
        new_under("other-fp", "wf", VERSION, 1, 0x0f, Some(100)),
    )
    .await;
    let mut unknown = new_under("unknown-fp", "wf", 1, 1, 0, Some(50));
    unknown.fingerprint = Fingerprint::UNKNOWN;
    create_with(&*s, unknown).await;
    let known = [key("wf", 1)];

    assert_eq!(
        s.next_due(&known).await.unwrap(),
        Some(Timestamp(300)),
        "next_due counts only instances of the whole (workflow, hash, fingerprint) key"
    );
    let mismatches: Vec<String> = s
        .find_version_mismatches(&["wf".to_owned()], &known)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id.as_str().to_owned())
        .collect();
    assert_eq!(
        mismatches,
        ["other-fp", "unknown-fp"],
        "same hash, other fingerprint: a version mismatch"
    );
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 1000, 5000, 10, &known)).await,
        ["same"],
        "a claim compares the fingerprint too"
    );
    let other = [key_fp("wf", 1, 0x0f)];
    assert_eq!(s.next_due(&other).await.unwrap(), Some(Timestamp(100)));
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 1000, 5000, 10, &other)).await,
        ["other-fp"],
        "claim by the other fingerprint"
    );
    let none = s
        .find_version_mismatches(&["wf".to_owned()], &[key("wf", 1), key_fp("wf", 1, 0x0f)])
        .await
        .unwrap();
    assert_eq!(
        none.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["unknown-fp"],
        "Fingerprint::UNKNOWN matches no definition"
    );
}

/// Creations store version, fingerprint, state id and input; load, list and load_input return
/// them; an existing instance keeps its own.
pub(super) async fn create_stores_version_and_input<S: Store>(s: Arc<S>) {
    let mut new = new_under("a", "orders", 7, 3, 0x33, Some(100));
    new.state_id = "begin#0".to_owned();
    new.input = b"the input".to_vec();
    let created = create_with(&*s, new).await;
    assert_eq!(
        (
            created.version,
            created.definition(),
            created.state_id.as_deref()
        ),
        (7, def(7, 3, 0x33), Some("begin#0")),
        "record returned by create"
    );
    assert_eq!(load(&*s, "a").await, created, "load after create");
    assert_eq!(
        s.load_input(&id("a")).await.unwrap(),
        Some(b"the input".to_vec()),
        "load_input after create"
    );
    let listed = s.list(&ListQuery::default()).await.unwrap().instances;
    assert_eq!(
        listed,
        [InstanceSummary::from(&created)],
        "list after create"
    );

    // An empty input is stored as such, not as "no input".
    let mut empty = new_under("empty", "orders", 7, 3, 0x33, None);
    empty.input = Vec::new();
    create_with(&*s, empty).await;
    assert_eq!(s.load_input(&id("empty")).await.unwrap(), Some(Vec::new()));

    // A second create changes nothing, the input included.
    let mut again = new_under("a", "orders", 8, 4, 0x44, Some(100));
    again.input = b"other input".to_vec();
    match s.create(again).await {
        Ok(Created::Existing(r)) => assert_eq!(r, created, "second create"),
        other => panic!("second create of `a` returned {other:?}"),
    }
    assert_eq!(
        s.load_input(&id("a")).await.unwrap(),
        Some(b"the input".to_vec())
    );

    // The same through create_batch.
    let mut b = new_under("b", "orders", 9, 5, 0x55, Some(100));
    b.state_id = "start".to_owned();
    b.input = b"input of b".to_vec();
    let mut a_again = new_under("a", "orders", 9, 5, 0x55, Some(100));
    a_again.input = b"ignored".to_vec();
    let results = s.create_batch(vec![b, a_again]).await.unwrap();
    let b = match &results[0] {
        Ok(Created::New(r)) => r.clone(),
        other => panic!("create_batch of `b` returned {other:?}"),
    };
    assert_eq!(
        (b.version, b.definition(), b.state_id.as_deref()),
        (9, def(9, 5, 0x55), Some("start"))
    );
    assert_eq!(load(&*s, "b").await, b, "load after create_batch");
    assert!(
        matches!(&results[1], Ok(Created::Existing(r)) if *r == created),
        "{results:?}"
    );
    assert_eq!(
        s.load_input(&id("b")).await.unwrap(),
        Some(b"input of b".to_vec())
    );
    assert_eq!(
        s.load_input(&id("a")).await.unwrap(),
        Some(b"the input".to_vec())
    );
    assert_not_found(
        s.load_input(&id("missing")).await,
        "missing",
        "load_input of an unknown id",
    );
}

/// Every running commit writes the new state's id; a finishing one clears it; neither changes
/// the definition without `redefine`.
pub(super) async fn commit_writes_state_id<S: Store>(s: Arc<S>) {
    let created = create(&*s, "a", Some(100)).await;
    assert_eq!(created.state_id.as_deref(), Some("start"));
    commit(&*s, running("a", 0, b"s1", Some(100), 110)).await;
    let head = load(&*s, "a").await;
    assert_eq!(head.state_id.as_deref(), Some("step#1"), "state id after 1");
    assert_eq!(
        head.definition(),
        created.definition(),
        "no redefine: same definition"
    );
    commit(&*s, running("a", 1, b"s2", None, 120)).await;
    assert_eq!(load(&*s, "a").await.state_id.as_deref(), Some("step#2"));
    let stale = s.commit(running("a", 1, b"x", None, 130)).await;
    assert_conflict(stale, "a", 1, 2, "stale commit");
    assert_eq!(load(&*s, "a").await.state_id.as_deref(), Some("step#2"));
    commit(&*s, finished("a", 2, Status::Completed, b"out", 140)).await;
    let done = load(&*s, "a").await;
    assert_eq!(
        done.state_id, None,
        "a finishing commit clears the state id"
    );
    assert_eq!(done.definition(), created.definition());
    assert_eq!(
        s.load_input(&id("a")).await.unwrap(),
        Some(b"input of a".to_vec()),
        "commits keep the input"
    );
}

/// A commit with `redefine` moves the instance to that definition in the same commit; a
/// refused one changes nothing.
pub(super) async fn commit_redefine<S: Store>(s: Arc<S>) {
    let created = create(&*s, "a", Some(100)).await;
    let v3 = def(3, 2, 0x0e);
    let t = redefining(running("a", 0, b"migrated", Some(100), 110), v3);
    commit(&*s, t).await;
    let expected = InstanceRecord {
        version: 3,
        hash: hash(2),
        fingerprint: fingerprint(0x0e),
        seq: 1,
        state: Some(b"migrated".to_vec()),
        state_id: Some("step#1".to_owned()),
        updated_at: Timestamp(110),
        ..created
    };
    assert_eq!(
        load(&*s, "a").await,
        expected,
        "head after a redefining commit"
    );
    assert_eq!(s.history(&id("a"), None, None).await.unwrap().len(), 2);
    assert!(
        claim_ids(&*s, claim_req("w1", 200, 1000, 10, &[key("wf", 1)]))
            .await
            .is_empty(),
        "claimable by its old key after a redefinition"
    );
    assert_eq!(
        claim_ids(
            &*s,
            claim_req("w1", 200, 1000, 10, &[key_fp("wf", 2, 0x0e)])
        )
        .await,
        ["a"],
        "claimable by its new key"
    );

    // Refused: stale, paused, a signal that is not pending. Nothing changes.
    let before = snapshot(&*s, "a").await;
    let stale = redefining(running("a", 0, b"x", None, 120), def(4, 4, 4));
    assert_conflict(s.commit(stale).await, "a", 0, 1, "stale redefining commit");
    let bad_signal = consuming(
        redefining(running("a", 1, b"x", None, 120), def(4, 4, 4)),
        &[u64::MAX],
    );
    assert_conflict(
        s.commit(bad_signal).await,
        "a",
        1,
        1,
        "redefining commit consuming a signal that is not pending",
    );
    s.set_blocked(&id("a"), Some(pause(130))).await.unwrap();
    let paused = redefining(running("a", 1, b"x", None, 140), def(4, 4, 4));
    assert_paused(s.commit(paused).await, "a", "redefining a paused instance");
    s.set_blocked(&id("a"), None).await.unwrap();
    assert_eq!(
        snapshot(&*s, "a").await,
        before,
        "refused redefinitions changed the instance"
    );

    // A finishing commit may redefine too.
    let t = redefining(finished("a", 1, Status::Failed, b"out", 150), def(5, 6, 7));
    commit(&*s, t).await;
    let done = load(&*s, "a").await;
    assert_eq!(
        (done.definition(), done.status, done.state_id),
        (def(5, 6, 7), Status::Failed, None),
        "head after a redefining finishing commit"
    );
    assert_eq!(done.workflow, "wf", "the workflow name never changes");
}

/// A batch mixing plain transitions (with state ids) and redefining ones, accepted and
/// refused: each gets its own result and exactly the accepted ones are written.
pub(super) async fn commit_batch_versions<S: Store>(s: Arc<S>) {
    for i in [
        "plain",
        "redef",
        "redef-finish",
        "finish",
        "stale-redef",
        "twice",
    ] {
        create(&*s, i, Some(100)).await;
    }
    let mut plain_heads = Vec::new();
    for n in 0..6 {
        let i = format!("p{n}");
        plain_heads.push(create(&*s, &i, Some(100)).await);
    }
    commit(&*s, running("stale-redef", 0, b"moved", Some(100), 110)).await;
    let stale_before = snapshot(&*s, "stale-redef").await;
    let signal = send(&*s, "redef", "go", b"g", 115).await;

    let mut batch = vec![
        running("plain", 0, b"plain1", Some(300), 200),
        redefining(running("redef", 0, b"redef1", None, 200), def(3, 3, 3)),
        redefining(
            finished("redef-finish", 0, Status::Completed, b"out", 200),
            def(4, 4, 4),
        ),
        finished("finish", 0, Status::Cancelled, b"bye", 200),
        redefining(running("stale-redef", 0, b"x", None, 200), def(5, 5, 5)),
        redefining(running("twice", 0, b"t1", None, 200), def(6, 6, 6)),
        running("twice", 1, b"t2", Some(100), 200),
    ];
    for n in 0..6 {
        batch.push(running(&format!("p{n}"), 0, b"p", Some(100), 200));
    }
    let results = s.commit_batch(batch).await.expect("commit_batch");
    assert_eq!(results.len(), 13, "one result per transition");
    for (n, result) in results.iter().enumerate() {
        if n == 4 {
            assert_conflict(
                result.clone_err(),
                "stale-redef",
                0,
                1,
                "stale redefinition",
            );
        } else {
            assert!(result.is_ok(), "batch result {n}: {result:?}");
        }
    }

    let plain = load(&*s, "plain").await;
    assert_eq!(
        (plain.state_id.as_deref(), plain.definition()),
        (Some("step#1"), def(VERSION, 1, FP)),
        "plain transition in a batch"
    );
    let redef = load(&*s, "redef").await;
    assert_eq!(
        (redef.state_id.as_deref(), redef.definition(), redef.state),
        (Some("step#1"), def(3, 3, 3), Some(b"redef1".to_vec())),
        "redefining transition in a batch"
    );
    let pending: Vec<u64> = snapshot(&*s, "redef")
        .await
        .2
        .iter()
        .map(|r| r.signal_id)
        .collect();
    assert_eq!(
        pending,
        [signal],
        "a redefining transition keeps the buffered signals"
    );
    let redef_finish = load(&*s, "redef-finish").await;
    assert_eq!(
        (redef_finish.state_id.clone(), redef_finish.definition()),
        (None, def(4, 4, 4)),
        "redefining finishing transition in a batch"
    );
    let finish = load(&*s, "finish").await;
    assert_eq!(
        (finish.state_id.clone(), finish.status, finish.definition()),
        (None, Status::Cancelled, def(VERSION, 1, FP)),
        "finishing transition in a batch"
    );
    assert_eq!(
        snapshot(&*s, "stale-redef").await,
        stale_before,
        "refused redefinition changed the instance"
    );
    let twice = load(&*s, "twice").await;
    assert_eq!(
        (twice.seq, twice.state_id.as_deref(), twice.definition()),
        (2, Some("step#2"), def(6, 6, 6)),
        "redefined then stepped in one batch"
    );
    for (n, before) in plain_heads.into_iter().enumerate() {
        let i = format!("p{n}");
        let expected = InstanceRecord {
            seq: 1,
            state: Some(b"p".to_vec()),
            state_id: Some("step#1".to_owned()),
            updated_at: Timestamp(200),
            ..before
        };
        assert_eq!(load(&*s, &i).await, expected, "head of `{i}`");
    }
}

/// list filters by version and by state id, AND-ed with the other filters.
pub(super) async fn list_filters_versions<S: Store>(s: Arc<S>) {
    create_with(&*s, new_under("a", "orders", 1, 1, FP, Some(100))).await;
    create_with(&*s, new_under("b", "orders", 2, 2, FP, Some(100))).await;
    create_with(&*s, new_under("c", "mails", 2, 2, FP, Some(100))).await;
    create_with(&*s, new_under("d", "orders", 2, 2, FP, Some(100))).await;
    create_with(&*s, new_under("e", "orders", 2, 2, FP, Some(100))).await;
    commit(&*s, running("b", 0, b"b1", Some(100), 110)).await;
    commit(&*s, finished("e", 0, Status::Completed, b"out", 110)).await;
    let query = |version: Option<u32>, state_id: Option<&str>| {
        let mut q = ListQuery::new();
        q.version = version;
        q.state_id = state_id.map(str::to_owned);
        q
    };
    assert_eq!(
        list_ids(&*s, query(Some(1), None)).await,
        ["a"],
        "version 1"
    );
    assert_eq!(
        list_ids(&*s, query(Some(2), None)).await,
        ["b", "c", "d", "e"],
        "version 2"
    );
    assert!(list_ids(&*s, query(Some(3), None)).await.is_empty());
    assert_eq!(
        list_ids(&*s, query(None, Some("start"))).await,
        ["a", "c", "d"],
        "state id `start`"
    );
    assert_eq!(list_ids(&*s, query(None, Some("step#1"))).await, ["b"]);
    assert!(
        list_ids(&*s, query(None, Some(""))).await.is_empty(),
        "a finished instance has no state id"
    );
    assert_eq!(
        list_ids(&*s, query(Some(2), Some("start"))).await,
        ["c", "d"],
        "version and state id"
    );
    let q = query(Some(2), Some("start"))
        .workflow("orders")
        .status(Status::Running)
        .limit(NonZeroUsize::new(1))
        .after(id("a"));
    assert_eq!(list_ids(&*s, q).await, ["d"], "with every other filter");
}
