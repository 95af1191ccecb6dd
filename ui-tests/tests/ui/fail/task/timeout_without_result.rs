// A timed-out attempt returns `Err(E::from(timeout))`: the task must return a `Result`.
#[sayiir::task(timeout = "30s")]
async fn charge(amount: u64) -> u64 {
    amount
}

fn main() {}
