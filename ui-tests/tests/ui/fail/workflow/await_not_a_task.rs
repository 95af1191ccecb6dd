// Only calls of `#[task]` and `#[workflow]` functions can be awaited in a workflow.
async fn plain(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    plain(n).await
}

fn main() {}
