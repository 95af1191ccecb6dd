//! The operator's API on every store (memory, SQLite, PostgreSQL): parked calls (dead letters)
//! retried, failed and cancelled; the table of which operation is allowed from which status
//! (a pause never hides another block); stats with the due backlog; `describe` and `timeline`
//! decoding values through the registered types and, in an engine without the workflow's
//! code, through the description saved in the store; JSON signals checked against the type.

#![allow(clippy::unwrap_used)]

mod crash;
mod decode;
mod states;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sayiir::admin::{Operation, Waiting};
use sayiir::store::{BlockKind, ListQuery, Store};
use sayiir::{Engine, EngineError, InstanceStatus, WorkerConfig};
use serde::{Deserialize, Serialize};

use crate::common::{eventually, within};

/// The keys whose `charge` fails, until a test "fixes" the task by removing them.
static BROKEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
/// The keys whose `charge` panics.
static PANICS: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn set(which: &Mutex<Option<HashSet<String>>>, key: &str, on: bool) {
    let mut g = which.lock().unwrap();
    let keys = g.get_or_insert_with(HashSet::new);
    if on {
        keys.insert(key.to_string());
    } else {
        keys.remove(key);
    }
}

fn has(which: &Mutex<Option<HashSet<String>>>, key: &str) -> bool {
    which
        .lock()
        .unwrap()
        .as_ref()
        .is_some_and(|k| k.contains(key))
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct Order {
    pub(crate) key: String,
    pub(crate) cents: u64,
}

#[sayiir::task(retries = 1, backoff = "1ms", on_exhausted = "park")]
async fn charge(order: Order) -> Result<u64, String> {
    if has(&PANICS, &order.key) {
        panic!("charge of `{}` panicked", order.key);
    }
    if has(&BROKEN, &order.key) {
        return Err(format!("card declined for {}", order.key));
    }
    Ok(order.cents)
}

#[sayiir::workflow]
pub(crate) async fn checkout(order: Order) -> String {
    let note = format!("order {}", order.key);
    match charge(order).await {
        Ok(cents) => format!("{note}: charged {cents}"),
        Err(e) => format!("{note}: not charged ({e})"),
    }
}

/// A task without a policy of its own, in a workflow that parks.
#[sayiir::task]
async fn ship(key: String) -> Result<String, String> {
    if has(&BROKEN, &key) {
        return Err(format!("no courier for {key}"));
    }
    Ok(format!("{key} shipped"))
}

/// A task that lets its error flow whatever the workflow says.
#[sayiir::task(on_exhausted = "fail")]
async fn notify(key: String) -> Result<(), String> {
    if has(&BROKEN, &format!("{key}/notify")) {
        return Err("mailer down".into());
    }
    Ok(())
}

#[sayiir::workflow(on_exhausted = "park")]
pub(crate) async fn delivery(key: String) -> String {
    let notified: String = match notify(key.clone()).await {
        Ok(()) => "notified".into(),
        Err(_) => "not notified".into(),
    };
    match ship(key).await {
        Ok(s) => format!("{s}, {notified}"),
        Err(e) => format!("{e}, {notified}"),
    }
}

pub(crate) fn engine(store: Arc<dyn Store>) -> Engine {
    Engine::builder_shared(store)
        .register::<checkout>()
        .register::<delivery>()
        .register::<states::approval>()
        .worker_config(WorkerConfig::default().idle_poll(Duration::from_millis(20)))
        .build()
        .unwrap()
}

pub(crate) fn order(key: &str) -> Order {
    Order {
        key: key.into(),
        cents: 1250,
    }
}

/// Waits until `id` is blocked with `kind`.
pub(crate) async fn blocked_with(engine: &Engine, id: &str, kind: BlockKind) -> String {
    eventually(&format!("`{id}` blocked ({kind:?})"), || async {
        match engine.status(id).await.unwrap().status {
            InstanceStatus::Blocked { kind: k, reason } if k == kind => Some(reason),
            _ => None,
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_call_is_retried_failed_or_cancelled_by_an_operator() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("parked", dir.path()).await {
        let engine = engine(store);
        let worker = engine.spawn_worker();
        let [retried, failed, cancelled] = ["retried", "failed", "cancelled"].map(|w| {
            let key = format!("{backend}-{w}");
            set(&BROKEN, &key, true);
            key
        });
        for key in [&retried, &failed, &cancelled] {
            engine.start::<checkout>(key, order(key)).await.unwrap();
        }
        for key in [&retried, &failed, &cancelled] {
            let reason = blocked_with(&engine, key, BlockKind::Parked).await;
            assert!(
                reason.contains("`charge`") && reason.contains(&format!("card declined for {key}")),
                "{backend}: the reason names the task and the last error: {reason}"
            );
        }

        // What is allowed on a parked instance, and what is not (nothing changes).
        let d = engine.describe(&retried).await.unwrap();
        assert_eq!(
            d.allowed,
            [Operation::Retry, Operation::Fail, Operation::Cancel],
            "{backend}"
        );
        match engine.pause(&retried).await {
            Err(EngineError::NotAllowed {
                operation, status, ..
            }) => {
                assert_eq!(operation, Operation::Pause);
                assert!(status.contains("parked"), "{backend}: {status}");
            }
            other => panic!("{backend}: pause of a parked instance: {other:?}"),
        }
        assert!(matches!(
            engine.resume(&retried).await,
            Err(EngineError::NotPaused { .. })
        ));
        blocked_with(&engine, &retried, BlockKind::Parked).await;
        assert_eq!(
            d.waiting,
            [Waiting::Task {
                slot: vec![],
                task: "charge".into(),
                attempt: 2,
                attempts: 2,
                not_before: d.waiting.iter().find_map(|w| match w {
                    Waiting::Task { not_before, .. } => *not_before,
                    _ => None,
                }),
                deadline: None,
                parks_when_exhausted: true,
            }],
            "{backend}: it waits at the failed call, its attempts used up"
        );

        // Retry after "fixing" the task: the call runs again from attempt 1, and completes.
        set(&BROKEN, &retried, false);
        engine.retry(&retried).await.unwrap();
        let out = within("the retried instance", engine.result::<checkout>(&retried)).await;
        assert_eq!(out.unwrap(), format!("order {retried}: charged 1250"));
        let timeline = engine.timeline(&retried).await.unwrap();
        let kinds: Vec<&str> = timeline.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "started",
                "start",
                "retry",
                "parked",
                "operator-retry",
                "task"
            ],
            "{backend}"
        );
        let retry = &timeline[2];
        assert_eq!(retry.task.as_deref(), Some("charge"));
        assert_eq!(retry.attempt, Some(1));
        assert_eq!(
            retry.error.as_deref(),
            Some(format!("card declined for {retried}").as_str())
        );
        assert_eq!(
            timeline[5].attempt,
            Some(1),
            "{backend}: a fresh attempt budget"
        );
        assert_eq!(timeline[5].value, Some(serde_json::json!({"Ok": 1250})));
        for pair in timeline.windows(2) {
            assert!(pair[0].at <= pair[1].at);
            assert_eq!(pair[1].since_previous, Some(pair[0].at.until(pair[1].at)));
        }
        assert!(
            timeline[0].time.ends_with('Z') && timeline[0].time.contains('T'),
            "RFC 3339: {}",
            timeline[0].time
        );

        // Fail: the error flows into the workflow, which handles it.
        engine.fail(&failed).await.unwrap();
        let out = within("the failed instance", engine.result::<checkout>(&failed)).await;
        assert_eq!(
            out.unwrap(),
            format!("order {failed}: not charged (card declined for {failed})")
        );
        let kinds: Vec<String> = engine
            .timeline(&failed)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds.last().map(String::as_str), Some("operator-fail"));

        // Cancel works on a parked instance; then nothing more is allowed.
        engine.cancel(&cancelled, "written off").await.unwrap();
        for op in [
            engine.retry(&cancelled).await,
            engine.fail(&cancelled).await,
        ] {
            assert!(matches!(op, Err(EngineError::Finished { .. })), "{op:?}");
        }
        worker.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_default_parks_and_a_task_option_wins() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("default_park", dir.path()).await {
        let engine = engine(store);
        let worker = engine.spawn_worker();
        // `notify` says "fail": its error flows although the workflow parks.
        let flows = format!("{backend}-flows");
        set(&BROKEN, &format!("{flows}/notify"), true);
        engine
            .start::<delivery>(&flows, flows.clone())
            .await
            .unwrap();
        let out = within("delivery", engine.result::<delivery>(&flows)).await;
        assert_eq!(out.unwrap(), format!("{flows} shipped, not notified"));
        // `ship` has no option: the workflow's `park` applies.
        let parks = format!("{backend}-parks");
        set(&BROKEN, &parks, true);
        engine
            .start::<delivery>(&parks, parks.clone())
            .await
            .unwrap();
        let reason = blocked_with(&engine, &parks, BlockKind::Parked).await;
        assert!(reason.contains("no courier"), "{reason}");
        set(&BROKEN, &parks, false);
        engine.retry(&parks).await.unwrap();
        let out = within("delivery retried", engine.result::<delivery>(&parks)).await;
        assert_eq!(out.unwrap(), format!("{parks} shipped, notified"));
        worker.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_never_hides_another_block_and_retry_runs_a_panicked_call_again() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("pause_blocks", dir.path()).await {
        let engine = engine(store);
        let worker = engine.spawn_worker();
        let key = format!("{backend}-panics");
        set(&PANICS, &key, true);
        engine.start::<checkout>(&key, order(&key)).await.unwrap();
        let reason = blocked_with(&engine, &key, BlockKind::Panicked).await;
        // Before: pause + resume turned a panicked instance into a runnable one.
        assert!(matches!(
            engine.pause(&key).await,
            Err(EngineError::NotAllowed {
                operation: Operation::Pause,
                ..
            })
        ));
        assert!(matches!(
            engine.resume(&key).await,
            Err(EngineError::NotPaused { .. })
        ));
        assert!(matches!(
            engine.fail(&key).await,
            Err(EngineError::NotAllowed {
                operation: Operation::Fail,
                ..
            })
        ));
        assert_eq!(
            blocked_with(&engine, &key, BlockKind::Panicked).await,
            reason,
            "{backend}: the block and its reason are kept"
        );
        // Needs attention: listed with the parked ones.
        let listed = engine
            .list(&ListQuery::new().needs_attention())
            .await
            .unwrap();
        assert!(listed.instances.iter().any(|i| i.id.as_str() == key));
        // Retry after the fix: it runs again and completes.
        set(&PANICS, &key, false);
        engine.retry(&key).await.unwrap();
        let out = within("the retried panicked call", engine.result::<checkout>(&key)).await;
        assert_eq!(out.unwrap(), format!("order {key}: charged 1250"));
        worker.shutdown().await.unwrap();
    }
}

/// A workflow called as a plain `async fn` has no operator to wait for: the error flows.
#[tokio::test]
async fn a_workflow_called_directly_never_parks() {
    set(&BROKEN, "direct", true);
    assert_eq!(
        checkout(order("direct")).await,
        "order direct: not charged (card declined for direct)"
    );
}

#[sayiir::workflow]
pub(crate) async fn pair(a: Order, b: Order) -> String {
    let (x, y) = sayiir::join!(charge(a), charge(b)).await;
    format!("{x:?} {y:?}")
}

/// A call parked inside a join: the other branch's result is kept, the retried call runs
/// again at its slot and the join completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_parked_inside_a_join_is_retried_at_its_slot() {
    let store: Arc<dyn Store> = Arc::new(sayiir::MemoryStore::new());
    let engine = Engine::builder_shared(store)
        .register::<pair>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    set(&BROKEN, "join-b", true);
    engine
        .start::<pair>("joined", (order("join-a"), order("join-b")))
        .await
        .unwrap();
    let reason = blocked_with(&engine, "joined", BlockKind::Parked).await;
    assert!(reason.contains("card declined for join-b"), "{reason}");
    let d = engine.describe("joined").await.unwrap();
    assert!(
        d.waiting.iter().any(|w| matches!(
            w,
            Waiting::Task { slot, task, .. } if slot == &[1] && task == "charge"
        )),
        "{:?}",
        d.waiting
    );
    set(&BROKEN, "join-b", false);
    engine.retry("joined").await.unwrap();
    let out = within("the join", engine.result::<pair>("joined")).await;
    assert_eq!(out.unwrap(), "Ok(1250) Ok(1250)");
    worker.shutdown().await.unwrap();
}
