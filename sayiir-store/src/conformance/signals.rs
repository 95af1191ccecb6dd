//! Signals (send_signal, signals, consuming them in a commit), pausing, and history truncation.

use std::num::NonZeroUsize;
use std::sync::Arc;

use super::commits::CloneErr;
use super::{
    assert_conflict, assert_finished, assert_not_found, claim_ids, claim_req, commit, create,
    finished, id, key, load, running,
};
use crate::{
    BlockKind, Blocked, HistoryEntry, InstanceRecord, NewSignal, SignalRecord, Status, Store,
    StoreError, Timestamp, Transition,
};

fn signal(i: &str, name: &str, payload: &[u8], now: i64) -> NewSignal {
    NewSignal {
        id: id(i),
        name: name.to_owned(),
        payload: payload.to_vec(),
        now: Timestamp(now),
    }
}

/// Sends a signal, which must succeed, and returns its id.
pub(super) async fn send<S: Store>(
    store: &S,
    i: &str,
    name: &str,
    payload: &[u8],
    now: i64,
) -> u64 {
    store
        .send_signal(signal(i, name, payload, now))
        .await
        .unwrap_or_else(|e| panic!("send_signal `{name}` to `{i}` failed: {e:?}"))
}

/// The pending signals of `i`, which must exist.
pub(super) async fn pending<S: Store>(store: &S, i: &str) -> Vec<SignalRecord> {
    store
        .signals(&id(i))
        .await
        .unwrap_or_else(|e| panic!("signals of `{i}` failed: {e:?}"))
}

/// The ids of the pending signals of `i`.
pub(super) async fn pending_ids<S: Store>(store: &S, i: &str) -> Vec<u64> {
    pending(store, i)
        .await
        .iter()
        .map(|s| s.signal_id)
        .collect()
}

pub(super) fn consuming(t: Transition, ids: &[u64]) -> Transition {
    t.consume_signals(ids.iter().copied())
}

pub(super) fn truncating(t: Transition) -> Transition {
    t.truncate_history(true)
}

pub(super) fn pause(at: i64) -> Blocked {
    Blocked {
        kind: BlockKind::Paused,
        reason: "paused by a user".to_owned(),
        at: Timestamp(at),
    }
}

/// Asserts that `result` is `Err(StoreError::Paused)` for `i`.
pub(super) fn assert_paused<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    i: &str,
    what: &str,
) {
    match result {
        Err(StoreError::Paused { id: got }) if got.as_str() == i => {}
        other => panic!("{what}: got {other:?}, expected Paused {{ id: {i:?} }}"),
    }
}

/// Everything a refused operation must leave unchanged.
pub(super) async fn snapshot<S: Store>(
    store: &S,
    i: &str,
) -> (InstanceRecord, Vec<HistoryEntry>, Vec<SignalRecord>) {
    let history = store
        .history(&id(i), None, None)
        .await
        .unwrap_or_else(|e| panic!("history of `{i}` failed: {e:?}"));
    (load(store, i).await, history, pending(store, i).await)
}

fn seqs(history: &[HistoryEntry]) -> Vec<u64> {
    history.iter().map(|h| h.seq).collect()
}

pub(super) async fn signal_send_not_found_and_finished<S: Store>(s: Arc<S>) {
    assert_not_found(
        s.send_signal(signal("missing", "go", b"x", 200)).await,
        "missing",
        "send_signal to an unknown id",
    );
    assert_not_found(
        s.signals(&id("missing")).await,
        "missing",
        "signals of an unknown id",
    );
    assert_not_found(
        s.load(&id("missing")).await,
        "missing",
        "send_signal to an unknown id must not create it",
    );

    create(&*s, "done", Some(100)).await;
    commit(&*s, finished("done", 0, Status::Completed, b"out", 120)).await;
    let before = snapshot(&*s, "done").await;
    assert_finished(
        s.send_signal(signal("done", "go", b"x", 200)).await,
        "done",
        "send_signal to a finished instance",
    );
    assert_eq!(
        snapshot(&*s, "done").await,
        before,
        "a refused send_signal changed the instance"
    );
    assert!(before.2.is_empty(), "signals of a finished instance");
}

