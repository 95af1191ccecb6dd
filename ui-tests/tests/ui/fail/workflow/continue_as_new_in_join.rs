// `continue_as_new` ends the run: it cannot be one branch of a join.
#[sayiir::task]
async fn tick(n: u64) -> u64 {
    n + 1
}

#[sayiir::workflow]
async fn counter(n: u64) -> u64 {
    let (a, b) = sayiir::join!(tick(n), sayiir::continue_as_new(n + 1)).await;
    a + b
}

fn main() {}
