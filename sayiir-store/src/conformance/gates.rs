//! Admission gates: an instance with gates is admitted at creation while every gate has room
//! (else it waits, blocked and not claimable); a finishing write (completed, failed,
//! cancelled, alone or in a batch) gives its slot back and admits the earliest waiters that
//! fit, skipping one whose other gate is full; a cancelled waiter leaves the queue; a
//! restarted finished instance queues again; the limit is the last one asked; concurrent
//! creators and finishers never over-admit.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::restarts::restart;
use super::{
    DefinitionRef, FP, VERSION, claim_ids, claim_req, commit, fingerprint, finished, hash, id, key,
    load, new_instance,
};
use crate::{
    BlockKind, Created, GateRequest, LimitUsage, NewInstance, NewSignal, Status, Store, Timestamp,
};

const WF: &str = "workflow:wf";

/// A new instance `i` of `wf` (due at 100, created at `now`) with these gates and key.
pub(super) fn gated(i: &str, now: i64, gates: &[(&str, u32)], key: Option<&str>) -> NewInstance {
    new_instance(i, "wf", 1, Some(100), now)
        .gates(
            gates
                .iter()
                .map(|(k, l)| GateRequest::new(*k, *l))
                .collect(),
        )
        .concurrency_key(key.map(str::to_owned))
}

async fn create<S: Store>(s: &S, new: NewInstance) -> bool {
    let i = new.id.clone();
    match s.create(new).await {
        Ok(Created::New(r)) => {
            let head = s.load(&i).await.unwrap();
            assert_eq!(r.blocked, head.blocked, "returned record of `{i}` = head");
            admitted(&head)
        }
        other => panic!("create of `{i}`: {other:?}"),
    }
}

fn admitted(r: &crate::InstanceRecord) -> bool {
    match &r.blocked {
        None => true,
        Some(b) if b.kind == BlockKind::AwaitingAdmission => false,
        Some(b) => panic!("`{}` blocked by {b:?}", r.id),
    }
}

async fn is_admitted<S: Store>(s: &S, i: &str) -> bool {
    admitted(&load(s, i).await)
}

async fn waiting<S: Store>(s: &S, ids: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for i in ids {
        let r = load(s, i).await;
        if r.status == Status::Running && !admitted(&r) {
            out.push((*i).to_owned());
        }
    }
    out
}

fn usage(key: &str, limit: u32, in_use: u64, waiting: u64) -> LimitUsage {
    LimitUsage {
        key: key.to_owned(),
        limit,
        in_use,
        waiting,
    }
}

async fn gate_usage<S: Store>(s: &S) -> Vec<LimitUsage> {
    s.limit_usage(Timestamp(1000))
        .await
        .unwrap()
        .into_iter()
        .filter(|u| !u.key.starts_with("task:"))
        .collect()
}

/// Up to the limit at creation; waiters are not claimable (not even when signalled); each
/// finish (completed, failed, cancelled; alone or in a batch) admits the earliest waiter.
pub(super) async fn gates_admit_up_to_the_limit_in_order<S: Store>(s: Arc<S>) {
    let ids = ["a", "b", "c", "d", "e"];
    for (n, i) in ids.iter().enumerate() {
        let expect = n < 2;
        assert_eq!(
            create(&*s, gated(i, 100 + n as i64, &[(WF, 2)], None)).await,
            expect,
            "`{i}` admitted at creation"
        );
    }
    assert_eq!(gate_usage(&*s).await, [usage(WF, 2, 2, 3)]);
    s.send_signal(NewSignal {
        id: id("c"),
        name: "go".into(),
        payload: vec![],
        now: Timestamp(150),
    })
    .await
    .unwrap();
    let got = claim_ids(&*s, claim_req("w1", 200, 900, 10, &[key("wf", 1)])).await;
    assert_eq!(got, ["a", "b"], "only admitted instances are claimed");
    assert_eq!(
        s.next_due(&[key("wf", 1)]).await.unwrap(),
        Some(Timestamp(900))
    );

    commit(&*s, finished("a", 0, Status::Completed, b"ok", 300)).await;
    assert_eq!(waiting(&*s, &ids).await, ["d", "e"], "a's slot went to c");
    let r = load(&*s, "c").await;
    assert!(r.due_at.is_some_and(|d| d.0 <= 300), "c is due: {r:?}");
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 310, 900, 10, &[key("wf", 1)])).await,
        ["c"]
    );
    // A failure, in a batch with a running commit of another instance.
    let results = s
        .commit_batch(vec![
            finished("b", 0, Status::Failed, b"err", 400),
            super::running("c", 0, b"s", Some(500), 400),
        ])
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(waiting(&*s, &ids).await, ["e"], "b's slot went to d");
    commit(&*s, finished("c", 1, Status::Cancelled, b"x", 500)).await;
    assert_eq!(waiting(&*s, &ids).await, Vec::<String>::new());
    assert!(is_admitted(&*s, "e").await);
    assert_eq!(gate_usage(&*s).await, [usage(WF, 2, 2, 0)]);
    commit(&*s, finished("d", 0, Status::Completed, b"ok", 600)).await;
    commit(&*s, finished("e", 0, Status::Completed, b"ok", 600)).await;
    assert_eq!(gate_usage(&*s).await, [usage(WF, 2, 0, 0)]);
}