pub(super) async fn signal_send_makes_due<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    create(&*s, "waiting", None).await;
    commit(&*s, running("waiting", 0, b"w1", None, 110)).await;
    create(&*s, "later", Some(1000)).await;
    create(&*s, "earlier", Some(200)).await;
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 150, 10_000, 10, &known)).await,
        Vec::<String>::new(),
        "nothing is due at 150"
    );

    let (before, history, _) = snapshot(&*s, "waiting").await;
    send(&*s, "waiting", "approve", b"yes", 500).await;
    assert_eq!(
        load(&*s, "waiting").await,
        InstanceRecord {
            due_at: Some(Timestamp(500)),
            ..before
        },
        "send_signal to an instance with no due time: due now, nothing else changed"
    );
    assert_eq!(
        s.history(&id("waiting"), None, None).await.unwrap(),
        history,
        "send_signal wrote history"
    );

    let before = load(&*s, "later").await;
    send(&*s, "later", "approve", b"yes", 500).await;
    assert_eq!(
        load(&*s, "later").await,
        InstanceRecord {
            due_at: Some(Timestamp(500)),
            ..before
        },
        "send_signal pulls a later due time in to now"
    );

    let before = load(&*s, "earlier").await;
    send(&*s, "earlier", "approve", b"yes", 500).await;
    assert_eq!(
        load(&*s, "earlier").await,
        before,
        "send_signal keeps an earlier due time"
    );

    let mut claimed = claim_ids(&*s, claim_req("w1", 500, 10_000, 10, &known)).await;
    claimed.sort();
    assert_eq!(
        claimed,
        ["earlier", "later", "waiting"],
        "all three are claimable at the send time"
    );
}

pub(super) async fn signal_order_preserved<S: Store>(s: Arc<S>) {
    create(&*s, "a", None).await;
    create(&*s, "b", None).await;
    create(&*s, "quiet", None).await;
    let sent = [
        ("a", "first", b"1".as_slice(), 200),
        ("b", "other", b"2".as_slice(), 210),
        ("a", "second", b"3".as_slice(), 220),
        ("a", "first", b"4".as_slice(), 230),
    ];
    let mut ids = Vec::new();
    for (i, name, payload, now) in sent {
        ids.push(send(&*s, i, name, payload, now).await);
    }
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "signal ids increase in send order across the store: {ids:?}"
    );
    let record = |n: usize| SignalRecord {
        signal_id: ids[n],
        name: sent[n].1.to_owned(),
        payload: sent[n].2.to_vec(),
        sent_at: Timestamp(sent[n].3),
    };
    assert_eq!(
        pending(&*s, "a").await,
        [record(0), record(2), record(3)],
        "signals of `a`, in send order"
    );
    assert_eq!(pending(&*s, "b").await, [record(1)], "signals of `b`");
    assert!(
        pending(&*s, "quiet").await.is_empty(),
        "an instance never signalled has no signals"
    );

    // Consuming the newest signal must not let its id come back.
    commit(&*s, consuming(running("a", 0, b"a1", None, 300), &[ids[3]])).await;
    let next = send(&*s, "a", "third", b"5", 310).await;
    assert!(
        next > ids[3],
        "a new signal's id {next} is not above the consumed {}",
        ids[3]
    );
    assert_eq!(
        pending_ids(&*s, "a").await,
        [ids[0], ids[2], next],
        "signals of `a` after consuming the newest and sending again"
    );
}

