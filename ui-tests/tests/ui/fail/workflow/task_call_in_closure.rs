// A task call awaited inside a closure cannot be checkpointed.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(items: Vec<u64>) -> u64 {
    let total: u64 = items.iter().map(|i| step(*i).await).sum();
    total
}

fn main() {}
