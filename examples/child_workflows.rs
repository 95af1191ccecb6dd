//! Child workflows: awaiting a `#[workflow]` from another runs it as part of the parent (its
//! state nests in the parent's); the same child can run several times, also inside a join.
//!
//! ```text
//! cargo run -p sayiir-examples --example child_workflows
//! ```

use std::path::Path;

use sayiir::{Engine, SqliteStore};

#[sayiir::task]
async fn resize(image: String, width: u32) -> String {
    format!("{image}@{width}w")
}

#[sayiir::task]
async fn upload(file: String) -> Result<String, String> {
    Ok(format!("https://cdn.example/{file}"))
}

/// One rendition: resize, then upload.
#[sayiir::workflow]
pub(crate) async fn rendition(image: String, width: u32) -> Result<String, String> {
    let file = resize(image, width).await;
    let url = upload(file).await?;
    Ok(url)
}

/// Three renditions of one image, concurrently, each a child workflow.
#[sayiir::workflow]
pub(crate) async fn publish(image: String) -> Result<Vec<String>, String> {
    let (small, large) = sayiir::try_join!(
        rendition(image.clone(), 320),
        rendition(image.clone(), 1280)
    )
    .await?;
    let thumb = rendition(image, 64).await?;
    Ok(vec![thumb, small, large])
}

/// Runs `publish` on a SQLite file.
pub(crate) async fn run(db: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let engine = Engine::builder(SqliteStore::open(db)?)
        .register::<publish>()
        .build()?;
    let worker = engine.spawn_worker();
    let urls = engine
        .start::<publish>("cat.png", "cat.png".into())
        .await?
        .result()
        .await??;
    worker.shutdown().await?;
    for u in &urls {
        println!("{u}");
    }
    Ok(urls)
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("sayiir-children-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    run(&dir.join("children.db")).await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
