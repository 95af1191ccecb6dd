// A task is a free function: the items that make it one cannot live in an `impl` block.
struct Billing;

impl Billing {
    #[sayiir::task]
    async fn charge(amount: u64) -> u64 {
        amount
    }
}

fn main() {}
