// `#[workflow]` applies to an `async fn`.
#[sayiir::workflow]
struct Checkout {
    id: u64,
}

fn main() {}
