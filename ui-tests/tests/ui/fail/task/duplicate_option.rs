// An option may be set once.
#[sayiir::task(retries = 3, timeout = "5s", retries = 5)]
async fn charge(amount: u64) -> Result<u64, sayiir::TaskTimeout> {
    Ok(amount)
}

fn main() {}
