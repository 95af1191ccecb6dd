// A join needs at least two calls.
#[sayiir::task]
async fn one(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let (a,) = sayiir::join!(one(n)).await;
    a
}

fn main() {}
