// A workflow's inputs are stored: `impl Trait` names no type to store.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(items: impl IntoIterator<Item = u64>) -> u64 {
    let mut total = 0;
    for i in items {
        total += step(i).await;
    }
    total
}

fn main() {}