pub(super) async fn signal_consume_in_commit<S: Store>(s: Arc<S>) {
    create(&*s, "a", None).await;
    create(&*s, "b", None).await;
    let s1 = send(&*s, "a", "one", b"1", 200).await;
    let s2 = send(&*s, "a", "two", b"2", 210).await;
    let s3 = send(&*s, "a", "three", b"3", 220).await;
    let b1 = send(&*s, "b", "one", b"1", 230).await;

    commit(&*s, consuming(running("a", 0, b"a1", None, 300), &[s3, s1])).await;
    assert_eq!(
        pending_ids(&*s, "a").await,
        [s2],
        "a commit deletes exactly the signals it consumes"
    );
    assert_eq!(
        pending_ids(&*s, "b").await,
        [b1],
        "other instances' signals"
    );
    let head = load(&*s, "a").await;
    assert_eq!(
        (head.seq, head.state),
        (1, Some(b"a1".to_vec())),
        "the consuming commit was applied"
    );

    // Refused: an already consumed id, another instance's id, an id never assigned, and a
    // pending id together with a consumed one.
    let before = snapshot(&*s, "a").await;
    for (ids, what) in [
        (vec![s1], "consuming an already consumed signal"),
        (vec![b1], "consuming another instance's signal"),
        (vec![u64::MAX], "consuming an id never assigned"),
        (vec![s2, s3], "consuming a pending and a consumed signal"),
    ] {
        let result = s
            .commit(consuming(running("a", 1, b"refused", Some(999), 310), &ids))
            .await;
        assert_conflict(result, "a", 1, 1, what);
        assert_eq!(
            snapshot(&*s, "a").await,
            before,
            "{what}: the refused commit changed something"
        );
    }
    assert_eq!(
        pending_ids(&*s, "b").await,
        [b1],
        "`b` after refused commits"
    );

    // The same id twice in one transition consumes it once.
    commit(&*s, consuming(running("a", 1, b"a2", None, 320), &[s2, s2])).await;
    assert!(
        pending_ids(&*s, "a").await.is_empty(),
        "signals of `a` after consuming its last one"
    );

    // In a batch, a refused consumption affects only its own transition.
    let a4 = send(&*s, "a", "four", b"4", 330).await;
    let b_before = snapshot(&*s, "b").await;
    let results = s
        .commit_batch(vec![
            consuming(running("b", 0, b"refused", None, 340), &[s1]),
            consuming(running("a", 2, b"a3", None, 340), &[a4]),
        ])
        .await
        .expect("commit_batch");
    assert_conflict(
        results[0].clone_err(),
        "b",
        0,
        0,
        "batch: consuming another instance's consumed signal",
    );
    assert!(results[1].is_ok(), "batch result 1 (a): {:?}", results[1]);
    assert_eq!(
        snapshot(&*s, "b").await,
        b_before,
        "the refused transition of the batch changed `b`"
    );
    assert_eq!(load(&*s, "a").await.seq, 3, "seq of `a` after the batch");
    assert!(
        pending_ids(&*s, "a").await.is_empty(),
        "the batch consumed `a`'s signal"
    );
}

