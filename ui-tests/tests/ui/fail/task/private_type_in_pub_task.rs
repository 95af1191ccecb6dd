// A public task's argument and return types must be as visible as the task: the task's type
// (same name, same visibility) names its return type in public trait impls.
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Receipt(u64);

#[sayiir::task]
pub async fn charge(amount: u64) -> Receipt {
    Receipt(amount)
}

fn main() {}
