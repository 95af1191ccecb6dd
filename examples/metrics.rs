//! Metrics: a service that records sayiir's metrics with the Prometheus recorder and serves
//! them at `GET /metrics`.
//!
//! ```text
//! cargo run -p sayiir-examples --example metrics -- --listen 127.0.0.1:9100
//! curl -s http://127.0.0.1:9100/metrics | grep '^sayiir_'
//! ```
//!
//! It starts a few orders every second on a SQLite file and runs them until Ctrl-C (or for
//! `--seconds`). The recorder is installed before the engine is built: the engine registers
//! its metrics when built, with the recorder it finds. `--scrape` fetches its own endpoint
//! once at the end and prints the `sayiir_` lines (what the examples' test checks).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use sayiir::{Engine, SqliteStore};

#[sayiir::task]
async fn reserve(order: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(5)).await;
    order * 10
}

#[sayiir::task(retries = 2, backoff = "10ms")]
async fn charge(amount: u64) -> Result<u64, String> {
    let attempt = sayiir::TaskContext::current().map_or(1, |c| c.attempt());
    // Every third order's card is declined once.
    if amount.is_multiple_of(30) && attempt == 1 {
        return Err("declined, try again".into());
    }
    Ok(amount)
}

#[sayiir::workflow]
pub(crate) async fn checkout(order: u64) -> Result<u64, String> {
    let amount = reserve(order).await;
    sayiir::sleep(Duration::from_millis(20)).await;
    charge(amount).await
}

/// Command line.
#[derive(Parser, Debug)]
#[command(about = "sayiir's metrics at GET /metrics (Prometheus text format)")]
struct Cli {
    /// Where to serve /metrics
    #[arg(long, default_value = "127.0.0.1:9100")]
    listen: String,
    /// SQLite file [default: a temporary one]
    #[arg(long)]
    db: Option<PathBuf>,
    /// Stop after this many seconds [default: at Ctrl-C]
    #[arg(long)]
    seconds: Option<u64>,
    /// Orders started per second
    #[arg(long, default_value = "5")]
    rate: u64,
    /// Fetch /metrics once at the end and print its `sayiir_` lines
    #[arg(long)]
    scrape: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    // First the recorder, then the engine.
    let handle = sayiir::metrics::install_prometheus()?;
    let endpoint = sayiir::metrics::serve_prometheus(cli.listen.as_str(), handle).await?;
    println!("metrics at http://{}/metrics", endpoint.local_addr());

    let tmp = tempfile_dir()?;
    let db = cli.db.unwrap_or_else(|| tmp.join("metrics.db"));
    let engine = Engine::builder(SqliteStore::open(&db)?)
        .register::<checkout>()
        .build()?;
    let worker = engine.spawn_worker();
    let deadline = cli
        .seconds
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let every = Duration::from_millis(1000 / cli.rate.max(1));
    let mut started = Vec::new();
    let mut n = 0u64;
    loop {
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            break;
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep(every) => {}
        }
        n += 1;
        started.push(engine.start::<checkout>(format!("order-{n}"), n).await?);
    }
    for h in started {
        h.result()
            .await?
            .map_err(|e| format!("an order failed: {e}"))?;
    }
    if cli.scrape {
        let addr = endpoint.local_addr();
        let text = tokio::task::spawn_blocking(move || scrape(addr)).await??;
        for line in text.lines().filter(|l| l.starts_with("sayiir_")) {
            println!("{line}");
        }
    }
    worker.shutdown().await?;
    endpoint.stop();
    std::fs::remove_dir_all(&tmp).ok();
    Ok(())
}

/// A directory of its own under the system's temporary directory.
fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("sayiir-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `GET /metrics` on a plain TCP connection, closed after the answer: the body.
fn scrape(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default())
}
