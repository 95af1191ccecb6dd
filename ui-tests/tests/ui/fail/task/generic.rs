// A task cannot be generic: its argument and return types are stored.
#[sayiir::task]
async fn echo<T: Clone>(value: T) -> T {
    value
}

fn main() {}
