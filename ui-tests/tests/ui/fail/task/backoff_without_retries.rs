// `backoff` and `max_backoff` set the delay between attempts: they need `retries`.
#[sayiir::task(backoff = "1s")]
async fn charge(amount: u64) -> u64 {
    amount
}

fn main() {}
