//! The engine's bookkeeping, seen from inside: what `result` leaves behind.

use std::time::Duration;

use sayiir_macros::{task, workflow};
use sayiir_store::MemoryStore;

use super::Engine;

#[task(crate = crate)]
async fn never(n: u64) -> u64 {
    std::future::pending::<()>().await;
    n
}

#[workflow(crate = crate)]
async fn stuck(n: u64) -> u64 {
    never(n).await
}

fn waiters(engine: &Engine) -> usize {
    engine
        .inner
        .waiters
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .len()
}

/// `result` under a timeout (as in an HTTP handler) on instances that do not finish: every
/// dropped call unsubscribes, the last waiter of an instance takes its entry with it, and a
/// waiter still waiting keeps its own.
#[tokio::test]
async fn dropped_result_calls_leave_no_waiter() {
    let engine = Engine::builder(MemoryStore::new())
        .register::<stuck>()
        .build()
        .unwrap();
    for i in 0..200u64 {
        let id = format!("s-{i}");
        let _ = engine.start::<stuck>(&id, i).await.unwrap();
        let waited =
            tokio::time::timeout(Duration::from_millis(1), engine.result::<stuck>(&id)).await;
        assert!(waited.is_err(), "`{id}` cannot finish without a worker");
    }
    assert_eq!(waiters(&engine), 0, "timed-out `result` calls left waiters");

    let patient = tokio::spawn({
        let engine = engine.clone();
        async move { engine.result::<stuck>("s-0").await }
    });
    while waiters(&engine) == 0 {
        tokio::task::yield_now().await;
    }
    let waited =
        tokio::time::timeout(Duration::from_millis(1), engine.result::<stuck>("s-0")).await;
    assert!(waited.is_err());
    assert_eq!(
        waiters(&engine),
        1,
        "the waiting call lost its subscription"
    );
    patient.abort();
    assert!(patient.await.unwrap_err().is_cancelled());
    assert_eq!(waiters(&engine), 0);
}
