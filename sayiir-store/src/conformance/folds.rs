//! Transitions of several history entries ([`Transition::extra_events`]): numbering, the head's
//! sequence number, compare-and-swap, history truncation, and batches that mix them with
//! transitions of one entry.

use std::sync::Arc;

use super::signals::{consuming, pending, send, truncating};
use super::{assert_conflict, commit, create, event, finished, id, load, running};
use crate::{Event, HistoryEntry, Status, Store, Timestamp, Transition};

/// `n` extra events `{tag}-0`, `{tag}-1`, … of kind `task`.
fn extras(tag: &str, n: usize) -> Vec<Event> {
    (0..n)
        .map(|k| event("task", format!("{tag}-{k}").as_bytes()))
        .collect()
}

/// The history entries a commit at `now` of `t` (from `first` on) writes.
fn entries(first: u64, now: i64, t: &Transition) -> Vec<HistoryEntry> {
    std::iter::once(&t.event)
        .chain(&t.extra_events)
        .zip(first..)
        .map(|(e, seq)| HistoryEntry {
            seq,
            at: Timestamp(now),
            kind: e.kind.clone(),
            payload: e.payload.clone(),
        })
        .collect()
}

async fn history<S: Store + ?Sized>(s: &S, i: &str, after: Option<u64>) -> Vec<HistoryEntry> {
    s.history(&id(i), after, None)
        .await
        .unwrap_or_else(|e| panic!("history of `{i}` failed: {e:?}"))
}

pub(super) async fn extra_events_numbered_in_order<S: Store>(s: Arc<S>) {
    create(&*s, "f", Some(100)).await;
    let t = running("f", 0, b"two folded", Some(150), 200).extra_events(extras("a", 2));
    assert_eq!(t.next_seq(), Some(3));
    let written = entries(1, 200, &t);
    commit(&*s, t).await;
    let head = load(&*s, "f").await;
    assert_eq!(head.seq, 3, "head seq after a commit of 3 entries");
    assert_eq!(head.state.as_deref(), Some(&b"two folded"[..]));
    assert_eq!(head.state_id.as_deref(), Some("step#1"));
    assert_eq!(head.due_at, Some(Timestamp(150)));
    let kept = history(&*s, "f", Some(0)).await;
    assert_eq!(kept, written, "entries 1..=3 in order, with their payloads");
    assert_eq!(
        history(&*s, "f", Some(2)).await,
        written[2..],
        "history after entry 2"
    );

    // The compare-and-swap is against the head's new seq: the old one and the skipped ones
    // conflict and write nothing.
    for stale in [0, 1, 2] {
        assert_conflict(
            s.commit(running("f", stale, b"stale", None, 210)).await,
            "f",
            stale,
            3,
            &format!("commit at the stale seq {stale}"),
        );
    }
    assert_eq!(history(&*s, "f", Some(0)).await, written);

    // One entry after several, then a finishing commit of several.
    commit(&*s, running("f", 3, b"one", None, 220)).await;
    let t = finished("f", 4, Status::Completed, b"out", 230).extra_events(extras("b", 3));
    let last = entries(5, 230, &t);
    commit(&*s, t).await;
    let head = load(&*s, "f").await;
    assert_eq!(
        (head.seq, head.status, head.output.as_deref()),
        (8, Status::Completed, Some(&b"out"[..])),
        "head after a finishing commit of 4 entries"
    );
    let all = history(&*s, "f", None).await;
    let seqs: Vec<u64> = all.iter().map(|h| h.seq).collect();
    assert_eq!(seqs, (0..=8).collect::<Vec<_>>(), "history stays gapless");
    assert_eq!(all[5..], last, "entries of the finishing commit");
}

pub(super) async fn extra_events_truncate_history<S: Store>(s: Arc<S>) {
    create(&*s, "t", Some(100)).await;
    commit(&*s, running("t", 0, b"first", Some(100), 200)).await;
    commit(&*s, running("t", 1, b"second", Some(100), 200)).await;
    let t = truncating(running("t", 2, b"new run", Some(100), 300)).extra_events(extras("c", 2));
    let written = entries(3, 300, &t);
    commit(&*s, t).await;
    assert_eq!(load(&*s, "t").await.seq, 5);
    assert_eq!(
        history(&*s, "t", None).await,
        written,
        "a truncating commit keeps all its own entries and none before them"
    );
}

pub(super) async fn extra_events_in_batches<S: Store>(s: Arc<S>) {
    for i in ["one", "many", "done", "stale", "signal", "twice"] {
        create(&*s, i, Some(100)).await;
    }
    commit(&*s, running("stale", 0, b"moved", Some(100), 150)).await;
    let sent = send(&*s, "signal", "go", b"x", 150).await;

    let consume = consuming(
        running("signal", 0, b"consumed", None, 200).extra_events(extras("s", 2)),
        &[sent],
    );
    let batch = vec![
        running("one", 0, b"single", Some(300), 200),
        running("many", 0, b"folded", Some(300), 200).extra_events(extras("m", 4)),
        finished("done", 0, Status::Completed, b"out", 200).extra_events(extras("d", 1)),
        running("stale", 0, b"late", None, 200).extra_events(extras("x", 2)),
        consume,
        running("twice", 0, b"first", Some(300), 200).extra_events(extras("t1", 1)),
        running("twice", 2, b"second", Some(300), 200).extra_events(extras("t2", 2)),
    ];
    let expected: Vec<(String, u64, Vec<HistoryEntry>)> = batch
        .iter()
        .filter(|t| t.id.as_str() != "stale")
        .map(|t| {
            let first = t.expected_seq + 1;
            (t.id.as_str().to_owned(), first, entries(first, 200, t))
        })
        .collect();
    let results = s.commit_batch(batch).await.unwrap();
    assert_eq!(results.len(), 7);
    for (n, r) in results.iter().enumerate() {
        if n != 3 {
            assert!(r.is_ok(), "result {n} of the batch: {r:?}");
        }
    }
    assert_conflict(
        results[3].clone(),
        "stale",
        0,
        1,
        "a stale transition of several entries",
    );
    assert_eq!(
        history(&*s, "stale", None).await.len(),
        2,
        "the refused transition wrote no entry"
    );
    for (i, first, written) in expected {
        assert_eq!(
            history(&*s, &i, Some(first - 1)).await[..written.len()],
            written,
            "entries of `{i}` from {first}"
        );
    }
    let seq = |i: &'static str| {
        let s = Arc::clone(&s);
        async move { load(&*s, i).await.seq }
    };
    assert_eq!(seq("one").await, 1);
    assert_eq!(seq("many").await, 5);
    assert_eq!(seq("done").await, 2);
    assert_eq!(load(&*s, "done").await.status, Status::Completed);
    assert_eq!(seq("signal").await, 3);
    assert!(pending(&*s, "signal").await.is_empty(), "signal consumed");
    assert_eq!(
        seq("twice").await,
        5,
        "two transitions of one instance in a batch"
    );
}
