//! JSON logs with correlation ids: every line a task logs, and every line the engine logs about
//! an instance, names the workflow, the instance, the task and its attempt, and the worker.
//!
//! ```text
//! cargo run -p sayiir-examples --example json_logs
//! ```
//!
//! The engine runs each task attempt inside a `sayiir.task` span (and each transition inside a
//! `sayiir.transition` span, at debug level), with the fields `sayiir.workflow.name`, `sayiir.instance.id`,
//! `sayiir.task.name`, `sayiir.task.attempt` and `sayiir.worker.id`. `tracing-subscriber`'s
//! JSON formatter writes the current span's fields (`span`) and those of every enclosing span
//! (`spans`) on each line, so a plain `tracing::info!` in a task is correlated with no
//! extra code. A failed attempt's span also carries `otel.status_code = "ERROR"` and the
//! error (`otel.status_description`), for an OpenTelemetry exporter.

use std::sync::atomic::{AtomicU32, Ordering};

use sayiir::{Engine, MemoryStore};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct Order {
    pub(crate) id: String,
    pub(crate) cents: u64,
}

#[sayiir::task]
async fn reserve_stock(order: Order) -> Result<String, String> {
    tracing::info!(order = %order.id, "reserving stock");
    Ok(format!("reservation-{}", order.id))
}

static DECLINES: AtomicU32 = AtomicU32::new(0);

/// The payment gateway declines the first charge it sees: the attempt is retried.
#[sayiir::task(retries = 2, backoff = "50ms")]
async fn charge_card(order: Order) -> Result<String, String> {
    tracing::info!(order = %order.id, cents = order.cents, "charging the card");
    if DECLINES.fetch_add(1, Ordering::SeqCst) == 0 {
        tracing::warn!(order = %order.id, "the gateway timed out");
        return Err("gateway timeout".into());
    }
    Ok(format!("payment-{}", order.id))
}

#[sayiir::task]
async fn ship(order: Order, reservation: String) -> Result<String, String> {
    tracing::info!(order = %order.id, %reservation, "handing over to the carrier");
    Ok(format!("track-{}", order.id))
}

/// Reserves, charges (retried once), ships.
#[sayiir::workflow]
pub(crate) async fn fulfil(order: Order) -> Result<String, String> {
    let reservation = reserve_stock(order.clone()).await?;
    charge_card(order.clone()).await?;
    ship(order, reservation).await
}

/// Runs two orders to the end; the logs go to the global subscriber.
pub(crate) async fn run() -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let engine = Engine::builder(MemoryStore::new())
        .register::<fulfil>()
        .build()?;
    let worker = engine.spawn_worker();
    let mut handles = Vec::new();
    for (id, cents) in [("o-1", 1250), ("o-2", 990)] {
        let order = Order {
            id: id.into(),
            cents,
        };
        handles.push(engine.start::<fulfil>(format!("order-{id}"), order).await?);
    }
    let mut out = Vec::new();
    for handle in handles {
        let tracking = handle.result().await??;
        tracing::info!(sayiir.instance.id = %handle.id(), %tracking, "order fulfilled");
        out.push(tracking);
    }
    worker.shutdown().await?;
    Ok(out)
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .json()
        // The current span's fields and those of every enclosing span, on every line.
        .with_current_span(true)
        .with_span_list(true)
        .flatten_event(true)
        // `debug` adds a span per store operation (`sayiir.store.commit`, `.claim`, …).
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stdout)
        .init();
    run().await?;
    Ok(())
}
