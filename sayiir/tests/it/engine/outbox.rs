//! Starting an instance and sending a signal inside the application's own transaction (the
//! outbox pattern), on PostgreSQL (`outbox_pg.rs`) and SQLite (`outbox_sqlite.rs`). In each
//! case a worker is running and polls often; the application writes a row of its own table
//! and starts (or signals) in one transaction. Until the commit, nothing runs and nothing is
//! visible from outside the transaction; after it, the instance runs to the end; after a
//! rollback, neither the row nor the instance (or the signal) exists and nothing ran.

use std::sync::Mutex;
use std::time::Duration;

use sayiir::store::Store;
use sayiir::{Engine, EngineError, InstanceStatus, WorkerConfig};

#[path = "outbox_pg.rs"]
mod pg;
#[path = "outbox_sqlite.rs"]
mod sqlite;

/// The orders whose task ran, by any test of this module.
static RAN: Mutex<Vec<u64>> = Mutex::new(Vec::new());

fn ran(order: u64) -> bool {
    RAN.lock().unwrap().contains(&order)
}

#[sayiir::task]
async fn fulfil(order: u64) -> String {
    RAN.lock().unwrap().push(order);
    format!("order {order} fulfilled")
}

#[sayiir::workflow]
pub(crate) async fn fulfilment(order: u64) -> String {
    fulfil(order).await
}

#[sayiir::workflow]
async fn approval(order: u64) -> String {
    let by = sayiir::signal::<String>("approve").await;
    let done = fulfil(order).await;
    format!("{done}, approved by {by}")
}

/// How long a transaction stays open while the worker polls (every 20 ms).
const OPEN: Duration = Duration::from_millis(600);

/// How long a test waits for a result.
const SOON: Duration = crate::common::PATIENCE;

fn engine(store: impl Store) -> Engine {
    Engine::builder(store)
        .register::<fulfilment>()
        .register::<approval>()
        .worker_config(WorkerConfig::default().idle_poll(Duration::from_millis(20)))
        .build()
        .unwrap()
}

fn assert_not_found(result: Result<sayiir::InstanceInfo, EngineError>, what: &str) {
    match result {
        Err(EngineError::NotFound { .. }) => {}
        other => panic!("{what}: expected NotFound from outside the transaction, got {other:?}"),
    }
}

/// Waits until `id` waits for its `approve` signal.
async fn waiting_for_approval(engine: &Engine, id: &str) {
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let info = engine.status(id).await.unwrap();
        if info.state.as_deref() == Some("signal:approve#1") && info.due_at.is_none() {
            assert_eq!(info.status, InstanceStatus::Running);
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "`{id}` never waited for its signal: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn result<W: sayiir::Workflow>(engine: &Engine, id: &str) -> W::Output {
    tokio::time::timeout(SOON, engine.result::<W>(id))
        .await
        .unwrap_or_else(|_| panic!("`{id}` did not finish within {SOON:?}"))
        .unwrap()
}
