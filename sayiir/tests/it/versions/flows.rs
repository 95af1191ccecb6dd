//! The workflows of the versioning tests: three versions of `checkout`, which park at a
//! signal, a task, a join and a child workflow.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct Order {
    pub(crate) id: u64,
    pub(crate) total: u64,
}

/// Environment of the worker processes of `processes.rs`: a directory of gate files.
pub(crate) const GATES: &str = "SAYIIR_TEST_GATES";
/// Environment of the worker processes of `processes.rs`: milliseconds every task takes.
pub(crate) const TASK_MS: &str = "SAYIIR_TEST_TASK_MS";

/// Lets `processes.rs` park instances inside tasks from outside the worker process: when
/// [`GATES`] names a directory, the task of instance `i` waits while the file `<i>.<what>`
/// exists there (after creating `<i>.<what>.waiting`, so the test knows the task is held),
/// and [`TASK_MS`] makes every task take that long, so that kills land in the middle of work.
/// Without these variables (the in-process tests) it does nothing.
async fn hold(what: &str) {
    if let Some(ms) = std::env::var(TASK_MS).ok().and_then(|v| v.parse().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let (Ok(dir), Some(cx)) = (std::env::var(GATES), sayiir::TaskContext::current()) else {
        return;
    };
    let gate = Path::new(&dir).join(format!("{}.{what}", cx.instance()));
    if gate.exists() {
        std::fs::write(
            Path::new(&dir).join(format!("{}.{what}.waiting", cx.instance())),
            "",
        )
        .unwrap();
    }
    while gate.exists() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[sayiir::task]
pub(crate) async fn charge(order: Order) -> u64 {
    hold("charge").await;
    order.total
}

#[sayiir::task]
pub(crate) async fn ship(order: Order, paid: u64) -> String {
    hold("ship").await;
    format!("order {} shipped, {paid} paid", order.id)
}

#[sayiir::task]
pub(crate) async fn quote(carrier: String) -> u64 {
    hold(&format!("quote.{carrier}")).await;
    carrier.len() as u64
}

/// A child that waits for its own signal.
#[sayiir::workflow]
pub(crate) async fn notify(order: Order) -> String {
    let note: String = sayiir::signal::<String>("note").await;
    format!("{note} for {}", order.id)
}

pub(crate) mod v1 {
    use super::*;

    #[sayiir::workflow(name = "checkout")]
    pub(crate) async fn checkout(order: Order) -> String {
        let go: bool = sayiir::signal::<bool>("go").await;
        if !go {
            return "cancelled".into();
        }
        let paid = charge(order.clone()).await;
        let (a, b) = sayiir::join!(quote("post".to_string()), quote("express".to_string())).await;
        let note = notify(order.clone()).await;
        let label = ship(order, paid + a + b).await;
        format!("v1: {label}; {note}")
    }
}

pub(crate) mod v2 {
    use super::*;

    /// Same states as version 1 (a newer output format): instances move over as they are.
    #[sayiir::workflow(name = "checkout", version = 2)]
    pub(crate) async fn checkout(order: Order) -> String {
        let go: bool = sayiir::signal::<bool>("go").await;
        if !go {
            return "cancelled".into();
        }
        let paid = charge(order.clone()).await;
        let (a, b) = sayiir::join!(quote("post".to_string()), quote("express".to_string())).await;
        let note = notify(order.clone()).await;
        let label = ship(order, paid + a + b).await;
        format!("v2: {label}; {note}")
    }
}

pub(crate) mod v3 {
    use super::*;

    /// A `coupon` is kept from the start: every state stores one more field, so taking
    /// instances of versions 1 and 2 over needs migration functions.
    #[sayiir::workflow(name = "checkout", version = 3)]
    pub(crate) async fn checkout(order: Order) -> String {
        let coupon: Option<String> = None;
        let go: bool = sayiir::signal::<bool>("go").await;
        if !go {
            return "cancelled".into();
        }
        let paid = charge(order.clone()).await;
        let (a, b) = sayiir::join!(quote("post".to_string()), quote("express".to_string())).await;
        let note = notify(order.clone()).await;
        let label = ship(order, paid + a + b).await;
        format!(
            "v3: {label}; {note}; coupon {}",
            coupon.unwrap_or_else(|| "none".into())
        )
    }
}

/// The migration functions v1 → v3 and v2 → v3 need: every state gains `coupon`.
pub(crate) fn to_v3<Old: sayiir::Workflow>() -> sayiir::Migration<Old, v3::checkout> {
    let mut m = sayiir::Migration::<Old, v3::checkout>::new();
    for state in [
        "signal:go#1",
        "charge#1",
        "join(quote,quote)#1",
        "notify#1",
        "ship#1",
    ] {
        m = m.state(state, |m| m.set("coupon", &Some("MIGRATED".to_string())));
    }
    m
}
