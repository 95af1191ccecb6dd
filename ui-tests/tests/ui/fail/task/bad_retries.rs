// `retries` takes an integer literal.
#[sayiir::task(retries = "three")]
async fn charge(amount: u64) -> u64 {
    amount
}

fn main() {}
