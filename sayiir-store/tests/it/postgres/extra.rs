//! A transition of several history entries (`Transition::extra_events`) one of which already
//! exists is refused whole, naming the first such entry, and writes nothing: on its own (one
//! statement in `apply`), in a batch's bulk statement, and in a batch one by one (a transition
//! that consumes a signal); the batch's other transitions commit.

use sayiir_store::pg_harness::fresh_database;
use sayiir_store::{Event, NewSignal, PgStore, Store, StoreError, Timestamp};

use super::{create, finish, id, step, stray_entry};

fn extras(n: u8) -> Vec<Event> {
    (0..n)
        .map(|k| Event {
            kind: "task".into(),
            payload: vec![k],
        })
        .collect()
}

fn assert_exists(result: Result<(), StoreError>, i: &str, seq: u64) {
    match result {
        Err(StoreError::InvalidData { id, detail }) => {
            assert_eq!(id, i);
            assert!(
                detail.contains(&format!("history entry {seq} already exists")),
                "{i}: {detail}"
            );
        }
        other => panic!("`{i}`: expected InvalidData, got {other:?}"),
    }
}

#[tokio::test]
async fn a_transition_with_an_existing_entry_among_several_writes_none() {
    let Some(db) = fresh_database("pg extra events exist").await else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    for i in ["a", "b", "c", "d", "e", "f"] {
        create(&store, i, Some(100)).await;
    }
    let signal = NewSignal {
        id: id("d"),
        name: "go".into(),
        payload: b"x".to_vec(),
        now: Timestamp(150),
    };
    let sent = store.send_signal(signal).await.unwrap();
    for (i, seq) in [("a", 2), ("b", 3), ("d", 1)] {
        stray_entry(&db, i, seq).await;
    }
    let mut before = Vec::new();
    for i in ["a", "b", "d"] {
        let head = store.load(&id(i)).await.unwrap();
        let history = store.history(&id(i), None, None).await.unwrap();
        let pending = store.signals(&id(i)).await.unwrap();
        before.push((head, history, pending));
    }
    assert_exists(
        store
            .commit(step("a", 0, Some(300), 200).extra_events(extras(2)))
            .await,
        "a",
        2,
    );
    let mut consume = step("d", 0, None, 200).extra_events(extras(2));
    consume.consume_signals = vec![sent];
    let results = store
        .commit_batch(vec![
            step("a", 0, Some(300), 200).extra_events(extras(2)),
            finish("b", 0, 200).extra_events(extras(3)),
            step("c", 0, Some(300), 200).extra_events(extras(3)),
            consume,
            finish("e", 0, 200).extra_events(extras(1)),
            step("f", 0, Some(300), 200),
        ])
        .await
        .unwrap();
    let mut results = results.into_iter();
    assert_exists(results.next().unwrap(), "a", 2);
    assert_exists(results.next().unwrap(), "b", 3);
    results.next().unwrap().unwrap();
    assert_exists(results.next().unwrap(), "d", 1);
    results.next().unwrap().unwrap();
    results.next().unwrap().unwrap();
    for (i, before) in ["a", "b", "d"].into_iter().zip(before) {
        let head = store.load(&id(i)).await.unwrap();
        let history = store.history(&id(i), None, None).await.unwrap();
        let pending = store.signals(&id(i)).await.unwrap();
        assert_eq!(
            (head, history, pending),
            before,
            "the refused `{i}` changed"
        );
    }
    for (i, seq) in [("c", 4), ("e", 2), ("f", 1)] {
        assert_eq!(store.load(&id(i)).await.unwrap().seq, seq, "`{i}`");
        let seqs: Vec<u64> = store
            .history(&id(i), None, None)
            .await
            .unwrap()
            .iter()
            .map(|h| h.seq)
            .collect();
        assert_eq!(seqs, (0..=seq).collect::<Vec<_>>(), "history of `{i}`");
    }
}
