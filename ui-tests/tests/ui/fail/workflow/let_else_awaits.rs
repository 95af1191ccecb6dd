// The `else` of a `let ... else` cannot await: reported once, at the `else` block.
#[sayiir::task]
async fn find(n: u64) -> Option<u64> {
    Some(n)
}

#[sayiir::task]
async fn undo(n: u64) {
    let _ = n;
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let Some(x) = find(n).await else {
        undo(n).await;
        return 0;
    };
    x
}

fn main() {}
