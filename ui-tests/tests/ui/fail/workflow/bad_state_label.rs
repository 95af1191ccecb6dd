// `#[sayiir::state("..")]` labels an awaiting statement with a unique name that is not `start`.
#[sayiir::task]
async fn charge(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn pay(n: u64) -> u64 {
    #[sayiir::state("pay")]
    let a = charge(n).await;
    #[sayiir::state("pay")]
    let b = charge(a).await;
    #[sayiir::state("total")]
    let c = a + b;
    #[sayiir::state("start")]
    charge(c).await
}

fn main() {}
