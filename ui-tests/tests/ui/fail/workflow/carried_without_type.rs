// A value kept across an `.await` is stored, so its type must be known: annotate it.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let doubled = n * 2;
    let m = step(n).await;
    m + doubled
}

fn main() {}
