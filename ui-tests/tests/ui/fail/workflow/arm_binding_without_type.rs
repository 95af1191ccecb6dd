// A binding of a `match` arm kept across an `.await` needs a type the macro can name; it cannot
// be annotated in the pattern, so the advice is to rebind it.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

fn split(n: u64) -> (u64, u64) {
    (n, n + 1)
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    match split(n) {
        (a, b) => {
            let c = step(a).await;
            b + c
        }
    }
}

fn main() {}
