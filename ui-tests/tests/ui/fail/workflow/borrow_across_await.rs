// A borrowed value cannot be kept across an `.await`: it cannot be stored.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(name: String) -> usize {
    let short: &str = &name[..1];
    let m = step(1).await;
    short.len() + m as usize
}

fn main() {}
