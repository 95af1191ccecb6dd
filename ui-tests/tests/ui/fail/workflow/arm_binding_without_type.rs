// A binding of a `match` arm kept across an `.await` needs a type the macro can name.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let pair = (n, n + 1);
    match pair {
        (a, b) => {
            let c = step(a).await;
            b + c
        }
    }
}

fn main() {}
