// `join_all` takes an iterator mapped through a closure that calls one task.
#[sayiir::task]
async fn one(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(items: Vec<u64>) -> Vec<u64> {
    sayiir::join_all(items).await
}

fn main() {}
