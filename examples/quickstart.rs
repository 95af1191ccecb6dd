//! Quickstart: a five-step onboarding workflow on a SQLite file.
//!
//! ```text
//! cargo run -p sayiir-examples --example quickstart
//! ```
//!
//! Each step takes about a second and prints a line. Press Ctrl-C (or `kill -9` the process)
//! halfway, then run the same command again: the instance resumes after its last committed step
//! instead of starting over. Delete `quickstart.db` to start from scratch. Set `QUICKSTART_DB`
//! to use another file.

use std::time::Duration;

use sayiir::{Engine, SqliteStore, TaskContext};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct Signup {
    name: String,
    email: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
struct Account {
    id: u64,
    name: String,
    email: String,
}

/// Prints which step runs, and whether it is a re-run of a step interrupted before its commit.
fn announce(step: &str, detail: &str) {
    let cx = TaskContext::current();
    let key = cx.as_ref().map_or("-", |c| c.idempotency_key());
    println!("  -> {step:<22} {detail}  (idempotency key {key})");
}

async fn work() {
    tokio::time::sleep(Duration::from_millis(1000)).await;
}

#[sayiir::task]
async fn create_account(signup: Signup) -> Result<Account, String> {
    announce("create_account", &signup.email);
    work().await;
    let id = signup.email.bytes().map(u64::from).sum::<u64>() * 7919 % 100_000;
    Ok(Account {
        id,
        name: signup.name,
        email: signup.email,
    })
}

#[sayiir::task]
async fn send_welcome_email(email: String) -> Result<(), String> {
    announce("send_welcome_email", &email);
    work().await;
    Ok(())
}

#[sayiir::task]
async fn provision_workspace(account_id: u64) -> Result<String, String> {
    announce("provision_workspace", &format!("account {account_id}"));
    work().await;
    Ok(format!("ws-{account_id}"))
}

#[sayiir::task]
async fn invite_to_team(account_id: u64, workspace: String) -> Result<u32, String> {
    announce(
        "invite_to_team",
        &format!("account {account_id} into {workspace}"),
    );
    work().await;
    Ok(3)
}

#[sayiir::task(retries = 3, timeout = "30s")]
async fn record_activation(account_id: u64, teammates: u32) -> Result<String, String> {
    announce(
        "record_activation",
        &format!("account {account_id}, {teammates} teammates"),
    );
    work().await;
    Ok(format!(
        "account {account_id} active with {teammates} teammates"
    ))
}

/// Onboards a new user: five durable steps.
#[sayiir::workflow]
pub(crate) async fn onboard(signup: Signup) -> Result<String, String> {
    let account = create_account(signup).await?;
    send_welcome_email(account.email.clone()).await?;
    let workspace = provision_workspace(account.id).await?;
    let teammates = invite_to_team(account.id, workspace).await?;
    let summary = record_activation(account.id, teammates).await?;
    Ok(summary)
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::var("QUICKSTART_DB").unwrap_or_else(|_| "quickstart.db".into());
    let store = SqliteStore::open(&path)?;
    let engine = Engine::builder(store).register::<onboard>().build()?;
    let id = "onboard-ada";

    match engine.status(id).await {
        Ok(info) if info.status == sayiir::InstanceStatus::Running => println!(
            "resuming `{id}` from {path}: {} transitions already committed, they will not run again",
            info.seq
        ),
        Ok(info) => println!("`{id}` in {path} is already {:?}", info.status),
        Err(_) => println!(
            "starting `{id}` in {path} (definition {})",
            hex(&onboard::DEFINITION_HASH)
        ),
    }
    let signup = Signup {
        name: "Ada".into(),
        email: "ada@example.com".into(),
    };
    let handle = engine.start::<onboard>(id, signup).await?;

    let worker = engine.spawn_worker();
    let output = handle.result().await?;
    worker.shutdown().await?;

    println!("result: {output:?}");
    println!("history of `{id}`:");
    for entry in engine.history(id).await? {
        println!(
            "  #{:<2} {:<8} at {} ms",
            entry.seq,
            entry.kind,
            entry.at.as_millis()
        );
    }
    println!("run it again: it reports the finished instance; delete {path} to start over");
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().take(6).map(|b| format!("{b:02x}")).collect()
}
