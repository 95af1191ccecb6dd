// A workflow cannot await itself: its state would contain itself without end.
#[sayiir::workflow]
async fn countdown(n: u64) -> u64 {
    let rest = countdown(n - 1).await;
    rest + 1
}

fn main() {}
