//! commit_batch with many transitions, of every kind, in one batch (backends may write the
//! common kinds together and the others one by one; the results must not tell).

use std::sync::Arc;

use super::commits::CloneErr;
use super::signals::{assert_paused, consuming, pause, pending_ids, send, snapshot, truncating};
use super::{
    assert_conflict, assert_finished, assert_not_found, claim_ids, claim_of, claim_req, commit,
    create, finished, id, key, lease, load, running, worker,
};
use crate::{HistoryEntry, InstanceRecord, Status, Store, Timestamp, Transition};

/// The result a transition of the batch must get.
#[derive(Debug)]
enum Expect {
    Ok,
    Conflict { expected: u64, actual: u64 },
    NotFound,
    Finished,
    Paused,
}

/// The commit time of the batch.
const NOW: i64 = 200;

/// Plain running transitions.
const RUNNING: usize = 40;

/// Finishing transitions, of instances with buffered signals.
const FINISHING: usize = 10;

fn r(i: usize) -> String {
    format!("r{i:02}")
}

fn f(i: usize) -> String {
    format!("f{i}")
}

/// A transition of the batch, its expected result, and a name for messages.
struct Entry {
    what: String,
    t: Transition,
    expect: Expect,
}

fn entry(what: &str, t: Transition, expect: Expect) -> Entry {
    Entry {
        what: what.to_owned(),
        t,
        expect,
    }
}

