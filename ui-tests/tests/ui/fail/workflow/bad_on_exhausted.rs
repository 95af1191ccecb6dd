// `on_exhausted` is a string, "park" or "fail".
#[sayiir::workflow(on_exhausted = park)]
async fn checkout(amount: u64) -> u64 {
    amount
}

fn main() {}
