// Durations are numbers with units: `ms`, `s`, `m`, `h`, `d`.
#[sayiir::task(timeout = "30 seconds")]
async fn charge(amount: u64) -> Result<u64, sayiir::TaskTimeout> {
    Ok(amount)
}

fn main() {}