pub(super) async fn signal_consume_race<S: Store>(s: Arc<S>) {
    const WRITERS: usize = 8;
    create(&*s, "hot", None).await;
    let sig = send(&*s, "hot", "go", b"x", 200).await;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let s = Arc::clone(&s);
        let state = format!("writer {w}").into_bytes();
        tasks.push(tokio::spawn(async move {
            s.commit(consuming(running("hot", 0, &state, None, 300), &[sig]))
                .await
        }));
    }
    let mut winners = Vec::new();
    for (w, task) in tasks.into_iter().enumerate() {
        match task.await.expect("writer task") {
            Ok(()) => winners.push(w),
            Err(StoreError::Conflict {
                id: got, actual, ..
            }) if got.as_str() == "hot" && actual == 1 => {}
            Err(e) => panic!("writer {w} got {e:?}, expected Ok or Conflict"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one consumer wins: {winners:?}");
    let head = load(&*s, "hot").await;
    assert_eq!(
        (head.seq, head.state),
        (1, Some(format!("writer {}", winners[0]).into_bytes())),
        "the winner's head"
    );
    assert!(
        pending_ids(&*s, "hot").await.is_empty(),
        "the signal is consumed"
    );
    assert_eq!(
        seqs(&s.history(&id("hot"), None, None).await.unwrap()),
        [0, 1],
        "one history entry for the winner"
    );
}

pub(super) async fn signal_finish_deletes_pending<S: Store>(s: Arc<S>) {
    create(&*s, "a", None).await;
    let s1 = send(&*s, "a", "one", b"1", 200).await;
    let s2 = send(&*s, "a", "two", b"2", 210).await;

    // A finishing transition that consumes a signal no longer pending is refused as well.
    let before = snapshot(&*s, "a").await;
    let bogus = consuming(
        finished("a", 0, Status::Completed, b"out", 300),
        &[s2 + 1000],
    );
    assert_conflict(
        s.commit(bogus).await,
        "a",
        0,
        0,
        "finishing while consuming a missing signal",
    );
    assert_eq!(
        snapshot(&*s, "a").await,
        before,
        "the refused finish changed `a`"
    );

    commit(
        &*s,
        consuming(finished("a", 0, Status::Completed, b"out", 310), &[s1]),
    )
    .await;
    assert!(
        pending(&*s, "a").await.is_empty(),
        "finishing deletes the remaining signals"
    );
    assert_finished(
        s.send_signal(signal("a", "late", b"x", 320)).await,
        "a",
        "send_signal after finishing",
    );
    assert!(
        pending(&*s, "a").await.is_empty(),
        "no signal after finishing"
    );
}

pub(super) async fn paused_refuses_running_commits<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    create(&*s, "p", Some(100)).await;
    create(&*s, "q", Some(100)).await;
    commit(&*s, running("p", 0, b"p1", Some(100), 110)).await;
    s.set_blocked(&id("p"), Some(pause(150))).await.unwrap();

    let before = snapshot(&*s, "p").await;
    assert_paused(
        s.commit(running("p", 1, b"refused", Some(200), 200)).await,
        "p",
        "commit of a running transition on a paused instance",
    );
    assert_eq!(
        snapshot(&*s, "p").await,
        before,
        "a refused commit changed `p`"
    );
    // The sequence number is checked first.
    assert_conflict(
        s.commit(running("p", 0, b"stale", Some(200), 200)).await,
        "p",
        0,
        1,
        "stale commit on a paused instance",
    );

    // A signal is buffered but the paused instance stays blocked and undispatched.
    let sig = send(&*s, "p", "go", b"x", 210).await;
    let paused = load(&*s, "p").await;
    assert_eq!(
        paused.blocked,
        Some(pause(150)),
        "send_signal changed the block"
    );
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 300, 10_000, 10, &known)).await,
        ["q"],
        "a paused instance is not claimed"
    );

    let results = s
        .commit_batch(vec![
            consuming(running("p", 1, b"refused", None, 310), &[sig]),
            running("q", 0, b"q1", None, 310),
        ])
        .await
        .expect("commit_batch");
    assert_paused(results[0].clone_err(), "p", "batch: paused instance");
    assert!(results[1].is_ok(), "batch result 1 (q): {:?}", results[1]);
    assert_eq!(
        snapshot(&*s, "p").await.2.len(),
        1,
        "the refused batch transition consumed the signal"
    );
    assert_eq!(
        load(&*s, "p").await,
        paused,
        "the refused batch changed `p`"
    );

    // Other kinds of block do not refuse commits.
    s.set_blocked(
        &id("q"),
        Some(Blocked {
            kind: BlockKind::Panicked,
            reason: "boom".to_owned(),
            at: Timestamp(320),
        }),
    )
    .await
    .unwrap();
    commit(&*s, running("q", 1, b"q2", None, 330)).await;

    // Resuming lifts the refusal.
    s.set_blocked(&id("p"), None).await.unwrap();
    commit(&*s, consuming(running("p", 1, b"p2", None, 400), &[sig])).await;
    assert_eq!(load(&*s, "p").await.seq, 2, "commit after resuming");

    // Cancelling a paused instance works, and finishing leaves the block as it was.
    s.set_blocked(&id("p"), Some(pause(500))).await.unwrap();
    send(&*s, "p", "go", b"y", 510).await;
    commit(&*s, finished("p", 2, Status::Cancelled, b"cancelled", 520)).await;
    let done = load(&*s, "p").await;
    assert_eq!(
        (done.seq, done.status),
        (3, Status::Cancelled),
        "cancel of a paused instance"
    );
    assert!(
        pending(&*s, "p").await.is_empty(),
        "cancelling deleted the pending signals"
    );
}

