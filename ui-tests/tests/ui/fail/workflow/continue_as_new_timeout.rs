// `continue_as_new` ends the run at once: there is nothing to time out.
#[sayiir::workflow]
async fn counter(n: u64) -> u64 {
    if n > 100 {
        return n;
    }
    sayiir::continue_as_new(n + 1)
        .timeout(std::time::Duration::from_secs(1))
        .await
}

fn main() {}
