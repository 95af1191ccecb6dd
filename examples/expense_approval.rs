//! Expense approval: a fork whose two branches read the workflow's shared context instead of
//! taking it as arguments, a human decision arriving as a signal (with a three-day timeout), a
//! durable sleep until the payout window, and a ledger call that is retried with backoff and
//! cut off by a timeout.
//!
//! ```text
//! cargo run -p sayiir-examples --example expense_approval
//! ```

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sayiir::{Engine, RetryPolicy, SqliteStore, TaskContext, TaskTimeout, WorkflowContext};
use serde::{Deserialize, Serialize};

/// An expense claim.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct Expense {
    /// Claim id.
    pub(crate) id: String,
    /// Amount in cents.
    pub(crate) cents: u64,
    /// Department that pays.
    pub(crate) department: String,
}

/// A manager's decision, sent as the `decision` signal.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct Decision {
    /// Approved or not.
    pub(crate) approved: bool,
    /// Who decided.
    pub(crate) by: String,
}

/// Why a claim was not paid.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) enum ExpenseError {
    /// Over the department's limit (permanent: retrying cannot help).
    OverLimit(u64),
    /// The manager said no.
    Rejected(String),
    /// Nobody decided in time.
    NoDecision,
    /// The ledger failed or was too slow (transient: retried).
    Ledger(String),
}

impl From<TaskTimeout> for ExpenseError {
    fn from(t: TaskTimeout) -> Self {
        ExpenseError::Ledger(t.to_string())
    }
}

impl RetryPolicy for ExpenseError {
    fn is_permanent(&self) -> bool {
        !matches!(self, ExpenseError::Ledger(_))
    }
}

fn say(line: String) {
    println!("  {line}");
}

fn department() -> String {
    TaskContext::current()
        .and_then(|cx| cx.shared().get::<String>("department").ok().flatten())
        .unwrap_or_default()
}

#[sayiir::task]
async fn check_limit(cents: u64) -> Result<(), ExpenseError> {
    let dept = department();
    let limit = if dept == "research" { 500_000 } else { 100_000 };
    say(format!("{dept}: limit {limit}, claim {cents}"));
    if cents > limit {
        return Err(ExpenseError::OverLimit(limit));
    }
    Ok(())
}

#[sayiir::task]
async fn reserve_budget(cents: u64) -> Result<String, ExpenseError> {
    let dept = department();
    say(format!("{dept}: reserved {cents} of this quarter's budget"));
    Ok(format!("{dept}-q4"))
}

static LEDGER_CALLS: AtomicU32 = AtomicU32::new(0);

/// A flaky ledger: every other call fails; the engine retries it.
#[sayiir::task(retries = 3, backoff = "50ms", max_backoff = "1s", timeout = "5s")]
async fn post_to_ledger(id: String, cents: u64) -> Result<String, ExpenseError> {
    let Some(cx) = TaskContext::current() else {
        return Err(ExpenseError::Ledger("not run by the engine".into()));
    };
    if LEDGER_CALLS
        .fetch_add(1, Ordering::SeqCst)
        .is_multiple_of(2)
    {
        say(format!("ledger busy for {id} (attempt {})", cx.attempt()));
        return Err(ExpenseError::Ledger("busy".into()));
    }
    say(format!(
        "posted {cents} for {id} (attempt {})",
        cx.attempt()
    ));
    Ok(format!("entry-{}", cx.idempotency_key()))
}

#[sayiir::workflow]
pub(crate) async fn expense(
    ctx: &mut WorkflowContext,
    claim: Expense,
) -> Result<String, ExpenseError> {
    ctx.set("department", &claim.department)
        .map_err(|e| ExpenseError::Ledger(e.to_string()))?;
    let (_, budget) =
        sayiir::try_join!(check_limit(claim.cents), reserve_budget(claim.cents)).await?;
    let decision = sayiir::signal::<Decision>("decision")
        .timeout(Duration::from_secs(3 * 24 * 3600))
        .await;
    let decision = match decision {
        Ok(d) => d,
        Err(_) => return Err(ExpenseError::NoDecision),
    };
    if !decision.approved {
        return Err(ExpenseError::Rejected(decision.by));
    }
    // Payouts leave in batches; the instance is parked in the store until then.
    sayiir::sleep(Duration::from_millis(200)).await;
    let entry = post_to_ledger(claim.id, claim.cents).await?;
    Ok(format!(
        "{entry} from {budget}, approved by {}",
        decision.by
    ))
}

/// Runs three claims (approved, rejected, over the limit) on a SQLite file.
pub(crate) async fn run(
    db: &Path,
) -> Result<Vec<Result<String, ExpenseError>>, Box<dyn std::error::Error>> {
    let engine = Engine::builder(SqliteStore::open(db)?)
        .register::<expense>()
        .build()?;
    let worker = engine.spawn_worker();
    let claim = |id: &str, cents: u64, department: &str| Expense {
        id: id.into(),
        cents,
        department: department.into(),
    };
    let claims = [
        claim("exp-1", 42_000, "research"),
        claim("exp-2", 9_000, "sales"),
        claim("exp-3", 250_000, "sales"),
    ];
    for c in &claims {
        engine.start::<expense>(&c.id, c.clone()).await?;
    }
    // The managers answer (signals are buffered if the workflow is not waiting yet).
    let decide = |approved: bool, by: &str| Decision {
        approved,
        by: by.into(),
    };
    engine
        .signal("exp-1", "decision", &decide(true, "grace"))
        .await?;
    engine
        .signal("exp-2", "decision", &decide(false, "linus"))
        .await?;
    let mut results = Vec::new();
    for c in &claims {
        let result = engine.result::<expense>(&c.id).await?;
        println!("{} => {result:?}", c.id);
        results.push(result);
    }
    worker.shutdown().await?;
    Ok(results)
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("sayiir-expense-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    run(&dir.join("expense.db")).await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
