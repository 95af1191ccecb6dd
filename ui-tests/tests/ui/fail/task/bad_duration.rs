// Durations are numbers with units: `ms`, `s`, `m`, `h`, `d`.
#[sayiir::task(timeout = "30 seconds")]
async fn charge(amount: u64) -> u64 {
    amount
}

fn main() {}
