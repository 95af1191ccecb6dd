// A value kept across a join is stored, so it must implement serde's traits.
struct Handle {
    fd: u64,
}

#[sayiir::task]
async fn one(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let handle: Handle = Handle { fd: n };
    let (a, b) = sayiir::join!(one(n), one(n + 1)).await;
    a + b + handle.fd
}

fn main() {}
