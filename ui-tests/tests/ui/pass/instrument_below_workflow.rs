// `#[tracing::instrument]` below `#[sayiir::workflow]` (and on a task) compiles without
// warnings: the workflow keeps it on the function it emits for direct calls (`flow(n).await`
// runs inside the span); the engine's runs of the workflow do not go through that function.
// A task keeps its function as written, so every attempt runs inside the span.
#![deny(warnings)]

#[sayiir::task]
#[tracing::instrument]
async fn step(n: u64) -> u64 {
    n
}

#[sayiir::workflow]
#[tracing::instrument]
async fn flow(n: u64) -> u64 {
    let x = step(n).await;
    x + 1
}

fn main() {
    let _ = flow;
}
