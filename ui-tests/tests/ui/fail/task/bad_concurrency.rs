// `concurrency` is the most attempts at once: at least 1, an integer literal.
#[sayiir::task(concurrency = 0)]
async fn charge(amount: u64) -> u64 {
    amount
}

#[sayiir::task(concurrency = "5")]
async fn refund(amount: u64) -> u64 {
    amount
}

fn main() {}
