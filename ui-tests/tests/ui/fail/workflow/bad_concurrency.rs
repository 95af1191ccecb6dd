// A workflow's `concurrency` is the most instances running at once: at least 1, an integer
// literal.
#[sayiir::workflow(concurrency = 0)]
async fn checkout(amount: u64) -> u64 {
    amount
}

#[sayiir::workflow(concurrency = "5")]
async fn refund(amount: u64) -> u64 {
    amount
}

fn main() {}
