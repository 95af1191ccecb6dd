//! Workflows called directly run in memory with the same transitions as under an engine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Order {
    id: u64,
    total: u64,
}

#[sayiir::task]
async fn validate(order: Order) -> Result<Order, String> {
    if order.total == 0 {
        Err("empty order".into())
    } else {
        Ok(order)
    }
}

#[sayiir::task(name = "payments.charge", retries = 2, timeout = "5s")]
async fn charge(order: Order) -> Result<u64, String> {
    Ok(order.total * 100)
}

#[sayiir::task]
async fn label(id: u64, cents: u64) -> String {
    format!("#{id}: {cents}c")
}

#[sayiir::workflow]
async fn checkout(order: Order) -> Result<String, String> {
    let order = validate(order).await?;
    let mut cents = charge(order.clone()).await?;
    cents += 1;
    let text = label(order.id, cents).await;
    Ok(text)
}

#[tokio::test]
async fn direct_call_runs_every_step() {
    assert_eq!(
        checkout(Order { id: 7, total: 3 }).await,
        Ok("#7: 301c".to_string())
    );
    assert_eq!(
        checkout(Order { id: 7, total: 0 }).await,
        Err("empty order".to_string())
    );
}
