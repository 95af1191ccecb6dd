//! The application's workflows: an order that waits for an approval, one that completes, one
//! that fails, one that sleeps for a day, one whose task panics (it is blocked: it needs
//! attention), one whose task parks it when its attempts run out (it needs attention: an
//! operator retries the call or lets its error flow). Shared with the tests (`tests/it/main.rs`), which
//! populate stores with them.

use std::time::Duration;

use sayiir::EngineBuilder;
use serde::{Deserialize, Serialize};

/// The payload of the `approve` signal.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct Approval {
    /// Who approved.
    pub(crate) by: String,
    /// Up to what amount.
    pub(crate) limit: u64,
}

#[sayiir::task]
async fn reserve(order: u64) -> u64 {
    order * 100
}

#[sayiir::task]
async fn charge(order: u64) -> Result<u64, String> {
    Err(format!("card declined for order {order}"))
}

/// Reserves, waits for `approve`, then completes.
#[sayiir::workflow]
pub(crate) async fn order(order: u64) -> Result<String, String> {
    let total = reserve(order).await;
    let approval = sayiir::signal::<Approval>("approve").await;
    if total > approval.limit {
        return Err(format!("{total} is over {}'s limit", approval.by));
    }
    Ok(format!(
        "order {order}: {total} approved by {}",
        approval.by
    ))
}

/// Completes at once.
#[sayiir::workflow]
pub(crate) async fn quick(n: u64) -> u64 {
    reserve(n).await
}

/// Fails: its charge is declined.
#[sayiir::workflow]
pub(crate) async fn doomed(order: u64) -> Result<u64, String> {
    charge(order).await
}

/// Sleeps for a day.
#[sayiir::workflow]
pub(crate) async fn nap(n: u64) -> u64 {
    sayiir::sleep(Duration::from_secs(86_400)).await;
    n
}

#[sayiir::task]
async fn inspect(n: u64) -> u64 {
    if n > 0 {
        panic!("inspector crashed on parcel {n}");
    }
    n
}

/// Its task panics: the instance is blocked.
#[sayiir::workflow]
pub(crate) async fn fragile(n: u64) -> u64 {
    inspect(n).await
}

/// The parcels the carrier takes again (the "fix" a test makes before retrying a parked call).
pub(crate) static CARRIER_TAKES: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

#[sayiir::task(on_exhausted = "park")]
async fn ship(n: u64) -> Result<u64, String> {
    let takes = CARRIER_TAKES
        .lock()
        .map(|t| t.contains(&n))
        .unwrap_or(false);
    if takes {
        return Ok(n);
    }
    Err(format!("the carrier refused parcel {n}"))
}

/// Parks when its one attempt at shipping fails.
#[sayiir::workflow]
pub(crate) async fn parcel(n: u64) -> Result<u64, String> {
    ship(n).await
}

/// `builder` with every workflow of the application registered.
pub(crate) fn register(builder: EngineBuilder) -> EngineBuilder {
    builder
        .register::<order>()
        .register::<quick>()
        .register::<doomed>()
        .register::<nap>()
        .register::<fragile>()
        .register::<parcel>()
}
