//! Direct calls: what stops them comes back typed from `run_direct` (and the plain call's
//! panic names it); sleeps, signal timeouts, retries and task timeouts take real time; and a
//! direct call makes the same transitions as the engine (same attempts, same call identities).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sayiir_macros::{task, workflow};
use sayiir_store::MemoryStore;

use super::*;
use crate::{Engine, Res, SignalTimeout, TaskTimeout};

/// What tasks saw: (instance, task, attempt, the idempotency key after the instance).
static SEEN: Mutex<Vec<(String, &'static str, u32, String)>> = Mutex::new(Vec::new());

fn record(task: &'static str) -> u32 {
    let cx = TaskContext::current().expect("tasks run with a context");
    let instance = cx.instance().to_owned();
    let call = cx.idempotency_key()[instance.len()..].to_owned();
    let attempt = cx.attempt();
    SEEN.lock().unwrap().push((instance, task, attempt, call));
    attempt
}

fn seen_by(instance_prefix: &str) -> Vec<(&'static str, u32, String)> {
    SEEN.lock()
        .unwrap()
        .iter()
        .filter(|(i, ..)| i.starts_with(instance_prefix))
        .map(|(_, t, a, c)| (*t, *a, c.clone()))
        .collect()
}

static FILED: AtomicU32 = AtomicU32::new(0);

#[task(crate = crate)]
async fn file(doc: String) -> String {
    FILED.fetch_add(1, Ordering::SeqCst);
    format!("filed {doc}")
}

#[workflow(crate = crate)]
async fn approve(doc: String) -> String {
    let filed = file(doc).await;
    let ok = crate::signal::<bool>("approval").await;
    format!("{filed}: {ok}")
}

#[tokio::test]
async fn a_direct_call_waiting_for_a_signal_is_a_typed_error_naming_it() {
    let before = FILED.load(Ordering::SeqCst);
    let err = run_direct::<approve>("d-1".into()).await.unwrap_err();
    assert_eq!(
        err,
        DirectRunError::WaitsForSignal {
            workflow: "approve",
            signal: "approval".into()
        }
    );
    assert!(
        err.to_string()
            .starts_with("workflow `approve` waits for the signal `approval`, which cannot reach"),
        "{err}"
    );
    assert!(
        FILED.load(Ordering::SeqCst) > before,
        "the task before it ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plain_call_panics_naming_the_typed_entry_point() {
    let panic = tokio::spawn(approve("d-2".into()))
        .await
        .expect_err("the call cannot go on")
        .into_panic();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.starts_with("workflow `approve` waits for the signal `approval`"),
        "{message}"
    );
    assert!(
        message.ends_with(
            "; `sayiir::run_direct::<approve>(input)` returns this as a `sayiir::DirectRunError` instead of panicking"
        ),
        "{message}"
    );
}

struct Counter(AtomicU32);

#[task(crate = crate)]
async fn counted(n: u32, counter: Res<Counter>) -> u32 {
    counter.0.fetch_add(n, Ordering::SeqCst) + n
}

#[workflow(crate = crate)]
async fn tally(n: u32) -> u32 {
    counted(n).await
}

#[tokio::test]
async fn a_missing_resource_is_a_typed_error_and_a_scope_provides_it() {
    let err = run_direct::<tally>(2).await.unwrap_err();
    let DirectRunError::MissingResource { workflow, missing } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*workflow, missing.task), ("tally", "counted"));
    assert_eq!(missing.param, "counter: Res<Counter>");
    let out = Resources::new()
        .with(Counter(AtomicU32::new(40)))
        .scope(run_direct::<tally>(2))
        .await;
    assert_eq!(out, Ok(42));
}

#[workflow(crate = crate)]
async fn patient(ms: u64) -> String {
    crate::sleep(Duration::from_millis(ms)).await;
    match crate::signal::<bool>("go")
        .timeout(Duration::from_millis(ms))
        .await
    {
        Ok(go) => format!("go {go}"),
        Err(SignalTimeout { .. }) => "gave up".into(),
    }
}

/// The wall clock: the sleep and the signal's deadline both take their time.
#[tokio::test]
async fn sleeps_and_signal_deadlines_take_real_time() {
    let began = Instant::now();
    assert_eq!(run_direct::<patient>(40).await, Ok("gave up".to_string()));
    assert!(
        began.elapsed() >= Duration::from_millis(80),
        "{:?}",
        began.elapsed()
    );
}

#[task(crate = crate, retries = 3, backoff = "20ms", max_backoff = "20ms")]
async fn flaky(fails: u32) -> Result<u32, String> {
    let attempt = record("flaky");
    if attempt <= fails {
        return Err(format!("attempt {attempt} failed"));
    }
    Ok(attempt)
}

#[task(crate = crate, timeout = "30ms")]
async fn slow(ms: u64) -> Result<u64, String> {
    record("slow");
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(ms)
}

#[workflow(crate = crate)]
async fn mixed(fails: u32) -> Result<(u32, String), String> {
    let attempts = flaky(fails).await?;
    let (fast, cut) = crate::join!(slow(1), slow(5_000)).await;
    let cut = match cut {
        Ok(ms) => format!("{ms}"),
        Err(e) => e,
    };
    Ok((attempts + fast? as u32, cut))
}

/// Retries wait for their backoff; an attempt past its deadline is cut off with the task's
/// timeout error. Under the engine the same transitions happen: the same attempts of the same
/// calls (identities `origin.slot` after the instance), in the same order per call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_call_makes_the_engines_transitions() {
    let began = Instant::now();
    let out = run_direct::<mixed>(2).await.unwrap();
    let timed_out = TaskTimeout {
        task: "slow".into(),
        after: Duration::from_millis(30),
        attempt: 1,
    };
    assert_eq!(out, Ok((4, timed_out.to_string())));
    // Two backoffs of 10 to 20 ms, then a 30 ms deadline.
    assert!(
        began.elapsed() >= Duration::from_millis(50),
        "{:?}",
        began.elapsed()
    );

    let engine = Engine::builder(MemoryStore::new())
        .register::<mixed>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    let handle = engine.start::<mixed>("mixed-on-engine", 2).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), out);
    worker.shutdown().await.unwrap();

    let mut direct = seen_by("inline-");
    let mut engine = seen_by("mixed-on-engine");
    // Branches of the join run concurrently: compare per call, in attempt order.
    direct.sort();
    engine.sort();
    assert_eq!(direct.len(), 5, "{direct:?}");
    assert_eq!(direct, engine);
}

#[task(crate = crate)]
async fn bump(n: u64) -> u64 {
    n + 1
}

#[workflow(crate = crate)]
async fn count_to(n: u64, until: u64) -> u64 {
    let next = bump(n).await;
    if next >= until {
        return next;
    }
    crate::continue_as_new((next, until)).await
}

#[workflow(crate = crate)]
async fn twice(until: u64) -> (u64, u64) {
    let first = count_to(0, until).await;
    let second = count_to(first, first + 2).await;
    (first, second)
}

#[tokio::test]
async fn continue_as_new_restarts_the_run_or_the_child_in_memory() {
    assert_eq!(run_direct::<count_to>((0, 5)).await, Ok(5));
    assert_eq!(run_direct::<twice>(3).await, Ok((3, 5)));
}
