//! Resources: `Res<T>` task parameters filled from the engine's resources, on SQLite, in the
//! test engine with fakes, and in a workflow called directly; a missing one refused at
//! `build()`; a `Res` parameter changes no hash, fingerprint or lock entry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sayiir::testing::TestEngine;
use sayiir::{
    BuildProblem, Engine, LockMode, LockOutcome, MemoryStore, Res, Resources, SqliteStore, Task,
    TaskContext,
};

/// A database stand-in: rows appended in order.
#[derive(Default)]
struct Db {
    name: String,
    rows: Mutex<Vec<String>>,
}

impl Db {
    fn named(name: &str) -> Self {
        Self {
            name: name.into(),
            rows: Mutex::default(),
        }
    }

    fn rows(&self) -> Vec<String> {
        self.rows.lock().unwrap().clone()
    }
}

/// Task runs, counted across every task and instance of one engine.
#[derive(Default)]
struct Calls(AtomicU64);

/// Sends mail; production and tests give the engine different implementations.
trait Mailer: Send + Sync {
    fn send(&self, to: &str) -> String;
}

#[derive(Default)]
struct FakeMailer {
    sent: Mutex<Vec<String>>,
}

impl Mailer for FakeMailer {
    fn send(&self, to: &str) -> String {
        self.sent.lock().unwrap().push(to.to_string());
        format!("fake mail to {to}")
    }
}

struct Smtp;

impl Mailer for Smtp {
    fn send(&self, to: &str) -> String {
        format!("smtp mail to {to}")
    }
}

/// A helper a task calls: it reaches the counter through the task context.
fn count_call() -> u64 {
    let calls = TaskContext::current()
        .and_then(|cx| cx.resource::<Calls>())
        .expect("a task runs with the engine's resources");
    calls.0.fetch_add(1, Ordering::SeqCst) + 1
}

/// Two resources, between and after stored arguments.
#[sayiir::task]
async fn reserve(item: String, db: Res<Db>, qty: u32, calls: sayiir::Res<Calls>) -> String {
    calls.0.fetch_add(1, Ordering::SeqCst);
    let mut rows = db.rows.lock().unwrap();
    rows.push(format!("{item} x{qty}"));
    format!("{}#{}", db.name, rows.len())
}

#[sayiir::task]
async fn mail(to: String, mailer: Res<dyn Mailer>) -> String {
    let n = count_call();
    format!("{} (call {n})", mailer.send(&to))
}

