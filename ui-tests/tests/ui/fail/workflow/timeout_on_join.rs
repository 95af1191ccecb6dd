// A join has no `.timeout`: put it on the signal inside the join.
#[sayiir::task]
async fn charge(amount: u64) -> u64 {
    amount
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let (a, b) = sayiir::join!(charge(n), charge(n + 1))
        .timeout(std::time::Duration::from_secs(5))
        .await;
    a + b
}

fn main() {}
