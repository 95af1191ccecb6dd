// `.timeout(..)` takes one `Duration`.
#[sayiir::workflow]
async fn flow() -> Result<u64, sayiir::SignalTimeout> {
    sayiir::signal::<u64>("go").timeout().await
}

fn main() {}
