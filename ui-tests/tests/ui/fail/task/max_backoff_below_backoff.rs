// The delay between attempts starts at `backoff` and doubles up to `max_backoff`.
#[sayiir::task(retries = 5, backoff = "10s", max_backoff = "1s")]
async fn charge(amount: u64) -> u64 {
    amount
}

fn main() {}
