// The next input has the workflow's input type.
#[sayiir::workflow]
async fn counter(n: u64) -> u64 {
    if n > 100 {
        return n;
    }
    sayiir::continue_as_new("again").await
}

fn main() {}
