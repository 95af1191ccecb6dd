// A workflow cannot be generic: its state is stored.
#[sayiir::workflow]
async fn flow<T>(value: T) -> T {
    value
}

fn main() {}
