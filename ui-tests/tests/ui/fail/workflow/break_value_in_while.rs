// `break` with a value only works in `loop`, also when the `while` awaits.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n + 1
}

#[sayiir::workflow]
async fn flow(mut n: u64) -> u64 {
    while n < 10 {
        n = step(n).await;
        if n == 5 {
            break n;
        }
    }
    n
}

fn main() {}
