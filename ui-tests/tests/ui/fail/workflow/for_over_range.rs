// The items of a `for` loop that awaits are stored, so their type must be known.
#[sayiir::task]
async fn one(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let mut total: u64 = 0;
    for i in 0..n {
        total += one(i).await;
    }
    total
}

fn main() {}
