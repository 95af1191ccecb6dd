// A value kept across an `.await` is stored, so its type must be known. The type of a plain
// function's result is not (the macro sees tokens, not signatures): annotate it.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

fn triple(n: u64) -> u64 {
    n * 3
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let tripled = triple(n);
    let m = step(n).await;
    m + tripled
}

fn main() {}
