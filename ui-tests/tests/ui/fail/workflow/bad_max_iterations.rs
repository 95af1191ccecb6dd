// `max_iterations` takes a positive integer.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(mut n: u64) -> u64 {
    #[sayiir::max_iterations(0)]
    loop {
        n = step(n).await;
        if n > 3 {
            break n;
        }
    }
}

fn main() {}
