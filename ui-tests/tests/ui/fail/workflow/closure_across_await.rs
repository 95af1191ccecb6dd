// A closure kept across an `.await` would be stored in the state, and a closure has no type
// that can be stored.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let add = |a: u64| a + n;
    let m = step(n).await;
    add(m)
}

fn main() {}
