// A name declared in a branch must not shadow an outer one that the code after the branch reads.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(c: bool) -> u64 {
    let x: u64 = 1;
    if c {
        let x: u64 = 2;
        step(x).await;
    }
    x
}

fn main() {}
