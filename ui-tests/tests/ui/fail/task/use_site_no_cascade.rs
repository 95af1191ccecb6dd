// A rejected task still lets the workflows that call it compile: one error, at the cause.
#[sayiir::task]
async fn charge(amount: &u64) -> u64 {
    *amount
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    charge(&n).await
}

fn main() {}
