// `.timeout(..)` is for signals; a task's deadline is its `timeout` option.
#[sayiir::task]
async fn charge(amount: u64) -> u64 {
    amount
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    charge(n).timeout(std::time::Duration::from_secs(5)).await
}

fn main() {}