pub(super) async fn truncate_history_keeps_new_entry<S: Store>(s: Arc<S>) {
    create(&*s, "h", Some(100)).await;
    for seq in 0..3u64 {
        commit(&*s, running("h", seq, b"step", Some(100), 200)).await;
    }
    let before = load(&*s, "h").await;
    commit(&*s, truncating(running("h", 3, b"new run", Some(100), 300))).await;
    let head = load(&*s, "h").await;
    assert_eq!(
        head,
        InstanceRecord {
            seq: 4,
            state: Some(b"new run".to_vec()),
            state_id: Some("step#4".to_owned()),
            updated_at: Timestamp(300),
            ..before
        },
        "head after a truncating commit"
    );
    let entry4 = HistoryEntry {
        seq: 4,
        at: Timestamp(300),
        kind: "step".to_owned(),
        payload: b"new run".to_vec(),
    };
    let history = |after: Option<u64>, limit: Option<usize>| {
        let s = Arc::clone(&s);
        let limit = limit.map(|n| NonZeroUsize::new(n).unwrap());
        async move { s.history(&id("h"), after, limit).await.unwrap() }
    };
    assert_eq!(
        history(None, None).await,
        std::slice::from_ref(&entry4),
        "history keeps only the new entry"
    );
    assert_eq!(
        history(Some(3), None).await,
        std::slice::from_ref(&entry4),
        "history after 3"
    );
    assert_eq!(
        history(Some(0), Some(1)).await,
        [entry4],
        "history after 0 limit 1"
    );
    assert!(history(Some(4), None).await.is_empty(), "history after 4");

    // The sequence number stays monotonic: the old sequence numbers do not come back.
    assert_conflict(
        s.commit(running("h", 3, b"stale", Some(100), 310)).await,
        "h",
        3,
        4,
        "stale commit after truncation",
    );
    commit(&*s, running("h", 4, b"next", Some(100), 320)).await;
    assert_eq!(
        seqs(&history(None, None).await),
        [4, 5],
        "history after one more"
    );
    assert_eq!(seqs(&history(Some(4), None).await), [5], "history after 4");

    // Truncating again, here with a finishing transition.
    commit(
        &*s,
        truncating(finished("h", 5, Status::Completed, b"out", 330)),
    )
    .await;
    assert_eq!(
        seqs(&history(None, None).await),
        [6],
        "history after a second truncation"
    );
    assert_eq!(load(&*s, "h").await.seq, 6, "seq after a second truncation");

    // A refused truncating commit truncates nothing.
    create(&*s, "r", Some(100)).await;
    commit(&*s, running("r", 0, b"r1", Some(100), 200)).await;
    let before = snapshot(&*s, "r").await;
    let refused = consuming(truncating(running("r", 1, b"x", None, 210)), &[u64::MAX]);
    assert_conflict(
        s.commit(refused).await,
        "r",
        1,
        1,
        "refused truncating commit",
    );
    assert_eq!(
        snapshot(&*s, "r").await,
        before,
        "a refused truncating commit changed `r`"
    );
}

/// A commit whose new state listens for a signal that is already buffered leaves the instance
/// due now, whatever due time it asks for: a writer that dies right after the commit cannot
/// strand that signal. Signals of other names, and the signals it consumes, do not count.
pub(super) async fn listened_signal_keeps_instance_due<S: Store>(s: Arc<S>) {
    create(&*s, "listen", Some(100)).await;
    let a = send(&*s, "listen", "approve", b"yes", 150).await;
    send(&*s, "listen", "note", b"hi", 160).await;

    // Waits for `approve` only (no due time): `approve` is buffered, so it stays due now.
    let mut t = running("listen", 0, b"s1", None, 200);
    t.listening = vec!["approve".to_owned()];
    commit(&*s, t).await;
    assert_eq!(load(&*s, "listen").await.due_at, Some(Timestamp(200)));

    // Consumes `approve` and waits for it again: nothing of that name left, no due time.
    let mut t = consuming(running("listen", 1, b"s2", None, 300), &[a]);
    t.listening = vec!["approve".to_owned()];
    commit(&*s, t).await;
    assert_eq!(
        load(&*s, "listen").await.due_at,
        None,
        "only `note` is buffered"
    );

    // A later due time is pulled in to now when a listened signal is buffered.
    let mut t = running("listen", 2, b"s3", Some(10_000), 400);
    t.listening = vec!["other".to_owned(), "note".to_owned()];
    commit(&*s, t).await;
    assert_eq!(load(&*s, "listen").await.due_at, Some(Timestamp(400)));

    // An earlier due time is kept.
    let mut t = running("listen", 3, b"s4", Some(450), 500);
    t.listening = vec!["note".to_owned()];
    commit(&*s, t).await;
    assert_eq!(load(&*s, "listen").await.due_at, Some(Timestamp(450)));
}
