// Task arguments must be owned: a borrow cannot be stored and restored.
#[sayiir::task]
async fn greet(name: &str) -> String {
    format!("hello {name}")
}

fn main() {}
