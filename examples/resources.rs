//! Resources: tasks that use a real PostgreSQL connection pool, given to the engine once with
//! `.resource(pool)` and received as a `Res<PgPool>` parameter (docs/resources.md). The pool
//! is not stored, not passed by the workflow, and not part of the definition.
//!
//! ```text
//! cargo run -p sayiir-examples --example resources -- postgres://user:pass@localhost:5432/db
//! ```
//!
//! The URL defaults to `$DATABASE_URL`, then `$SAYIIR_PG_URL`. The example creates a table
//! `accounts` there (and the engine's own tables), opens three accounts through a workflow and
//! prints them as read back from the table.

use sayiir::{Engine, PgStore, Res, TaskContext};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a visitor submits.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct Signup {
    pub(crate) email: String,
    pub(crate) plan: String,
}

/// An account as stored in the `accounts` table.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct Account {
    pub(crate) id: i64,
    pub(crate) email: String,
    pub(crate) plan: String,
}

/// Inserts the account. A task may run again after a crash, so the row is keyed by the
/// call's idempotency key: a second run returns the first run's row instead of a new one.
#[sayiir::task(retries = 3)]
async fn insert_account(signup: Signup, db: Res<PgPool>) -> Result<i64, String> {
    let key = TaskContext::current()
        .map(|cx| cx.idempotency_key().to_owned())
        .ok_or("not running as a task")?;
    sqlx::query_scalar(
        "INSERT INTO accounts (idempotency_key, email, plan) VALUES ($1, $2, $3)
         ON CONFLICT (idempotency_key) DO UPDATE SET email = EXCLUDED.email
         RETURNING id",
    )
    .bind(key)
    .bind(&signup.email)
    .bind(&signup.plan)
    .fetch_one(&*db)
    .await
    .map_err(|e| e.to_string())
}

/// Reads the account back.
#[sayiir::task(retries = 3)]
async fn load_account(id: i64, db: Res<PgPool>) -> Result<Account, String> {
    sqlx::query_as("SELECT id, email, plan FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_one(&*db)
        .await
        .map(account)
        .map_err(|e| e.to_string())
}

fn account((id, email, plan): (i64, String, String)) -> Account {
    Account { id, email, plan }
}

/// Opens an account: the workflow calls its tasks without the pool.
#[sayiir::workflow]
pub(crate) async fn open_account(signup: Signup) -> Result<Account, String> {
    let id = insert_account(signup).await?;
    load_account(id).await
}

/// What [`run`] found: each workflow's output, and every row of the table afterwards.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) opened: Vec<Account>,
    pub(crate) rows: Vec<Account>,
}

/// Opens an account per signup on the PostgreSQL database at `url`.
pub(crate) async fn run(url: &str, signups: &[Signup]) -> Result<Report, BoxError> {
    let pool = PgPool::connect(url).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS accounts (
             id BIGSERIAL PRIMARY KEY,
             idempotency_key TEXT NOT NULL UNIQUE,
             email TEXT NOT NULL,
             plan TEXT NOT NULL
         )",
    )
    .execute(&pool)
    .await?;

    let engine = Engine::builder(PgStore::connect(url).await?)
        .resource(pool.clone())
        .register::<open_account>()
        .build()?;
    let worker = engine.spawn_worker();
    let mut opened = Vec::new();
    for (i, signup) in signups.iter().enumerate() {
        let id = format!("signup-{}-{i}", std::process::id());
        let handle = engine.start::<open_account>(&id, signup.clone()).await?;
        let account = handle.result().await??;
        println!("{id}: opened {account:?}");
        opened.push(account);
    }
    worker.shutdown().await?;

    let rows = sqlx::query_as("SELECT id, email, plan FROM accounts ORDER BY id")
        .fetch_all(&pool)
        .await?
        .into_iter()
        .map(account)
        .collect();
    Ok(Report { opened, rows })
}

/// The signups `main` submits.
pub(crate) fn signups() -> Vec<Signup> {
    [
        ("ada@example.com", "pro"),
        ("alan@example.com", "free"),
        ("grace@example.com", "team"),
    ]
    .into_iter()
    .map(|(email, plan)| Signup {
        email: email.into(),
        plan: plan.into(),
    })
    .collect()
}

/// Opens three accounts through tasks that query PostgreSQL with a pool the engine gives them.
#[derive(Debug, clap::Parser)]
#[command(name = "resources")]
struct Cli {
    /// PostgreSQL where tables may be created [default: $DATABASE_URL, then $SAYIIR_PG_URL]
    url: Option<String>,
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let url = <Cli as clap::Parser>::parse()
        .url
        .or_else(|| {
            ["DATABASE_URL", "SAYIIR_PG_URL"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        })
        .ok_or("no database: pass a URL or set DATABASE_URL")?;
    let report = run(&url, &signups()).await?;
    println!(
        "opened {} accounts; the accounts table holds {} rows",
        report.opened.len(),
        report.rows.len()
    );
    Ok(())
}