/// A waiter whose other gate is full is skipped; it goes first once its gates have room.
pub(super) async fn gates_skip_a_waiter_whose_other_gate_is_full<S: Store>(s: Arc<S>) {
    let g = |k: &'static str| [(WF, 2), (k, 1)];
    assert!(create(&*s, gated("a1", 100, &g("key:A"), Some("A"))).await);
    assert!(
        !create(&*s, gated("a2", 101, &g("key:A"), Some("A"))).await,
        "key A is full"
    );
    assert!(
        create(&*s, gated("b1", 102, &g("key:B"), Some("B"))).await,
        "key A's backlog does not block B"
    );
    assert!(
        !create(&*s, gated("c1", 103, &g("key:C"), Some("C"))).await,
        "the workflow gate is full"
    );
    assert_eq!(load(&*s, "a2").await.concurrency_key.as_deref(), Some("A"));
    assert_eq!(
        gate_usage(&*s).await,
        [
            usage("key:A", 1, 1, 1),
            usage("key:B", 1, 1, 0),
            usage("key:C", 1, 0, 1),
            usage(WF, 2, 2, 2),
        ]
    );
    commit(&*s, finished("b1", 0, Status::Completed, b"ok", 200)).await;
    assert_eq!(
        waiting(&*s, &["a1", "a2", "b1", "c1"]).await,
        ["a2"],
        "a2 (earlier, key A full) is skipped, c1 is admitted"
    );
    commit(&*s, finished("a1", 0, Status::Completed, b"ok", 300)).await;
    assert!(is_admitted(&*s, "a2").await, "a2 goes once key A has room");
    assert_eq!(
        gate_usage(&*s).await,
        [
            usage("key:A", 1, 1, 0),
            usage("key:B", 1, 0, 0),
            usage("key:C", 1, 1, 0),
            usage(WF, 2, 2, 0),
        ]
    );
}

/// A cancelled waiter leaves the queue (and its block); the limit is the last one asked,
/// and a raised limit admits the earlier waiters first.
pub(super) async fn gates_cancelled_waiter_and_last_limit<S: Store>(s: Arc<S>) {
    assert!(create(&*s, gated("a", 100, &[(WF, 1)], None)).await);
    for (n, i) in ["b", "c", "d"].iter().enumerate() {
        assert!(!create(&*s, gated(i, 101 + n as i64, &[(WF, 1)], None)).await);
    }
    commit(&*s, finished("b", 0, Status::Cancelled, b"x", 200)).await;
    let b = load(&*s, "b").await;
    assert_eq!(
        (b.status, b.blocked),
        (Status::Cancelled, None),
        "a finished waiter is not blocked"
    );
    assert_eq!(gate_usage(&*s).await, [usage(WF, 1, 1, 2)]);
    // Raised to 3 by a new instance: c and d (earlier) are admitted, e waits.
    assert!(!create(&*s, gated("e", 300, &[(WF, 3)], None)).await);
    assert_eq!(waiting(&*s, &["a", "b", "c", "d", "e"]).await, ["e"]);
    assert_eq!(gate_usage(&*s).await, [usage(WF, 3, 3, 1)]);
    commit(&*s, finished("a", 0, Status::Completed, b"ok", 400)).await;
    assert!(is_admitted(&*s, "e").await);
    // Lowered to 1: nobody loses a slot, nobody new gets one until below it.
    assert!(!create(&*s, gated("f", 500, &[(WF, 1)], None)).await);
    commit(&*s, finished("c", 0, Status::Completed, b"ok", 600)).await;
    commit(&*s, finished("d", 0, Status::Completed, b"ok", 600)).await;
    assert_eq!(
        waiting(&*s, &["f"]).await,
        ["f"],
        "e still holds the only slot"
    );
    commit(&*s, finished("e", 0, Status::Completed, b"ok", 700)).await;
    assert!(is_admitted(&*s, "f").await);
}

