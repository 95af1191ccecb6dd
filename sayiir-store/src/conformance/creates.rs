//! create_batch: per-item results in input order, existing and repeated ids, concurrency.

use std::collections::HashMap;
use std::sync::Arc;

use super::{create, create_with, event, hash, id, load, new_instance, running};
use crate::{
    CreateResult, Created, HistoryEntry, InstanceRecord, NewInstance, Status, Store, Timestamp,
};

/// The record `create` returns for `new`.
fn record_of(new: &NewInstance) -> InstanceRecord {
    InstanceRecord {
        id: new.id.clone(),
        workflow: new.workflow.clone(),
        version: new.version,
        hash: new.hash,
        fingerprint: new.fingerprint,
        seq: 0,
        status: Status::Running,
        state_id: Some(new.state_id.clone()),
        state: Some(new.state.clone()),
        output: None,
        due_at: new.due_at,
        blocked: None,
        created_at: new.now,
        updated_at: new.now,
        lease: None,
        trace_context: new.trace_context.clone(),
        priority: new.priority,
        head_start_ms: new.head_start_ms,
        concurrency_key: new.concurrency_key.clone(),
    }
}

/// History entry 0 that `create` writes for `new`.
fn entry0(new: &NewInstance) -> HistoryEntry {
    HistoryEntry {
        seq: 0,
        at: new.now,
        kind: new.event.kind.clone(),
        payload: new.event.payload.clone(),
    }
}

/// Runs `create_batch`, which must succeed and answer each input.
async fn batch<S: Store>(s: &S, news: Vec<NewInstance>) -> Vec<CreateResult> {
    let n = news.len();
    let results = s
        .create_batch(news)
        .await
        .unwrap_or_else(|e| panic!("create_batch of {n} instances failed: {e:?}"));
    assert_eq!(results.len(), n, "create_batch answers each input once");
    results
}

fn assert_new(result: &CreateResult, expected: &InstanceRecord, what: &str) {
    match result {
        Ok(Created::New(r)) => assert_eq!(r, expected, "{what}: the record returned"),
        other => panic!("{what}: got {other:?}, expected Created::New"),
    }
}

fn assert_existing(result: &CreateResult, expected: &InstanceRecord, what: &str) {
    match result {
        Ok(Created::Existing(r)) => assert_eq!(r, expected, "{what}: the record returned"),
        other => panic!("{what}: got {other:?}, expected Created::Existing"),
    }
}

pub(super) async fn create_batch_new<S: Store>(s: Arc<S>) {
    assert!(
        batch(&*s, Vec::new()).await.is_empty(),
        "an empty batch has no results"
    );
    // Not in id order, with and without a due time, of two workflows.
    let news = vec![
        new_instance("b-2", "orders", 7, Some(150), 100),
        new_instance("a-1", "orders", 7, None, 110),
        new_instance("c-3", "refunds", 8, Some(90), 120),
    ];
    let results = batch(&*s, news.clone()).await;
    for (new, result) in news.iter().zip(&results) {
        let what = format!("create_batch of new instance `{}`", new.id);
        let expected = record_of(new);
        assert_new(result, &expected, &what);
        assert_eq!(load(&*s, new.id.as_str()).await, expected, "{what}: load");
        let history = s.history(&new.id, None, None).await.unwrap();
        assert_eq!(history, vec![entry0(new)], "{what}: history holds entry 0");
    }
}

pub(super) async fn create_batch_existing<S: Store>(s: Arc<S>) {
    create(&*s, "old", Some(100)).await;
    s.commit(running("old", 0, b"moved on", None, 130))
        .await
        .unwrap();
    let old = load(&*s, "old").await;
    let old_history = s.history(&id("old"), None, None).await.unwrap();

    let mut again = new_instance("old", "other", 9, Some(5), 999);
    again.state = b"other state".to_vec();
    again.event = event("other", b"other payload");
    let news = vec![
        new_instance("new-1", "wf", 1, Some(200), 200),
        again,
        new_instance("new-0", "wf", 1, Some(200), 200),
    ];
    let results = batch(&*s, news.clone()).await;
    assert_new(&results[0], &record_of(&news[0]), "first input, new");
    assert_existing(&results[1], &old, "second input, an existing id");
    assert_new(&results[2], &record_of(&news[2]), "third input, new");
    assert_eq!(
        load(&*s, "old").await,
        old,
        "the existing head is unchanged"
    );
    assert_eq!(
        s.history(&id("old"), None, None).await.unwrap(),
        old_history,
        "the existing history is unchanged"
    );

    // A batch of existing ids only creates nothing.
    let news = vec![
        new_instance("new-0", "x", 2, None, 300),
        new_instance("old", "x", 2, None, 300),
    ];
    let results = batch(&*s, news).await;
    assert_existing(
        &results[0],
        &load(&*s, "new-0").await,
        "an id created by an earlier batch",
    );
    assert_existing(&results[1], &old, "an existing id, again");
}

