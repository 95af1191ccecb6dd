//! Workflow-level shared state (`ctx: &mut sayiir::WorkflowContext`), read by tasks through their
//! task context, in every execution mode; resources (`Res<T>`) in `context/resources.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod resources;

use crate::common;

use sayiir::testing::TestEngine;
use sayiir::{Engine, SqliteStore, TaskContext, WorkflowContext};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Tenant {
    region: String,
    tier: u8,
}

/// Reads the tenant from the shared state instead of taking it as an argument.
#[sayiir::task]
async fn quote(item: String) -> String {
    let cx = TaskContext::current().unwrap();
    let tenant: Tenant = cx.shared().get("tenant").unwrap().unwrap();
    format!(
        "{item}@{}/t{} [{} attempt {}]",
        tenant.region,
        tenant.tier,
        cx.task(),
        cx.attempt()
    )
}

#[sayiir::task]
async fn audit(n: u32) -> u32 {
    let cx = TaskContext::current().unwrap();
    assert_eq!(cx.workflow(), "pricing");
    n + cx.shared().get::<u32>("runs").unwrap().unwrap_or(0)
}

#[sayiir::workflow]
async fn pricing(ctx: &mut WorkflowContext, tenant: Tenant) -> Vec<String> {
    ctx.set("tenant", &tenant).unwrap();
    let (a, b) = sayiir::join!(quote("disk".into()), quote("cpu".into())).await;
    let runs: u32 = ctx.get("runs").unwrap().unwrap_or(0);
    ctx.set("runs", &(runs + 1)).unwrap();
    let seen = audit(100).await;
    vec![a, b, format!("audit {seen}")]
}

fn tenant() -> Tenant {
    Tenant {
        region: "eu-west".into(),
        tier: 2,
    }
}

fn expected(runs_after: u32) -> Vec<String> {
    vec![
        "disk@eu-west/t2 [quote attempt 1]".to_string(),
        "cpu@eu-west/t2 [quote attempt 1]".to_string(),
        format!("audit {}", 100 + runs_after),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_branches_of_a_fork_read_the_shared_state_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("ctx.db")).unwrap();
    let engine = Engine::builder(store)
        .register::<pricing>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    let out = common::run_to_end::<pricing>(&engine, "price-1", tenant()).await;
    assert_eq!(out, expected(1));
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn called_directly_the_workflow_uses_and_fills_the_given_context() {
    let mut ctx = WorkflowContext::new();
    ctx.set("runs", &5u32).unwrap();
    let out = pricing(&mut ctx, tenant()).await;
    assert_eq!(out, expected(6));
    assert_eq!(ctx.get::<u32>("runs").unwrap(), Some(6));
    assert_eq!(ctx.get::<Tenant>("tenant").unwrap(), Some(tenant()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_engine_runs_it_too() {
    let t = TestEngine::builder().register::<pricing>().build().unwrap();
    t.start::<pricing>("price-2", tenant()).await.unwrap();
    assert_eq!(
        t.run_until_done::<pricing>("price-2").await.unwrap(),
        expected(1)
    );
    t.shutdown().await.unwrap();
}

/// A user type named `Context`: an owned parameter is an input, whatever its type is named.
mod named_context {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
    pub(crate) struct Context {
        pub(crate) region: String,
    }

    #[sayiir::task]
    async fn greet(ctx: Context) -> String {
        format!("hello {}", ctx.region)
    }

    /// Sayiir's context first, then the user's `Context` as the input.
    #[sayiir::workflow]
    pub(crate) async fn hello(shared: &mut sayiir::WorkflowContext, ctx: Context) -> String {
        let said = greet(ctx).await;
        shared.set("said", &said).unwrap();
        said
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_type_named_context_is_an_input() {
    use named_context::{Context, hello};
    let t = TestEngine::builder().register::<hello>().build().unwrap();
    let ctx = Context {
        region: "eu".into(),
    };
    t.start::<hello>("hello-1", ctx.clone()).await.unwrap();
    assert_eq!(
        t.run_until_done::<hello>("hello-1").await.unwrap(),
        "hello eu"
    );
    t.shutdown().await.unwrap();
    let mut shared = WorkflowContext::new();
    assert_eq!(hello(&mut shared, ctx).await, "hello eu");
    assert_eq!(
        shared.get::<String>("said").unwrap().as_deref(),
        Some("hello eu")
    );
}
