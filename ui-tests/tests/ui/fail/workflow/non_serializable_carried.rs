// A value kept across an `.await` is stored, so it must implement serde's traits.
struct Cache {
    hits: u64,
}

#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let cache: Cache = Cache { hits: n };
    let m = step(n).await;
    m + cache.hits
}

fn main() {}
