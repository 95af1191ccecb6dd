// `on_exhausted` is "park" or "fail".
#[sayiir::task(retries = 2, on_exhausted = "retry")]
async fn charge(amount: u64) -> Result<u64, String> {
    Ok(amount)
}

fn main() {}
