// `try_join!` needs calls that return `Result`.
#[sayiir::task]
async fn plain(n: u64) -> u64 {
    n
}

#[sayiir::task]
async fn fallible(n: u64) -> Result<u64, String> {
    Ok(n)
}

#[sayiir::workflow]
async fn flow(n: u64) -> Result<u64, String> {
    let (a, b) = sayiir::try_join!(plain(n), fallible(n)).await?;
    Ok(a + b)
}

fn main() {}
