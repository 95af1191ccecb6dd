//! A transition of several history entries (`Transition::extra_events`) one of which already
//! exists is refused whole, naming the first such entry, and writes nothing; on its own and in
//! a batch, whose other transitions commit.

use sayiir_store::{Event, SqliteStore, Store, StoreError};
use tempfile::TempDir;

use super::{create, db, id, raw, step};

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
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let store = SqliteStore::open(&path).unwrap();
    for i in ["a", "b", "c"] {
        create(&store, i).await;
    }
    let conn = raw(&path);
    for (i, seq) in [("a", 2), ("b", 3)] {
        conn.execute(
            "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) \
             VALUES (?1, ?2, 50, 'stray', x'00')",
            rusqlite::params![i, seq],
        )
        .unwrap();
    }
    let before_a = (
        store.load(&id("a")).await.unwrap(),
        store.history(&id("a"), None, None).await.unwrap(),
    );
    assert_exists(
        store
            .commit(step("a", 0, b"x".to_vec()).extra_events(extras(2)))
            .await,
        "a",
        2,
    );
    let results = store
        .commit_batch(vec![
            step("a", 0, b"x".to_vec()).extra_events(extras(2)),
            step("b", 0, b"x".to_vec()).extra_events(extras(3)),
            step("c", 0, b"ok".to_vec()).extra_events(extras(3)),
        ])
        .await
        .unwrap();
    let mut results = results.into_iter();
    assert_exists(results.next().unwrap(), "a", 2);
    assert_exists(results.next().unwrap(), "b", 3);
    results.next().unwrap().unwrap();
    let after_a = (
        store.load(&id("a")).await.unwrap(),
        store.history(&id("a"), None, None).await.unwrap(),
    );
    assert_eq!(after_a, before_a, "the refused `a` changed");
    let b: Vec<(u64, String)> = store
        .history(&id("b"), None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.seq, h.kind))
        .collect();
    assert_eq!(b, [(0, "started".into()), (3, "stray".into())]);
    assert_eq!(store.load(&id("b")).await.unwrap().seq, 0);
    assert_eq!(store.load(&id("c")).await.unwrap().seq, 4);
    let c = store.history(&id("c"), None, None).await.unwrap();
    assert_eq!(c.iter().map(|h| h.seq).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
}
