// A workflow must be an `async fn`.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
fn flow(n: u64) -> u64 {
    n
}

fn main() {}
