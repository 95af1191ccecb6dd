// An `.await` inside a closure passed to an iterator adaptor cannot be checkpointed: use `for` or `join_all`.
#[sayiir::task]
async fn price(n: u64) -> u64 {
    n * 2
}

#[sayiir::workflow]
async fn flow(items: Vec<u64>) -> Vec<u64> {
    let prices: Vec<u64> = items.into_iter().map(|i| price(i).await).collect();
    prices
}

fn main() {}
