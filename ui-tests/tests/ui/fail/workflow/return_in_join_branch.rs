// A branch of `join!` is a call; `return` cannot be one.
#[sayiir::task]
async fn one(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let (a, b) = sayiir::join!(one(n), return 0).await;
    a + b
}

fn main() {}