/// A finished gated instance restarted queues again; a waiter restarted keeps waiting;
/// create_batch admits like create.
pub(super) async fn gates_restart_and_batches<S: Store>(s: Arc<S>) {
    let news = vec![
        gated("a", 100, &[(WF, 1)], None),
        gated("b", 101, &[(WF, 1)], None),
        new_instance("plain", "wf", 1, Some(100), 102),
    ];
    let created = s.create_batch(news).await.unwrap();
    let blocked: Vec<bool> = created
        .iter()
        .map(|r| match r {
            Ok(Created::New(r)) => r.blocked.is_some(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(blocked, [false, true, false]);
    assert_eq!(waiting(&*s, &["a", "b", "plain"]).await, ["b"]);
    let def = DefinitionRef {
        version: VERSION,
        hash: hash(1),
        fingerprint: fingerprint(FP),
    };
    s.restart(restart("b", 0, def, Some(100), 150))
        .await
        .unwrap();
    assert!(
        !is_admitted(&*s, "b").await,
        "a restarted waiter still waits"
    );
    commit(&*s, finished("a", 0, Status::Completed, b"ok", 200)).await;
    assert!(is_admitted(&*s, "b").await);
    s.restart(restart("a", 1, def, Some(300), 300))
        .await
        .unwrap();
    assert!(
        !is_admitted(&*s, "a").await,
        "a restarted finished instance queues again"
    );
    assert_eq!(gate_usage(&*s).await, [usage(WF, 1, 1, 1)]);
    commit(&*s, finished("b", 1, Status::Completed, b"ok", 400)).await;
    assert!(is_admitted(&*s, "a").await);
}

/// Many creators and finishers at once: never more admitted than the limit, every instance
/// admitted in the end.
pub(super) async fn gates_concurrent_never_over_admit<S: Store>(s: Arc<S>) {
    const N: usize = 24;
    const LIMIT: u32 = 3;
    let ids: Vec<String> = (0..N).map(|i| format!("i{i:02}")).collect();
    let mut tasks = Vec::new();
    for (n, i) in ids.iter().enumerate() {
        let s = Arc::clone(&s);
        let new = gated(
            i,
            100 + n as i64,
            &[(WF, LIMIT), ("key:k", LIMIT + 1)],
            Some("k"),
        );
        tasks.push(tokio::spawn(async move { s.create(new).await.unwrap() }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut rounds = 0;
    while done.len() < N {
        rounds += 1;
        assert!(rounds <= N, "no progress: done {done:?}");
        let mut running = Vec::new();
        for i in &ids {
            let r = load(&*s, i).await;
            if r.status == Status::Running && admitted(&r) {
                running.push(i.clone());
            }
        }
        let left = N - done.len();
        assert_eq!(
            running.len(),
            left.min(LIMIT as usize),
            "round {rounds}: admitted {running:?}"
        );
        let u = gate_usage(&*s).await;
        assert_eq!(
            u[1],
            usage(
                WF,
                LIMIT,
                running.len() as u64,
                (left - running.len()) as u64
            )
        );
        // Finish them all at once and, at the same time, cancel the last waiter (a waiter
        // leaving while slots free).
        let mut tasks = Vec::new();
        let last_waiter = ids
            .iter()
            .rev()
            .find(|i| !done.contains(*i) && !running.contains(*i))
            .cloned();
        if let Some(w) = &last_waiter {
            let s = Arc::clone(&s);
            let w = w.clone();
            tasks.push(tokio::spawn(async move {
                s.commit(finished(&w, 0, Status::Cancelled, b"no", 1000))
                    .await
                    .unwrap()
            }));
        }
        for i in &running {
            let s = Arc::clone(&s);
            let i = i.clone();
            tasks.push(tokio::spawn(async move {
                s.commit(finished(&i, 0, Status::Completed, b"ok", 1000))
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        done.extend(running);
        done.extend(last_waiter);
    }
    let u = gate_usage(&*s).await;
    assert_eq!(u, [usage("key:k", LIMIT + 1, 0, 0), usage(WF, LIMIT, 0, 0)]);
}

/// A finish reads its gates' queues a page at a time: behind more than two pages of waiters
/// whose other gate is full, it still admits the first waiter that fits, in ticket order, and
/// leaves the skipped ones waiting.
pub(super) async fn gates_admit_past_pages_of_skipped_waiters<S: Store>(s: Arc<S>) {
    assert!(create(&*s, gated("h-w", 100, &[(WF, 1)], None)).await);
    assert!(create(&*s, gated("h-k", 100, &[("key:K", 1)], Some("K"))).await);
    let skipped: Vec<String> = (0..70).map(|i| format!("s{i:02}")).collect();
    for (i, id) in skipped.iter().enumerate() {
        let now = 101 + i64::try_from(i).unwrap();
        assert!(!create(&*s, gated(id, now, &[(WF, 1), ("key:K", 1)], Some("K"))).await);
    }
    assert!(!create(&*s, gated("x", 200, &[(WF, 1)], None)).await);
    assert!(!create(&*s, gated("y", 201, &[(WF, 1)], None)).await);
    commit(&*s, finished("h-w", 0, Status::Completed, b"ok", 300)).await;
    assert!(is_admitted(&*s, "x").await, "x: the first waiter that fits");
    let mut ids: Vec<&str> = skipped.iter().map(String::as_str).collect();
    ids.push("y");
    assert_eq!(waiting(&*s, &ids).await.len(), 71, "the others still wait");
    // Key K frees: the earliest skipped waiter goes once the workflow gate has room too.
    commit(&*s, finished("h-k", 0, Status::Completed, b"ok", 400)).await;
    commit(&*s, finished("x", 0, Status::Completed, b"ok", 500)).await;
    assert!(is_admitted(&*s, "s00").await, "s00, then the rest in order");
    assert_eq!(waiting(&*s, &ids).await.len(), 70);
}