#[sayiir::workflow]
async fn stock(item: String) -> Vec<String> {
    let a = reserve(item.clone(), 2).await;
    let b = reserve(format!("{item}-spare"), 1).await;
    let c = mail(format!("{item}@example.com")).await;
    vec![a, b, c]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_take_two_resources_and_share_a_counter_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("res.db")).unwrap();
    let db = Arc::new(Db::named("main"));
    let calls = Arc::new(Calls::default());
    let engine = Engine::builder(store)
        .resource_arc(db.clone())
        .resource_arc(calls.clone())
        .resource_arc::<dyn Mailer>(Arc::new(Smtp))
        .register::<stock>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    let first = crate::common::run_to_end::<stock>(&engine, "s-1", "bolt".into()).await;
    assert_eq!(
        first,
        ["main#1", "main#2", "smtp mail to bolt@example.com (call 3)"]
    );
    let second = crate::common::run_to_end::<stock>(&engine, "s-2", "nut".into()).await;
    assert_eq!(
        second,
        ["main#3", "main#4", "smtp mail to nut@example.com (call 6)"]
    );
    worker.shutdown().await.unwrap();
    // One value of each, shared by every task run of both instances.
    assert_eq!(
        db.rows(),
        ["bolt x2", "bolt-spare x1", "nut x2", "nut-spare x1"]
    );
    assert_eq!(calls.0.load(Ordering::SeqCst), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_engine_takes_fakes_the_same_way() {
    let mailer = Arc::new(FakeMailer::default());
    let t = TestEngine::builder()
        .resource(Db::named("fake"))
        .resource(Calls::default())
        .resource_arc::<dyn Mailer>(mailer.clone())
        .register::<stock>()
        .build()
        .unwrap();
    t.start::<stock>("s-1", "gear".into()).await.unwrap();
    assert_eq!(
        t.run_until_done::<stock>("s-1").await.unwrap(),
        ["fake#1", "fake#2", "fake mail to gear@example.com (call 3)"]
    );
    assert_eq!(*mailer.sent.lock().unwrap(), ["gear@example.com"]);
    t.shutdown().await.unwrap();
}

/// Runs `stock` as plain Rust inside a task: its tasks use this task's resources.
#[sayiir::task]
async fn stock_inline(item: String) -> Vec<String> {
    stock(item).await
}

#[sayiir::workflow]
async fn stock_through_a_task(item: String) -> Vec<String> {
    stock_inline(item).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_called_directly_inside_a_task_uses_the_engine_resources() {
    let t = TestEngine::builder()
        .resource(Db::named("engine"))
        .resource(Calls::default())
        .resource_arc::<dyn Mailer>(Arc::new(Smtp))
        .register::<stock_through_a_task>()
        .build()
        .unwrap();
    t.start::<stock_through_a_task>("s-1", "axle".into())
        .await
        .unwrap();
    assert_eq!(
        t.run_until_done::<stock_through_a_task>("s-1")
            .await
            .unwrap(),
        [
            "engine#1",
            "engine#2",
            "smtp mail to axle@example.com (call 3)"
        ]
    );
    t.shutdown().await.unwrap();
}

#[sayiir::workflow]
async fn restock(item: String) -> Vec<String> {
    let mut out = stock(item.clone()).await;
    let more = reserve(item, 10).await;
    out.push(more);
    out
}

fn problems(builder: sayiir::EngineBuilder) -> Vec<BuildProblem> {
    match builder.build() {
        Ok(_) => panic!("the engine was built without the resources its tasks take"),
        Err(e) => e.problems,
    }
}

#[test]
fn a_missing_resource_is_a_build_error_naming_workflow_task_and_type() {
    let got = problems(
        Engine::builder(MemoryStore::new())
            .resource(Db::named("main"))
            .register::<stock>(),
    );
    let calls = std::any::type_name::<Calls>();
    let mailer = std::any::type_name::<dyn Mailer>();
    assert_eq!(
        got,
        [
            BuildProblem::MissingResource {
                workflow: "stock".into(),
                version: 1,
                via: vec![],
                task: "reserve".into(),
                param: "calls: sayiir::Res<Calls>".into(),
                resource: calls.into(),
            },
            BuildProblem::MissingResource {
                workflow: "stock".into(),
                version: 1,
                via: vec![],
                task: "mail".into(),
                param: "mailer: Res<dyn Mailer>".into(),
                resource: mailer.into(),
            },
        ]
    );
    assert_eq!(
        got[0].to_string(),
        format!(
            "task `reserve` of workflow `stock` version 1 takes `calls: sayiir::Res<Calls>`, but the engine has no resource of type `{calls}`: add it with `.resource(value)` on the engine builder"
        )
    );
}

#[test]
fn a_missing_resource_of_a_child_workflow_is_reported_through_the_parent() {
    let err = Engine::builder(MemoryStore::new())
        .resource(Calls::default())
        .resource_arc::<dyn Mailer>(Arc::new(Smtp))
        .register::<restock>()
        .build()
        .expect_err("`Db` is missing");
    let db = std::any::type_name::<Db>();
    assert_eq!(
        err.to_string(),
        format!(
            "the engine cannot be built:\n  \
             - task `reserve` of workflow `restock` version 1 (through child workflow `stock`) takes `db: Res<Db>`, but the engine has no resource of type `{db}`: add it with `.resource(value)` on the engine builder\n  \
             - task `reserve` of workflow `restock` version 1 takes `db: Res<Db>`, but the engine has no resource of type `{db}`: add it with `.resource(value)` on the engine builder"
        )
    );
    // The test engine checks the same way.
    let err = TestEngine::builder()
        .register::<stock>()
        .build()
        .expect_err("nothing is given");
    assert_eq!(err.problems.len(), 3, "{err}");
}

/// The same workflow and task, without and with a resource parameter.
mod plain {
    #[sayiir::task]
    pub(super) async fn lookup(id: u64) -> String {
        format!("item {id}")
    }

    #[sayiir::workflow]
    pub(super) async fn find(id: u64) -> String {
        lookup(id).await
    }
}

mod with_res {
    use super::Db;
    use sayiir::Res;

    #[sayiir::task]
    pub(super) async fn lookup(id: u64, db: Res<Db>) -> String {
        format!("item {id} in {}", db.name)
    }

    #[sayiir::workflow]
    pub(super) async fn find(id: u64) -> String {
        lookup(id).await
    }
}

#[test]
fn a_res_parameter_changes_neither_hash_nor_fingerprint_nor_lock() {
    assert_eq!(
        <plain::lookup as Task>::SIGNATURE_HASH,
        <with_res::lookup as Task>::SIGNATURE_HASH
    );
    assert_eq!(
        plain::find::DEFINITION_HASH,
        with_res::find::DEFINITION_HASH
    );
    let plain = Engine::builder(MemoryStore::new())
        .register::<plain::find>()
        .build()
        .unwrap();
    let with_res = Engine::builder(MemoryStore::new())
        .resource(Db::named("main"))
        .register::<with_res::find>()
        .build()
        .unwrap();
    let (a, b) = (&plain.definitions()[0], &with_res.definitions()[0]);
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_eq!(a.resource_uses(), []);
    let uses = b.resource_uses();
    assert_eq!(uses.len(), 1);
    assert_eq!(
        (uses[0].task.as_str(), uses[0].need.param),
        ("lookup", "db: Res<Db>")
    );
    // The lock file entries are the same bytes.
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a.lock"), dir.path().join("b.lock"));
    plain.check_lock_with(&pa, LockMode::Update).unwrap();
    with_res.check_lock_with(&pb, LockMode::Update).unwrap();
    assert_eq!(std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
    assert_eq!(
        with_res.check_lock_with(&pa, LockMode::Strict).unwrap(),
        LockOutcome::UpToDate
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn called_directly_a_workflow_takes_the_resources_of_its_scope() {
    let db = Arc::new(Db::named("direct"));
    let out = Resources::new()
        .with_arc(db.clone())
        .with(Calls::default())
        .with_arc::<dyn Mailer>(Arc::new(Smtp))
        .scope(stock("cog".into()))
        .await;
    assert_eq!(
        out,
        [
            "direct#1",
            "direct#2",
            "smtp mail to cog@example.com (call 3)"
        ]
    );
    assert_eq!(db.rows(), ["cog x2", "cog-spare x1"]);
    // A task fn called directly takes its resources as arguments.
    let calls = Res::new(Calls::default());
    let row = reserve("pin".into(), Res::from(db.clone()), 5, calls.clone()).await;
    assert_eq!(row, "direct#3");
    assert_eq!(calls.0.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn called_directly_without_the_resource_the_run_fails_naming_it() {
    let run = tokio::spawn(
        Resources::new()
            .with(Db::named("x"))
            .scope(stock("cog".into())),
    );
    let panic = run.await.expect_err("the run cannot go on").into_panic();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(
        message,
        format!(
            "workflow `stock` run directly failed: task `reserve` needs the resource `{}` (its parameter `calls: sayiir::Res<Calls>`), which this run was not given: run the workflow on an engine built with `.resource(value)`, or call it inside `sayiir::Resources::new().with(value).scope(..)`; `sayiir::run_direct::<stock>(input)` returns this as a `sayiir::DirectRunError` instead of panicking",
            std::any::type_name::<Calls>()
        )
    );
}
