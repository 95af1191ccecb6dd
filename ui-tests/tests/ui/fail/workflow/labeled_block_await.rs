// A labeled block cannot contain `.await`.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let v: u64 = 'found: {
        let a = step(n).await;
        if a > 1 {
            break 'found a;
        }
        0
    };
    v
}

fn main() {}
