// Durable sleeps, signals with and without a deadline, the shared context, `continue_as_new`
// and the retry options of tasks, in a crate that denies warnings.
#![deny(warnings, unused, nonstandard_style)]

use std::time::Duration;

use sayiir::{RetryPolicy, SignalTimeout, TaskTimeout, WorkflowContext, continue_as_new};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug)]
struct Approval {
    ok: bool,
}

#[derive(Serialize, Deserialize, Debug)]
enum Error {
    TooSlow(String),
    Busy,
    NoAnswer,
}

impl From<TaskTimeout> for Error {
    fn from(t: TaskTimeout) -> Self {
        Error::TooSlow(t.to_string())
    }
}

impl From<SignalTimeout> for Error {
    fn from(_: SignalTimeout) -> Self {
        Error::NoAnswer
    }
}

impl RetryPolicy for Error {
    fn is_permanent(&self) -> bool {
        !matches!(self, Error::Busy)
    }
}

#[sayiir::task(retries = 3, backoff = "100ms", max_backoff = "10s", timeout = "30s")]
async fn charge(n: u64) -> Result<u64, Error> {
    if n == 0 { Err(Error::Busy) } else { Ok(n) }
}

/// An error type without a retry policy: always retried.
#[sayiir::task(timeout = "1s")]
async fn ping(n: u64) -> Result<u64, TaskTimeout> {
    Ok(n)
}

#[sayiir::task(retries = 1)]
async fn plain(n: u64) -> u64 {
    n + 1
}

#[sayiir::workflow]
async fn child(ctx: &mut WorkflowContext, n: u64) -> u64 {
    let _ = ctx.set("child", &n);
    let bump = sayiir::signal::<u64>("child.bump").await;
    n + bump
}

#[sayiir::workflow(version = 2)]
async fn approvals(ctx: &mut sayiir::WorkflowContext, round: u32) -> Result<u32, Error> {
    let _ = ctx.set("round", &round);
    let first = sayiir::signal::<Approval>("approve").await;
    let second = sayiir::signal::<Approval>("approve")
        .timeout(Duration::from_secs(3600))
        .await?;
    sayiir::sleep(Duration::from_millis(10)).await;
    let paid = charge(u64::from(round)).await?;
    let pinged = ping(paid).await?;
    let (x, y) = sayiir::join!(
        plain(pinged),
        sayiir::signal::<u64>("extra").timeout(Duration::from_secs(5))
    )
    .await;
    let kid = child(x).await;
    let seen: u32 = ctx.get::<u32>("round").ok().flatten().unwrap_or(0);
    if first.ok && second.ok && round < 3 {
        return continue_as_new(round + 1 + seen).await;
    }
    let extra = y.unwrap_or(0);
    Ok(round + u32::try_from(kid + extra).unwrap_or(u32::MAX))
}

/// Called directly, a workflow with a context takes the caller's.
#[allow(dead_code)]
async fn direct() -> Result<u32, Error> {
    let mut ctx = WorkflowContext::new();
    approvals(&mut ctx, 1).await
}

fn main() {
    let _ = <approvals as sayiir::Workflow>::DEFINITION_HASH;
}
