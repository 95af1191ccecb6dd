//! Branches, loops and fork/join in one workflow body: plain Rust control flow around task
//! calls, each call a checkpoint.
//!
//! ```text
//! cargo run -p sayiir-examples --example control_flow
//! ```

use std::path::Path;
use std::time::{Duration, Instant};

use sayiir::{Engine, SqliteStore};

#[sayiir::task]
async fn fetch_page(page: u32) -> Result<Vec<u64>, String> {
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(if page < 3 {
        (0..4).map(|i| u64::from(page) * 10 + i).collect()
    } else {
        Vec::new()
    })
}

#[sayiir::task]
async fn score(item: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(200)).await;
    item * item % 97
}

#[sayiir::task]
async fn flag(item: u64) -> Result<(), String> {
    println!("  flagged {item}");
    Ok(())
}

#[sayiir::task]
async fn summarize(total: u64, flagged: u32) -> String {
    format!("total score {total}, {flagged} flagged")
}

/// Pages through items (`loop` with `break`), scores each page's items concurrently
/// (`join_all`), flags the high scores (`for` + `if`), and summarizes.
#[sayiir::workflow]
pub(crate) async fn review(threshold: u64) -> Result<String, String> {
    let mut page: u32 = 0;
    let mut total: u64 = 0;
    let mut flagged: u32 = 0;
    loop {
        let items = fetch_page(page).await?;
        if items.is_empty() {
            break;
        }
        let scores = sayiir::join_all(items.clone().into_iter().map(|i| score(i))).await;
        let pairs: Vec<(u64, u64)> = items.into_iter().zip(scores).collect();
        for (item, s) in pairs {
            total += s;
            if s > threshold {
                flag(item).await?;
                flagged += 1;
            }
        }
        page += 1;
    }
    let summary = summarize(total, flagged).await;
    Ok(summary)
}

/// Runs `review` on a SQLite file; returns its output and how long it took.
pub(crate) async fn run(db: &Path) -> Result<(String, Duration), Box<dyn std::error::Error>> {
    let engine = Engine::builder(SqliteStore::open(db)?)
        .register::<review>()
        .build()?;
    let worker = engine.spawn_worker();
    let started = Instant::now();
    let out = engine
        .start::<review>("review-1", 60)
        .await?
        .result()
        .await??;
    let took = started.elapsed();
    worker.shutdown().await?;
    println!("{out} in {took:?} (3 pages x 4 items x 200 ms each, scored concurrently per page)");
    Ok((out, took))
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("sayiir-control-flow-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    run(&dir.join("flow.db")).await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
