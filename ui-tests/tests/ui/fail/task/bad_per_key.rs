// `per_key` splits a task's `concurrency` or `rate` by concurrency key: it needs one of them,
// and takes a boolean.
#[sayiir::task(per_key = true)]
async fn charge(amount: u64) -> u64 {
    amount
}

#[sayiir::task(concurrency = 1, per_key = "yes")]
async fn refund(amount: u64) -> u64 {
    amount
}

fn main() {}
