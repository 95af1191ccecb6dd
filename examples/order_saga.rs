//! A saga: reserve stock, charge the card, ship — and undo the earlier steps when a later one
//! fails (compensation), with ordinary `match` and `?` in the workflow body.
//!
//! ```text
//! cargo run -p sayiir-examples --example order_saga
//! ```

use std::path::Path;

use sayiir::{Engine, SqliteStore};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug)]
/// An order to fulfil.
pub(crate) struct Order {
    /// Order id.
    pub(crate) id: String,
    /// Item names.
    pub(crate) items: Vec<String>,
    /// Card number.
    pub(crate) card: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
/// Why an order failed.
pub(crate) enum OrderError {
    /// An item cannot be reserved.
    OutOfStock(String),
    /// The card was declined.
    PaymentDeclined(String),
    /// The carrier lost the parcel.
    ShippingFailed(String),
}

fn say(line: String) {
    println!("  {line}");
}

#[sayiir::task]
async fn reserve(order: Order) -> Result<String, OrderError> {
    if order.items.iter().any(|i| i == "unobtainium") {
        return Err(OrderError::OutOfStock("unobtainium".into()));
    }
    say(format!("reserved {:?} for {}", order.items, order.id));
    Ok(format!("hold-{}", order.id))
}

#[sayiir::task]
async fn release(hold: String) -> Result<(), OrderError> {
    say(format!("released {hold}"));
    Ok(())
}

#[sayiir::task]
async fn charge(order: Order) -> Result<u64, OrderError> {
    if order.card.starts_with("0000") {
        return Err(OrderError::PaymentDeclined(order.card));
    }
    let amount = 1_000 * order.items.len() as u64;
    say(format!("charged {amount} to {}", order.card));
    Ok(amount)
}

#[sayiir::task]
async fn refund(card: String, amount: u64) -> Result<(), OrderError> {
    say(format!("refunded {amount} to {card}"));
    Ok(())
}

#[sayiir::task]
async fn ship(order: Order, hold: String) -> Result<String, OrderError> {
    if order.id.ends_with("-lost") {
        return Err(OrderError::ShippingFailed(order.id));
    }
    say(format!("shipped {} from {hold}", order.id));
    Ok(format!("track-{}", order.id))
}

/// Reserve → charge → ship; a failure undoes what was done before it, in reverse order.
#[sayiir::workflow]
pub(crate) async fn order_saga(order: Order) -> Result<String, OrderError> {
    let hold = reserve(order.clone()).await?;
    let amount = match charge(order.clone()).await {
        Ok(amount) => amount,
        Err(e) => {
            release(hold).await?;
            return Err(e);
        }
    };
    match ship(order.clone(), hold.clone()).await {
        Ok(tracking) => Ok(tracking),
        Err(e) => {
            refund(order.card.clone(), amount).await?;
            release(hold).await?;
            Err(e)
        }
    }
}

/// Runs four orders (one per outcome) on a SQLite file and returns their results.
pub(crate) async fn run(
    db: &Path,
) -> Result<Vec<Result<String, OrderError>>, Box<dyn std::error::Error>> {
    let engine = Engine::builder(SqliteStore::open(db)?)
        .register::<order_saga>()
        .build()?;
    let worker = engine.spawn_worker();
    let order = |id: &str, item: &str, card: &str| Order {
        id: id.into(),
        items: vec![item.into(), "socks".into()],
        card: card.into(),
    };
    let orders = [
        order("o-1", "boots", "4111"),
        order("o-2", "unobtainium", "4111"),
        order("o-3", "boots", "0000-1234"),
        order("o-4-lost", "boots", "4111"),
    ];
    let mut results = Vec::new();
    for o in orders {
        println!("{}:", o.id);
        let handle = engine.start::<order_saga>(&o.id.clone(), o).await?;
        let result = handle.result().await?;
        println!("  => {result:?}");
        results.push(result);
    }
    worker.shutdown().await?;
    Ok(results)
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("sayiir-order-saga-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    run(&dir.join("saga.db")).await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
