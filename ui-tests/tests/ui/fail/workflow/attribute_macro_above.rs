// An attribute macro written above `#[sayiir::workflow]` runs first: `#[tracing::instrument]`
// wraps the body in an `async` block, so `#[sayiir::workflow]` never sees the body written here.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[tracing::instrument]
#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let x = step(n).await;
    x + 1
}

fn main() {}
