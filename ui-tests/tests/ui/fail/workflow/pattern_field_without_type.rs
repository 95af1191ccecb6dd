// A field bound by a `let` pattern (or a `while let`) cannot be annotated where it is bound:
// the advice is the rebinding form.
#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

pub struct Pair {
    pub left: u64,
    pub right: u64,
}

fn pair(n: u64) -> Pair {
    Pair { left: n, right: n + 1 }
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let Pair { left, right } = pair(n);
    let m = step(left).await;
    m + right
}

fn main() {}
