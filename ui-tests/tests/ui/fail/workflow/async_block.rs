// An `async` block's future lives only in memory and cannot be checkpointed.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let later = async move { step(n).await };
    later.await
}

fn main() {}
