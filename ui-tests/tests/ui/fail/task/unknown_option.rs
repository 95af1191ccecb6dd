// Misspelled options are errors, not silently ignored.
#[sayiir::task(retry = 3)]
async fn charge(amount: u64) -> u64 {
    amount
}

fn main() {}
