// A task must be an `async fn`.
#[sayiir::task]
fn charge(amount: u64) -> u64 {
    amount
}

fn main() {}
