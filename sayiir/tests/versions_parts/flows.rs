//! The workflows of the versioning tests: three versions of `checkout`, which park at a
//! signal, a task, a sleep, a join and a child workflow.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct Order {
    pub(crate) id: u64,
    pub(crate) total: u64,
}

#[sayiir::task]
pub(crate) async fn charge(order: Order) -> u64 {
    order.total
}

#[sayiir::task]
pub(crate) async fn ship(order: Order, paid: u64) -> String {
    format!("order {} shipped, {paid} paid", order.id)
}

#[sayiir::task]
pub(crate) async fn quote(carrier: String) -> u64 {
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