/// A batch mixing transitions that keep running (with and without a due time, releasing the
/// lease or not), finishing ones, refused ones of every kind, ones that consume signals,
/// truncate history or listen for signals, and an instance listed twice: each gets its own
/// result, in batch order, and exactly the accepted ones are written.
pub(super) async fn commit_batch_large_mixed<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    for i in 0..FINISHING {
        create(&*s, &f(i), Some(100)).await;
    }
    for i in 0..RUNNING {
        create(&*s, &r(i), Some(100)).await;
    }
    // `w1` leases every `f` and `r00`..`r14`.
    let leased = claim_ids(&*s, claim_req("w1", 100, 1000, FINISHING + 15, &known)).await;
    assert_eq!(leased.len(), FINISHING + 15, "claimed before the batch");
    for i in 0..FINISHING {
        send(&*s, &f(i), "one", b"1", 150).await;
        send(&*s, &f(i), "two", b"2", 151).await;
    }
    let r00_signal = send(&*s, &r(0), "kept", b"k", 152).await;

    // Refused ones.
    create(&*s, "paused", Some(100)).await;
    s.set_blocked(&id("paused"), Some(pause(120)))
        .await
        .unwrap();
    create(&*s, "paused-finish", Some(100)).await;
    s.set_blocked(&id("paused-finish"), Some(pause(120)))
        .await
        .unwrap();
    create(&*s, "stale", Some(100)).await;
    commit(&*s, running("stale", 0, b"stale1", Some(100), 110)).await;
    create(&*s, "ahead", Some(100)).await;
    create(&*s, "done", Some(100)).await;
    commit(&*s, finished("done", 0, Status::Completed, b"out", 110)).await;
    // Ones that need queries of their own.
    create(&*s, "sig", None).await;
    let go = send(&*s, "sig", "go", b"g", 160).await;
    create(&*s, "sig-bad", None).await;
    let own = send(&*s, "sig-bad", "go", b"g", 161).await;
    create(&*s, "trunc", Some(100)).await;
    commit(&*s, running("trunc", 0, b"trunc1", Some(100), 110)).await;
    create(&*s, "listen", None).await;
    send(&*s, "listen", "approve", b"y", 162).await;
    // Listed twice.
    create(&*s, "twice", Some(100)).await;
    create(&*s, "twice-stale", Some(100)).await;
    create(&*s, "twice-finish", Some(100)).await;

    let refused = [
        "paused",
        "stale",
        "ahead",
        "done",
        "sig-bad",
        "twice-stale",
        "twice-finish",
    ];
    let mut before = Vec::new();
    for i in refused {
        before.push(snapshot(&*s, i).await);
    }
    let mut heads = Vec::new();
    for i in 0..RUNNING {
        heads.push(load(&*s, &r(i)).await);
    }
    let mut finishing_heads = Vec::new();
    for i in 0..FINISHING {
        finishing_heads.push(load(&*s, &f(i)).await);
    }
    let paused_finish = load(&*s, "paused-finish").await;

    let mut listen = running("listen", 0, b"listen1", None, NOW);
    listen.listening = vec!["approve".to_owned()];
    let mut special = vec![
        entry(
            "twice, first",
            running("twice", 0, b"t1", None, NOW),
            Expect::Ok,
        ),
        entry(
            "twice-stale, first",
            running("twice-stale", 0, b"ts1", None, NOW),
            Expect::Ok,
        ),
        entry(
            "twice-finish, first",
            finished("twice-finish", 0, Status::Failed, b"tf", NOW),
            Expect::Ok,
        ),
        entry(
            "paused",
            running("paused", 0, b"x", None, NOW),
            Expect::Paused,
        ),
        entry(
            "paused-finish",
            finished("paused-finish", 0, Status::Cancelled, b"pf", NOW),
            Expect::Ok,
        ),
        entry(
            "stale",
            running("stale", 0, b"x", None, NOW),
            Expect::Conflict {
                expected: 0,
                actual: 1,
            },
        ),
        entry(
            "ahead",
            running("ahead", 5, b"x", None, NOW),
            Expect::Conflict {
                expected: 5,
                actual: 0,
            },
        ),
        entry(
            "done",
            running("done", 1, b"x", None, NOW),
            Expect::Finished,
        ),
        entry(
            "ghost",
            running("ghost", 0, b"x", None, NOW),
            Expect::NotFound,
        ),
        entry(
            "sig",
            consuming(running("sig", 0, b"sig1", None, NOW), &[go]),
            Expect::Ok,
        ),
        // `go` is another instance's signal, consumed earlier in the batch.
        entry(
            "sig-bad",
            consuming(running("sig-bad", 0, b"x", None, NOW), &[go]),
            Expect::Conflict {
                expected: 0,
                actual: 0,
            },
        ),
        entry(
            "trunc",
            truncating(running("trunc", 1, b"trunc2", Some(100), NOW)),
            Expect::Ok,
        ),
        entry("listen", listen, Expect::Ok),
        entry(
            "twice, second",
            running("twice", 1, b"t2", None, NOW),
            Expect::Ok,
        ),
        entry(
            "twice-stale, second",
            running("twice-stale", 0, b"x", None, NOW),
            Expect::Conflict {
                expected: 0,
                actual: 1,
            },
        ),
        entry(
            "twice-finish, second",
            running("twice-finish", 1, b"x", None, NOW),
            Expect::Finished,
        ),
    ]
    .into_iter();

    // Interleaved, so that no kind comes in a block of its own.
    let mut batch = Vec::new();
    for i in 0..RUNNING {
        let due = (i % 2 == 0).then_some(300 + i64::try_from(i).unwrap());
        let mut t = running(&r(i), 0, format!("{}-1", r(i)).as_bytes(), due, NOW);
        // `w1` holds its first claim of `r00`..`r14`: a release naming another generation
        // (`i % 3 == 1`) leaves the lease alone.
        t.release_lease = match i % 3 {
            0 => Some(lease("w1", 1)),
            1 => Some(lease("w1", 2)),
            _ => None,
        };
        batch.push(entry(&r(i), t, Expect::Ok));
        if i % 2 == 1 {
            batch.extend(special.next());
        }
        if i < FINISHING {
            let status = [Status::Completed, Status::Failed, Status::Cancelled][i % 3];
            let mut t = finished(&f(i), 0, status, format!("{}-out", f(i)).as_bytes(), NOW);
            t.release_lease = (i % 2 == 0).then(|| lease("w1", 1));
            batch.push(entry(&f(i), t, Expect::Ok));
        }
    }
    batch.extend(special);

    let (mut whats, mut expects, mut transitions) = (Vec::new(), Vec::new(), Vec::new());
    for e in batch {
        whats.push(e.what);
        expects.push(e.expect);
        transitions.push(e.t);
    }
    assert!(
        transitions.len() > 64,
        "a large batch: {}",
        transitions.len()
    );
    let results = s.commit_batch(transitions).await.expect("commit_batch");
    assert_eq!(results.len(), whats.len(), "one result per transition");
    for ((result, what), expect) in results.iter().zip(&whats).zip(&expects) {
        let result = result.clone_err();
        let i = what.split(',').next().unwrap_or(what);
        let what = format!("batch result of `{what}`");
        match *expect {
            Expect::Ok => assert!(result.is_ok(), "{what}: {result:?}"),
            Expect::Conflict { expected, actual } => {
                assert_conflict(result, i, expected, actual, &what);
            }
            Expect::NotFound => assert_not_found(result, i, &what),
            Expect::Finished => assert_finished(result, i, &what),
            Expect::Paused => assert_paused(result, i, &what),
        }
    }

    // Refused transitions wrote nothing (the twice-listed ones: beyond their first).
    for (i, snap) in refused.iter().zip(before) {
        let now = snapshot(&*s, i).await;
        if i.starts_with("twice") {
            assert_eq!(now.0.seq, 1, "seq of `{i}`: only its first transition");
            assert_eq!(now.1.len(), 2, "history of `{i}`: {:?}", now.1);
        } else {
            assert_eq!(now, snap, "the refused transition of `{i}` changed it");
        }
    }
    assert_not_found(
        s.load(&id("ghost")).await,
        "ghost",
        "a batch creates nothing",
    );

    // Running: new head and history entry; buffered signals stay.
    for (i, before) in heads.into_iter().enumerate() {
        let name = r(i);
        let state = format!("{name}-1").into_bytes();
        let due = (i % 2 == 0).then(|| Timestamp(300 + i64::try_from(i).unwrap()));
        // The transitions of `i % 3 == 0` released `w1`'s lease; the others kept it.
        let lease = if i % 3 == 0 {
            None
        } else {
            before.lease.clone()
        };
        let expected = InstanceRecord {
            seq: 1,
            lease,
            state: Some(state.clone()),
            state_id: Some("step#1".to_owned()),
            due_at: due,
            updated_at: Timestamp(NOW),
            ..before
        };
        assert_eq!(load(&*s, &name).await, expected, "head of `{name}`");
        let history = s.history(&id(&name), Some(0), None).await.unwrap();
        let entry = HistoryEntry {
            seq: 1,
            at: Timestamp(NOW),
            kind: "step".to_owned(),
            payload: state,
        };
        assert_eq!(history, [entry], "history of `{name}` after entry 0");
    }
    assert_eq!(
        pending_ids(&*s, &r(0)).await,
        [r00_signal],
        "a running transition that consumes nothing keeps the buffered signals"
    );
    // `w1` keeps the leases it did not release.
    let mut lost = s
        .renew(
            &worker("w1"),
            &(0..15).map(|i| claim_of(&r(i), 1)).collect::<Vec<_>>(),
            Timestamp(900),
        )
        .await
        .unwrap();
    lost.sort();
    let released: Vec<_> = (0..15)
        .filter(|i| i % 3 == 0)
        .map(|i| claim_of(&r(i), 1))
        .collect();
    assert_eq!(
        lost, released,
        "leases lost by `w1`: exactly the released ones"
    );

    // Finishing: final head, history entry, no signals and no lease left.
    for (i, before) in finishing_heads.into_iter().enumerate() {
        let name = f(i);
        let output = format!("{name}-out").into_bytes();
        let expected = InstanceRecord {
            seq: 1,
            status: [Status::Completed, Status::Failed, Status::Cancelled][i % 3],
            state: None,
            state_id: None,
            output: Some(output.clone()),
            due_at: None,
            updated_at: Timestamp(NOW),
            lease: None,
            ..before
        };
        assert_eq!(load(&*s, &name).await, expected, "head of `{name}`");
        let history = s.history(&id(&name), Some(0), None).await.unwrap();
        let entry = HistoryEntry {
            seq: 1,
            at: Timestamp(NOW),
            kind: "finished".to_owned(),
            payload: output,
        };
        assert_eq!(history, [entry], "history of `{name}` after entry 0");
        assert!(
            pending_ids(&*s, &name).await.is_empty(),
            "finishing `{name}` in a batch deletes its signals"
        );
    }
    let lost = s
        .renew(
            &worker("w1"),
            &(0..FINISHING)
                .map(|i| claim_of(&f(i), 1))
                .collect::<Vec<_>>(),
            Timestamp(900),
        )
        .await
        .unwrap();
    assert_eq!(
        lost.len(),
        FINISHING,
        "finishing released every lease: {lost:?}"
    );
    let expected = InstanceRecord {
        seq: 1,
        status: Status::Cancelled,
        state: None,
        state_id: None,
        output: Some(b"pf".to_vec()),
        due_at: None,
        updated_at: Timestamp(NOW),
        ..paused_finish
    };
    assert_eq!(
        load(&*s, "paused-finish").await,
        expected,
        "finishing a paused instance in a batch keeps its block"
    );

    // The ones that went their own way.
    let sig = load(&*s, "sig").await;
    assert_eq!(
        (sig.seq, sig.state),
        (1, Some(b"sig1".to_vec())),
        "head of `sig`"
    );
    assert!(
        pending_ids(&*s, "sig").await.is_empty(),
        "`sig` consumed `go`"
    );
    assert_eq!(
        pending_ids(&*s, "sig-bad").await,
        [own],
        "signals of `sig-bad`"
    );
    let trunc = s.history(&id("trunc"), None, None).await.unwrap();
    assert_eq!(
        trunc.iter().map(|h| h.seq).collect::<Vec<_>>(),
        [2],
        "`trunc` truncated its history"
    );
    assert_eq!(
        load(&*s, "listen").await.due_at,
        Some(Timestamp(NOW)),
        "`listen` listens for a buffered signal: due now"
    );
    let twice = load(&*s, "twice").await;
    assert_eq!(
        (twice.seq, twice.state),
        (2, Some(b"t2".to_vec())),
        "`twice`: both transitions, in batch order"
    );
    assert_eq!(s.history(&id("twice"), None, None).await.unwrap().len(), 3);
    let twice_finish = load(&*s, "twice-finish").await;
    assert_eq!(
        (twice_finish.seq, twice_finish.status),
        (1, Status::Failed),
        "`twice-finish` finished by its first transition"
    );
}
