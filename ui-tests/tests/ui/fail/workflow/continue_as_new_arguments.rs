// `continue_as_new` takes the next input, one value (a tuple for several inputs).
#[sayiir::workflow]
async fn counter(n: u64, step: u64) -> u64 {
    if n > 100 {
        return n;
    }
    sayiir::continue_as_new(n + step, step).await
}

fn main() {}