pub(super) async fn create_batch_repeated_id<S: Store>(s: Arc<S>) {
    let first = new_instance("twice", "wf", 1, Some(100), 100);
    let mut second = new_instance("twice", "other", 2, None, 500);
    second.event = event("second", b"second payload");
    let news = vec![
        first.clone(),
        new_instance("once", "wf", 1, Some(100), 100),
        second,
    ];
    let results = batch(&*s, news.clone()).await;
    let expected = record_of(&first);
    assert_new(&results[0], &expected, "first occurrence of a repeated id");
    assert_new(&results[1], &record_of(&news[1]), "an id between the two");
    assert_existing(
        &results[2],
        &expected,
        "second occurrence of a repeated id finds the first",
    );
    assert_eq!(load(&*s, "twice").await, expected, "the first one won");
    assert_eq!(
        s.history(&id("twice"), None, None).await.unwrap(),
        vec![entry0(&first)],
        "one history entry 0, the first's"
    );

    // Repeated and existing at once.
    let news = vec![
        new_instance("twice", "x", 3, None, 900),
        new_instance("twice", "y", 4, None, 901),
    ];
    let results = batch(&*s, news).await;
    assert_existing(&results[0], &expected, "an existing id repeated, first");
    assert_existing(&results[1], &expected, "an existing id repeated, second");
}

/// Concurrent batches over the same ids, each in another order: every id is created exactly
/// once and every other answer is that instance.
pub(super) async fn create_batch_concurrent<S: Store>(s: Arc<S>) {
    const BATCHES: usize = 4;
    const IDS: usize = 24;
    create_with(&*s, new_instance("id-05", "wf", 1, Some(100), 100)).await;
    let mut tasks = Vec::new();
    for b in 0..BATCHES {
        let s = Arc::clone(&s);
        let mut order: Vec<usize> = (0..IDS).collect();
        if b % 2 == 1 {
            order.reverse();
        }
        order.rotate_left(b * 5);
        tasks.push(tokio::spawn(async move {
            let news: Vec<NewInstance> = order
                .iter()
                .map(|i| {
                    let mut n = new_instance(&format!("id-{i:02}"), "wf", 1, Some(100), 100);
                    n.state = format!("batch {b}").into_bytes();
                    n
                })
                .collect();
            let ids: Vec<String> = news.iter().map(|n| n.id.as_str().to_owned()).collect();
            let results = s.create_batch(news).await;
            (ids, results)
        }));
    }
    let mut created: HashMap<String, usize> = HashMap::new();
    let mut seen: HashMap<String, Vec<InstanceRecord>> = HashMap::new();
    for task in tasks {
        let (ids, results) = task.await.expect("batch task");
        let results = results.unwrap_or_else(|e| panic!("a concurrent create_batch failed: {e:?}"));
        assert_eq!(results.len(), ids.len(), "one result per input");
        for (i, result) in ids.into_iter().zip(results) {
            let record = match result {
                Ok(Created::New(r)) => {
                    *created.entry(i.clone()).or_default() += 1;
                    r
                }
                Ok(Created::Existing(r)) => r,
                Err(e) => panic!("create of `{i}` in a concurrent batch failed: {e:?}"),
            };
            assert_eq!(record.id.as_str(), i, "results line up with inputs");
            seen.entry(i).or_default().push(record);
        }
    }
    assert_eq!(
        created.get("id-05"),
        None,
        "an existing id is never created"
    );
    for i in 0..IDS {
        let i = format!("id-{i:02}");
        if i != "id-05" {
            assert_eq!(created.get(&i), Some(&1), "`{i}` is created exactly once");
        }
        let head = load(&*s, &i).await;
        for r in &seen[&i] {
            assert_eq!(r, &head, "every batch sees the one instance `{i}`");
        }
        let history = s.history(&id(&i), None, None).await.unwrap();
        assert_eq!(history.len(), 1, "`{i}` has history entry 0 only");
        assert_eq!(head.hash, hash(1));
        assert_eq!(head.created_at, Timestamp(100));
    }
}
