// A duration is one or more numbers, each with its unit: `1h30` leaves `30` without one.
#[sayiir::task(timeout = "1h30")]
async fn charge(amount: u64) -> Result<u64, sayiir::TaskTimeout> {
    Ok(amount)
}

fn main() {}
