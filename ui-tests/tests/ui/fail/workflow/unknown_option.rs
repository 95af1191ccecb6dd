// `#[workflow]` options are checked.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow(versoin = 2)]
async fn flow(n: u64) -> u64 {
    step(n).await
}

fn main() {}
