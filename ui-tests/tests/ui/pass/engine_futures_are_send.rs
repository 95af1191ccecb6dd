// Every future of the public API can be moved into `tokio::spawn` on a multi-thread runtime.
use std::future::Future;

use sayiir::{Engine, MemoryStore};

#[sayiir::task]
async fn step(n: u64) -> u64 {
    n + 1
}

#[sayiir::workflow]
async fn flow(n: u64) -> u64 {
    let a = step(n).await;
    step(a).await
}

fn spawnable<F: Future + Send + 'static>(_: F) {}

fn main() {
    let engine = Engine::builder(MemoryStore::new()).register::<flow>().build().unwrap();
    let e = engine.clone();
    spawnable(async move {
        let handle = e.start::<flow>("id", 1).await.unwrap();
        let _ = handle.status().await;
        let _ = handle.result().await;
        let _ = e.status("id").await;
        let _ = e.result::<flow>("id").await;
        let _ = e.try_result::<flow>("id").await;
        let _ = e.history("id").await;
        let _ = e.list(&sayiir::ListQuery::default()).await;
        let _ = e.check_versions().await;
        e.spawn_worker().shutdown().await
    });
    spawnable(flow(1));
    spawnable(step(1));
    let _ = engine;
}
