// User code with `#![deny(warnings, missing_docs)]` compiles: generated items add no warnings
// and need no docs.
#![deny(warnings, missing_docs, unused, rust_2018_idioms, nonstandard_style)]
//! A documented crate.

use sayiir::Res;
use serde::{Deserialize, Serialize};

/// An order.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Order {
    /// Id.
    pub id: u64,
    /// Amount.
    pub amount: u64,
}

/// Charges an order.
#[sayiir::task(retries = 3, backoff = "1s", max_backoff = "30s")]
pub async fn charge(order: Order) -> Result<u64, String> {
    Ok(order.amount)
}

/// A private task.
#[sayiir::task(name = "notify.email")]
async fn notify(id: u64, mut text: String) {
    text.push('!');
    let _ = (id, text);
}

/// A client tasks share (a resource).
pub struct Client {
    /// Base URL.
    pub base: String,
}

/// Something that records events (a resource behind a trait).
pub trait Recorder: Send + Sync {
    /// Records `event`.
    fn record(&self, event: &str);
}

/// Reports a payment with two resources, around a stored argument.
#[sayiir::task]
pub async fn report(
    client: sayiir::Res<Client>,
    id: u64,
    recorder: Res<dyn Recorder>,
) -> String {
    recorder.record("report");
    format!("{}/{id}", client.base)
}

/// Checks an order out.
#[sayiir::workflow(version = 3)]
pub async fn checkout(order: Order) -> Result<u64, String> {
    let mut total: u64 = 0;
    let paid = charge(order.clone()).await?;
    total += paid;
    notify(order.id, format!("paid {total}")).await;
    let _url = report(order.id).await;
    Ok(total)
}

/// A private workflow with no input and no output.
#[sayiir::workflow]
async fn housekeeping() {
    notify(0, String::new()).await;
}

fn main() {
    let _ = housekeeping;
}
