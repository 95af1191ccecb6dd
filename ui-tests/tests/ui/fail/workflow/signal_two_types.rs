// One signal name, two payload types: a sender could not know which one to send.
#[sayiir::workflow]
async fn flow() -> u64 {
    let first: u64 = sayiir::signal::<u64>("amount").await;
    let second: String = sayiir::signal::<String>("amount").await;
    first + second.len() as u64
}

fn main() {}
