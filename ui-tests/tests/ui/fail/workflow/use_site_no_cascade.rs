// A rejected workflow still lets the code that starts it compile: one error, at the cause.
use sayiir::Engine;

#[sayiir::task]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let f = async { 1 };
    step(n).await + f.await
}

async fn starter(engine: Engine) {
    let handle = engine.start::<flow>("id", 5).await.unwrap();
    let out: u64 = handle.result().await.unwrap();
    let direct: u64 = flow(3).await;
    println!("{out} {direct}");
}

fn main() {
    let _ = starter;
}
