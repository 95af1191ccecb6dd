//! Signals: typed on both sides, buffered durably, consumed in order in the commit of the
//! transition they cause; typed errors for every wrong send.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sayiir::store::Status;
use sayiir::testing::TestEngine;
use sayiir::{Engine, EngineError, SignalTimeout, SqliteStore, WorkerConfig};
use serde::{Deserialize, Serialize};

use crate::common;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Approval {
    by: String,
}

#[sayiir::task]
async fn file(doc: String) -> String {
    format!("filed {doc}")
}

#[sayiir::workflow]
async fn review(doc: String) -> String {
    let first = sayiir::signal::<Approval>("approve").await;
    let second = sayiir::signal::<Approval>("approve").await;
    let note = sayiir::signal::<String>("note")
        .timeout(Duration::from_secs(24 * 3600))
        .await;
    let filed = file(doc).await;
    let note = match note {
        Ok(n) => n,
        Err(SignalTimeout { name, .. }) => format!("no {name}"),
    };
    format!("{filed}: {} then {}, {note}", first.by, second.by)
}

#[sayiir::workflow]
async fn race(doc: String) -> (String, Approval) {
    let (filed, approval) = sayiir::join!(file(doc), sayiir::signal::<Approval>("approve")).await;
    (filed, approval)
}

fn approval(by: &str) -> Approval {
    Approval { by: by.into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_sent_before_the_wait_are_buffered_and_consumed_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("signals.db")).unwrap();
    let engine = Engine::builder(store).register::<review>().build().unwrap();
    engine
        .start::<review>("doc-1", "spec".into())
        .await
        .unwrap();
    // No worker yet: the signals wait in the store.
    engine
        .signal("doc-1", "approve", &approval("ada"))
        .await
        .unwrap();
    engine
        .signal("doc-1", "note", &"ship it".to_string())
        .await
        .unwrap();
    engine
        .signal("doc-1", "approve", &approval("bob"))
        .await
        .unwrap();
    assert_eq!(
        engine
            .store()
            .signals(&"doc-1".parse().unwrap())
            .await
            .unwrap()
            .len(),
        3
    );
    let worker = engine.spawn_worker();
    let out = engine.result::<review>("doc-1").await.unwrap();
    assert_eq!(out, "filed spec: ada then bob, ship it");
    let history = engine.history("doc-1").await.unwrap();
    let signals = history.iter().filter(|h| h.kind == "signal").count();
    assert_eq!(signals, 3, "each signal delivered exactly once");
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_sends_are_typed_errors_and_send_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("signals.db")).unwrap();
    let engine = Engine::builder(store)
        .register::<review>()
        .register::<race>()
        .build()
        .unwrap();
    engine
        .start::<review>("doc-2", "spec".into())
        .await
        .unwrap();
    let err = engine.signal("doc-2", "approve", &"yes").await.unwrap_err();
    assert!(
        matches!(&err, EngineError::SignalType { name, expected, .. } if name == "approve" && expected.contains("Approval")),
        "{err}"
    );
    let err = engine
        .signal("doc-2", "approved", &approval("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::UnknownSignal { declared, .. } if declared.len() == 2),
        "{err}"
    );
    let err = engine
        .signal("nobody", "approve", &approval("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound { .. }), "{err}");
    let err = engine
        .signal("bad\nid", "approve", &approval("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidId(_)), "{err}");
    assert!(
        engine
            .store()
            .signals(&"doc-2".parse().unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    // A signal inside a join; then the instance is finished and takes no more.
    engine.start::<race>("race-1", "memo".into()).await.unwrap();
    engine
        .signal("race-1", "approve", &approval("cy"))
        .await
        .unwrap();
    let worker = engine.spawn_worker();
    let (filed, who) = engine.result::<race>("race-1").await.unwrap();
    assert_eq!((filed.as_str(), who), ("filed memo", approval("cy")));
    let err = engine
        .signal("race-1", "approve", &approval("late"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Finished {
                status: Status::Completed,
                ..
            }
        ),
        "{err}"
    );
    worker.shutdown().await.unwrap();
}

/// The worker's idle poll is an hour: only the signal itself can wake the instance in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_wakes_a_waiting_instance_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("signals.db")).unwrap();
    let engine = Engine::builder(store)
        .register::<race>()
        .worker_config(WorkerConfig::default().idle_poll(Duration::from_secs(3600)))
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    engine.start::<race>("race-2", "memo".into()).await.unwrap();
    // Let it park on the signal (the task branch finishes, the signal branch waits).
    let parked = common::eventually("race-2 to park on its signal", || async {
        let s = engine.status("race-2").await.unwrap();
        (s.seq >= 2 && s.due_at.is_none()).then_some(s)
    })
    .await;
    assert_eq!(parked.due_at, None, "waiting on an event, not a time");
    engine
        .signal("race-2", "approve", &approval("dee"))
        .await
        .unwrap();
    let (_, who) = common::within("the signal to wake race-2", engine.result::<race>("race-2"))
        .await
        .unwrap();
    assert_eq!(who, approval("dee"));
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_timeout_of_a_day_passes_in_virtual_time() {
    let t = TestEngine::builder().register::<review>().build().unwrap();
    t.start::<review>("doc-3", "plan".into()).await.unwrap();
    t.signal("doc-3", "approve", &approval("ada"))
        .await
        .unwrap();
    t.signal("doc-3", "approve", &approval("bob"))
        .await
        .unwrap();
    let before = t.now();
    let out = t.run_until_done::<review>("doc-3").await.unwrap();
    assert_eq!(out, "filed plan: ada then bob, no note");
    let waited = t.now().duration_since(before).unwrap();
    assert!(
        waited >= Duration::from_secs(24 * 3600),
        "virtual time moved {waited:?}"
    );
    t.shutdown().await.unwrap();
}
