//! Real workflows run on the test engine until they wait at a known point; their stored state,
//! input and history read back with the description the store keeps.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sayiir_macros::{task, workflow};
use sayiir_store::{InstanceId, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::WorkflowContext;
use crate::codec;
use crate::describe::WaitShape;
use crate::testing::TestEngine;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(super) struct Order {
    id: u64,
    lines: Vec<Line>,
    note: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(super) struct Line {
    sku: String,
    qty: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(super) struct Priced {
    cents: u64,
    lines: usize,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(super) enum Outcome {
    Charged { amount: u64 },
    Declined(String),
}

/// Stored in the shared context only: no type of the description has its shape.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(super) struct Opaque(u8, bool);

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(super) struct Decision {
    approve: bool,
    by: String,
}

#[task(crate = crate)]
async fn price(order: Order) -> Priced {
    Priced {
        cents: order.lines.iter().map(|l| u64::from(l.qty) * 250).sum(),
        lines: order.lines.len(),
    }
}

/// Fails when `mode` is "fail": retried an hour later.
#[task(crate = crate, retries = 3, backoff = "1h", max_backoff = "1h")]
async fn charge(id: u64, cents: u64, mode: String) -> Result<Outcome, String> {
    if mode == "fail" {
        Err(format!("declined {id}"))
    } else {
        Ok(Outcome::Charged { amount: cents })
    }
}

/// Fails for tags starting with "fail": retried an hour later.
#[task(crate = crate, retries = 3, backoff = "1h", max_backoff = "1h")]
async fn measure(tag: String) -> Result<u32, String> {
    if tag.starts_with("fail") {
        Err(format!("cannot measure {tag}"))
    } else {
        Ok(u32::try_from(tag.len()).unwrap_or(u32::MAX))
    }
}

#[workflow(crate = crate)]
async fn checkout(ctx: &mut WorkflowContext, order: Order, mode: String) -> Result<String, String> {
    ctx.set("order", &order).map_err(|e| e.to_string())?;
    ctx.set("opaque", &Opaque(7, true))
        .map_err(|e| e.to_string())?;
    let priced = price(order.clone()).await;
    let outcome = charge(order.id, priced.cents, mode).await?;
    Ok(format!("{} {} {outcome:?}", order.id, priced.cents))
}

#[workflow(crate = crate)]
async fn fanout(a: String, b: String) -> (Result<u32, String>, Result<u32, String>) {
    crate::join!(measure(a), measure(b)).await
}

#[workflow(crate = crate)]
async fn many(tags: Vec<String>) -> Vec<Result<u32, String>> {
    crate::join_all(tags.into_iter().map(|t| measure(t))).await
}

#[workflow(crate = crate)]
async fn approval(doc: String) -> bool {
    let decision = crate::signal::<Decision>("decide").await;
    decision.approve && !doc.is_empty()
}

#[workflow(crate = crate)]
async fn filing(doc: String, copies: u8) -> String {
    let ok = approval(doc.clone()).await;
    format!("{doc} x{copies}: {ok}")
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

/// Never ends by itself: cut off by its timeout an hour later.
#[task(crate = crate, timeout = "1h")]
async fn stall(n: u64) -> Result<u64, String> {
    std::future::pending::<()>().await;
    Ok(n)
}

#[workflow(crate = crate)]
async fn stalled(n: u64) -> Result<u64, String> {
    stall(n).await
}

#[workflow(crate = crate)]
async fn nap(minutes: u64) -> String {
    crate::sleep(Duration::from_secs(minutes * 60)).await;
    match crate::signal::<u32>("poke")
        .timeout(Duration::from_secs(90))
        .await
    {
        Ok(n) => format!("poked {n}"),
        Err(_) => "nobody".into(),
    }
}

fn engine() -> TestEngine {
    TestEngine::builder()
        .register::<checkout>()
        .register::<fanout>()
        .register::<many>()
        .register::<filing>()
        .register::<nap>()
        .register::<stalled>()
        .build()
        .unwrap()
}

/// The description a registration makes.
fn described<W: crate::Workflow>() -> WorkflowShape {
    let placeholders = crate::shape::Placeholders::default();
    crate::describe::Describe::new(&placeholders).workflow::<W>()
}

fn store(t: &TestEngine) -> &dyn Store {
    &*t.engine().inner.store
}

/// The description the store keeps for `workflow` (what a tool without the code reads).
async fn saved(t: &TestEngine, workflow: &str) -> WorkflowShape {
    let defs = store(t).definitions(Some(workflow)).await.unwrap();
    assert_eq!(defs.len(), 1, "{workflow}");
    WorkflowShape::decode(&defs[0].shape).unwrap()
}

/// The stored state of instance `id`, read with its saved description.
async fn state(t: &TestEngine, id: &str) -> StateView {
    let record = store(t).load(&InstanceId::new(id).unwrap()).await.unwrap();
    let shape = saved(t, &record.workflow).await;
    let view = state_to_json(&shape, &record.state.unwrap()).unwrap();
    assert_eq!(Some(&view.state_id), record.state_id.as_ref());
    view
}

fn field<'a>(fields: &'a [(String, Value)], name: &str) -> &'a Value {
    &fields.iter().find(|(n, _)| n == name).unwrap().1
}

fn names(fields: &[(String, Value)]) -> Vec<&str> {
    fields.iter().map(|(n, _)| n.as_str()).collect()
}

fn order() -> Order {
    Order {
        id: 5,
        lines: vec![
            Line {
                sku: "A".into(),
                qty: 2,
            },
            Line {
                sku: "B".into(),
                qty: 1,
            },
        ],
        note: None,
    }
}

/// A linear workflow waiting for a retry: carried values by name, the task call with its
/// attempt, backoff and arguments, the shared context; its input and its history's task
/// outputs read with the same description.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linear_workflow_waiting_for_a_retry() {
    let t = engine();
    t.start::<checkout>("c-1", (order(), "fail".into()))
        .await
        .unwrap();
    t.settle().await;
    let now = t.engine().inner.clock.now().as_millis();
    let view = state(&t, "c-1").await;
    assert_eq!(view.state_id, "charge#1");
    assert_eq!(names(&view.fields), ["order", "priced"]);
    assert_eq!(
        field(&view.fields, "order"),
        &serde_json::to_value(order()).unwrap()
    );
    assert_eq!(
        field(&view.fields, "priced"),
        &json!({"cents": 750, "lines": 2})
    );
    let Some(WaitView::Task {
        task,
        attempt,
        not_before,
        deadline,
        args,
        ..
    }) = &view.wait
    else {
        panic!("{view:?}")
    };
    assert_eq!((task.as_str(), *attempt, *deadline), ("charge", 2, None));
    let Some(WaitView::Task { origin, .. }) = &view.wait else {
        unreachable!()
    };
    let seq = store(&t)
        .load(&InstanceId::new("c-1").unwrap())
        .await
        .unwrap()
        .seq;
    assert!((1..=seq).contains(origin), "origin {origin}, seq {seq}");
    assert!(not_before.is_some_and(|t| t > now), "{not_before:?}");
    assert_eq!(
        args,
        &[
            ("id".to_string(), json!(5)),
            ("cents".to_string(), json!(750)),
            ("mode".to_string(), json!("fail")),
        ]
    );

    // The context: a value of a type the description has is read; another is only sized.
    assert_eq!(view.context.len(), 2);
    let opaque = view.context.iter().find(|c| c.key == "opaque").unwrap();
    assert_eq!(opaque.value, None);
    assert!(opaque.type_name.ends_with("Opaque"), "{}", opaque.type_name);
    assert!(opaque.size > 5);
    let stored = view.context.iter().find(|c| c.key == "order").unwrap();
    assert_eq!(stored.value, Some(serde_json::to_value(order()).unwrap()));

    // The view as a command line prints it: fields and arguments in stored order.
    let text = serde_json::to_string(&view).unwrap();
    assert!(
        text.starts_with(r#"{"state_id":"charge#1","variant":"#),
        "{text}"
    );
    assert!(
        text.contains(r#""args":{"id":5,"cents":750,"mode":"fail"}"#),
        "{text}"
    );
    assert!(text.contains(r#""fields":{"order":{"#), "{text}");

    // The input, and the failed attempt's error in the history.
    let shape = saved(&t, "checkout").await;
    let id = InstanceId::new("c-1").unwrap();
    let input = store(&t).load_input(&id).await.unwrap().unwrap();
    let inputs = input_to_json(&shape, &input).unwrap();
    assert_eq!(
        inputs,
        [
            ("order".to_string(), serde_json::to_value(order()).unwrap()),
            ("mode".to_string(), json!("fail")),
        ]
    );
    #[derive(Deserialize)]
    struct Retry {
        _slot: Vec<u32>,
        task: String,
        _failed_attempt: u32,
        _not_before: i64,
        error: Vec<u8>,
    }
    let history = store(&t).history(&id, None, None).await.unwrap();
    let retry = history.iter().find(|h| h.kind == "retry").unwrap();
    let retry: Retry = codec::decode(&retry.payload).unwrap();
    let task = shape.find_task(&retry.task).unwrap();
    assert_eq!(
        task_output_to_json(task, &retry.error).unwrap(),
        json!({"Err": "declined 5"})
    );
    let priced = history.iter().find(|h| h.kind == "task").unwrap();
    #[derive(Deserialize)]
    struct Done {
        _slot: Vec<u32>,
        task: String,
        _attempt: u32,
        output: Vec<u8>,
    }
    let priced: Done = codec::decode(&priced.payload).unwrap();
    assert_eq!(priced.task, "price");
    assert_eq!(
        task_output_to_json(shape.find_task("price").unwrap(), &priced.output).unwrap(),
        json!({"cents": 750, "lines": 2})
    );
    assert!(shape.find_task("nope").is_none());
    assert!(shape.signal_payloads().is_empty());
    t.shutdown().await.unwrap();
}

/// `join!`: a finished branch with its value, a pending one with its call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_with_one_branch_done() {
    let t = engine();
    t.start::<fanout>("f-1", ("abc".into(), "fail-b".into()))
        .await
        .unwrap();
    t.settle().await;
    let view = state(&t, "f-1").await;
    assert!(view.fields.is_empty());
    let Some(WaitView::Join { branches }) = &view.wait else {
        panic!("{view:?}")
    };
    assert_eq!(branches[0], BranchView::Done(json!({"Ok": 3})));
    let BranchView::Pending(WaitView::Task {
        task,
        attempt,
        args,
        ..
    }) = &branches[1]
    else {
        panic!("{branches:?}")
    };
    assert_eq!((task.as_str(), *attempt), ("measure", 2));
    assert_eq!(args, &[("tag".to_string(), json!("fail-b"))]);
    let text = serde_json::to_value(&view).unwrap();
    assert_eq!(
        text["wait"]["join"]["branches"][0],
        json!({"done": {"Ok": 3}})
    );
    assert_eq!(
        text["wait"]["join"]["branches"][1]["pending"]["task"]["args"],
        json!({"tag": "fail-b"})
    );
    t.shutdown().await.unwrap();
}

/// `join_all`: every branch in order, done or pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_all_with_branches_done_and_pending() {
    let t = engine();
    let tags = vec!["ab".to_string(), "fail-1".into(), "xyz".into()];
    t.start::<many>("m-1", tags).await.unwrap();
    t.settle().await;
    let view = state(&t, "m-1").await;
    let Some(WaitView::JoinAll { branches }) = &view.wait else {
        panic!("{view:?}")
    };
    assert_eq!(branches.len(), 3);
    assert_eq!(branches[0], BranchView::Done(json!({"Ok": 2})));
    assert!(
        matches!(&branches[1], BranchView::Pending(WaitView::Task { attempt: 2, args, .. })
            if args == &[("tag".to_string(), json!("fail-1"))]),
        "{branches:?}"
    );
    assert_eq!(branches[2], BranchView::Done(json!({"Ok": 3})));
    t.shutdown().await.unwrap();
}

/// A child workflow's state nests in its parent's, read with the child's description; the
/// signal it waits for is named by the stored wait, its payload type by the description.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_workflow_waiting_for_a_signal() {
    let t = engine();
    t.start::<filing>("p-1", ("memo".into(), 3)).await.unwrap();
    t.settle().await;
    let view = state(&t, "p-1").await;
    assert_eq!(view.state_id, "approval#1");
    assert_eq!(
        view.fields,
        [
            ("doc".to_string(), json!("memo")),
            ("copies".to_string(), json!(3))
        ]
    );
    let Some(WaitView::Child { workflow, state }) = &view.wait else {
        panic!("{view:?}")
    };
    assert_eq!(workflow, "approval");
    assert_eq!(state.state_id, "signal:decide#1");
    assert_eq!(state.fields, [("doc".to_string(), json!("memo"))]);
    assert!(state.context.is_empty());
    let Some(WaitView::Signal {
        name,
        payload_type,
        deadline,
        timeout,
        ..
    }) = &state.wait
    else {
        panic!("{state:?}")
    };
    assert_eq!(name, "decide");
    assert!(payload_type.ends_with("Decision"), "{payload_type}");
    assert_eq!((*deadline, *timeout), (None, None));

    let shape = saved(&t, "filing").await;
    let payloads = shape.signal_payloads();
    assert_eq!(payloads.len(), 1);
    let decision = json!({"approve": true, "by": "Bo"});
    let blob = from_json(&payloads[0].shape, &decision).unwrap();
    assert_eq!(
        blob,
        codec::encode(&Decision {
            approve: true,
            by: "Bo".into()
        })
        .unwrap()
    );
    t.signal(
        "p-1",
        "decide",
        &Decision {
            approve: true,
            by: "Bo".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        t.run_until_done::<filing>("p-1").await.unwrap(),
        "memo x3: true"
    );
    t.shutdown().await.unwrap();
}

/// A timer's due time, then a signal wait's deadline and timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_then_a_signal_with_a_timeout() {
    let t = engine();
    let began = t.engine().inner.clock.now().as_millis();
    t.start::<nap>("n-1", 10).await.unwrap();
    t.settle().await;
    let view = state(&t, "n-1").await;
    assert_eq!(
        view.wait,
        Some(WaitView::Timer {
            due: began + 600_000
        })
    );
    assert_eq!(view.fields, []);

    t.advance(Duration::from_secs(600)).await;
    let view = state(&t, "n-1").await;
    let Some(WaitView::Signal {
        name,
        payload_type,
        deadline,
        timeout,
        ..
    }) = &view.wait
    else {
        panic!("{view:?}")
    };
    assert_eq!(name, "poke");
    assert_eq!(payload_type, "u32");
    assert_eq!(*deadline, Some(began + 600_000 + 90_000));
    assert_eq!(*timeout, Some(Duration::from_secs(90)));
    let shape = saved(&t, "nap").await;
    assert_eq!(shape.signal_payloads()[0].shape, Shape::U32);
    t.shutdown().await.unwrap();
}

/// A state blob against a description that does not have its state, bytes left over, a
/// flipped bit: typed errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_that_does_not_fit_its_description_is_a_typed_error() {
    let t = engine();
    t.start::<filing>("p-2", ("memo".into(), 3)).await.unwrap();
    t.settle().await;
    let record = store(&t)
        .load(&InstanceId::new("p-2").unwrap())
        .await
        .unwrap();
    let blob = record.state.unwrap();
    let mut shape = saved(&t, "filing").await;
    shape.states.truncate(1);
    let err = state_to_json(&shape, &blob).unwrap_err();
    assert!(
        matches!(&err, InspectError::UnknownState { index: 1, count: 1, path, .. }
            if path == ".state_id"),
        "{err}"
    );

    let shape = saved(&t, "filing").await;
    let mut longer = codec::payload(&blob).unwrap().to_vec();
    longer.push(0);
    let err = state_to_json(&shape, &codec::encode(&Raw(&longer)).unwrap()).unwrap_err();
    assert!(
        matches!(err, InspectError::TrailingBytes { extra: 1, .. }),
        "{err}"
    );
    for bit in 0..blob.len() * 8 {
        let mut b = blob.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        assert!(state_to_json(&shape, &b).is_err(), "flip of bit {bit}");
    }
    // The child's carried field read as another type: the path goes through the child.
    let mut shape = saved(&t, "filing").await;
    let Some(WaitShape::Child(child)) = &mut shape.states[1].wait else {
        panic!()
    };
    child.states[1].fields[0].ty.shape = Shape::Bool;
    let err = state_to_json(&shape, &blob).unwrap_err();
    assert!(
        matches!(&err, InspectError::Malformed { path, .. }
            if path == ".wait.child.state.fields.doc"),
        "{err}"
    );
    t.shutdown().await.unwrap();
}

/// A new instance's state: the start state, its inputs as fields, no wait.
#[test]
fn a_start_state_holds_the_inputs() {
    let shape = described::<filing>();
    let (blob, input) = crate::registry::initial_state::<filing>(("memo".into(), 3)).unwrap();
    let view = state_to_json(&shape, &blob).unwrap();
    assert_eq!(
        (view.state_id.as_str(), view.variant.as_str()),
        ("start", "Start")
    );
    let expected = [
        ("doc".to_string(), json!("memo")),
        ("copies".to_string(), json!(3)),
    ];
    assert_eq!(view.fields, expected);
    assert_eq!((view.wait, view.context), (None, vec![]));
    assert_eq!(input_to_json(&shape, &input).unwrap(), expected);
}

/// A `continue_as_new` wait (applied in the transition that reaches it, so written by hand
/// here as the state would store it): the next run's start state.
#[test]
fn a_continue_as_new_wait_holds_the_next_start_state() {
    use crate::machine::Workflow as _;
    #[derive(Serialize)]
    struct ContinueWait {
        input: Vec<u8>,
    }
    let shape = described::<count_to>();
    let (index, state) = shape
        .states
        .iter()
        .enumerate()
        .find(|(_, s)| s.wait == Some(WaitShape::Continue))
        .unwrap();
    assert!(state.fields.is_empty(), "{state:?}");
    let next = codec::encode(&count_to::start((3, 5))).unwrap();
    let blob = codec::encode(&(
        WorkflowContext::default(),
        (u32::try_from(index).unwrap(), ContinueWait { input: next }),
    ))
    .unwrap();
    let view = state_to_json(&shape, &blob).unwrap();
    let Some(WaitView::ContinueAsNew { next }) = &view.wait else {
        panic!("{view:?}")
    };
    assert_eq!(next.state_id, "start");
    assert_eq!(
        next.fields,
        [("n".to_string(), json!(3)), ("until".to_string(), json!(5))]
    );
    let text = serde_json::to_value(&view).unwrap();
    assert_eq!(
        text["wait"]["continue_as_new"]["next"]["fields"],
        json!({"n": 3, "until": 5})
    );
}

/// A running attempt of a task with a timeout: its deadline is committed before it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_attempt_has_its_deadline() {
    let t = engine();
    let began = t.engine().inner.clock.now().as_millis();
    t.start::<stalled>("s-1", 4).await.unwrap();
    let id = InstanceId::new("s-1").unwrap();
    let patience = std::time::Instant::now();
    let view = loop {
        let record = store(&t).load(&id).await.unwrap();
        if let Some(blob) = record.state {
            let view = state_to_json(&saved(&t, "stalled").await, &blob).unwrap();
            if matches!(
                view.wait,
                Some(WaitView::Task {
                    deadline: Some(_),
                    ..
                })
            ) {
                break view;
            }
        }
        assert!(
            patience.elapsed() < Duration::from_secs(30),
            "no deadline stored"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let Some(WaitView::Task {
        task,
        attempt,
        deadline,
        not_before,
        args,
        ..
    }) = &view.wait
    else {
        unreachable!()
    };
    assert_eq!((task.as_str(), *attempt, *not_before), ("stall", 1, None));
    assert_eq!(*deadline, Some(began + 3_600_000));
    assert_eq!(args, &[("n".to_string(), json!(4))]);
}

/// A description whose join waits on something that yields no value (a damaged one: a
/// `continue_as_new` is never a branch) meets a finished branch: a typed error at the branch.
#[test]
fn a_branch_value_the_description_says_is_never_stored_is_a_typed_error() {
    #[derive(Serialize)]
    enum Branch {
        #[allow(dead_code)]
        Pending(()),
        Done(Vec<u8>),
    }
    let mut shape = WorkflowShape::new("joined", 1, &[0; 32]);
    shape.state("Start", "start");
    shape.state("S1", "join_all#1");
    shape.wait(WaitShape::JoinAll(Box::new(WaitShape::Continue)));
    let branches = vec![Branch::Done(codec::encode(&()).unwrap())];
    let blob = codec::encode(&(WorkflowContext::default(), (1u32, branches))).unwrap();
    let err = state_to_json(&shape, &blob).unwrap_err();
    assert!(
        matches!(&err, InspectError::NotStored { path, .. }
            if path == ".wait.join_all.branches[0].done"),
        "{err}"
    );
}

/// Bytes written as they are (a tuple's elements, no length): a payload made by hand.
struct Raw<'a>(&'a [u8]);

impl Serialize for Raw<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(self.0.len())?;
        for b in self.0 {
            t.serialize_element(b)?;
        }
        t.end()
    }
}
