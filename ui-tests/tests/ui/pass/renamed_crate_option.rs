// `crate = path` points generated code at a renamed `sayiir`.
extern crate sayiir as my_sayiir;

#[my_sayiir::task(crate = my_sayiir)]
async fn step(n: u64) -> u64 {
    n + 1
}

#[my_sayiir::workflow(crate = my_sayiir)]
async fn flow(n: u64) -> u64 {
    step(n).await
}

fn main() {
    let _ = flow;
}
