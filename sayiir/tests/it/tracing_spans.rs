//! Every transition and every task run is a `tracing` span carrying the workflow name, the
//! instance id, the task name and the attempt, under names namespaced `sayiir.*`; a failed
//! attempt's span carries OpenTelemetry's error status and the error; store operations are
//! `debug` spans `sayiir.store.<op>`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use sayiir::{Engine, MemoryStore};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

#[sayiir::task]
async fn first(n: u64) -> u64 {
    n + 1
}

#[sayiir::task]
async fn second(n: u64) -> u64 {
    n * 2
}

#[sayiir::workflow]
async fn traced(n: u64) -> u64 {
    let a = first(n).await;
    second(a).await
}

static FLAKY_RUNS: AtomicU32 = AtomicU32::new(0);

/// Fails its first attempt.
#[sayiir::task(retries = 1, backoff = "1ms")]
async fn flaky(n: u64) -> Result<u64, String> {
    if FLAKY_RUNS.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(format!("boom at {n}"));
    }
    Ok(n)
}

#[sayiir::workflow]
async fn traced_flaky(n: u64) -> Result<u64, String> {
    flaky(n).await
}

/// A span as the recorder saw it: name, level, fields (recorded later ones included).
struct Seen {
    name: String,
    level: Level,
    fields: BTreeMap<String, String>,
}

type Spans = Arc<Mutex<Vec<Seen>>>;

/// Records every span with its fields; a span's id is its index in `spans` plus one.
struct Recorder {
    spans: Spans,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_string(),
            format!("{value:?}").trim_matches('"').to_string(),
        );
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = BTreeMap::new();
        span.record(&mut Fields(&mut fields));
        let mut spans = self.spans.lock().unwrap();
        spans.push(Seen {
            name: span.metadata().name().to_string(),
            level: *span.metadata().level(),
            fields,
        });
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, id: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        let index = usize::try_from(id.into_u64() - 1).unwrap();
        values.record(&mut Fields(&mut spans[index].fields));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Runs `body` on a current-thread runtime with a [`Recorder`] as the subscriber; returns the
/// spans it saw.
fn recorded(body: impl AsyncFnOnce()) -> Vec<Seen> {
    let spans: Spans = Arc::default();
    let recorder = Recorder {
        spans: spans.clone(),
    };
    let guard = tracing::subscriber::set_default(recorder);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(body());
    drop(guard);
    std::mem::take(&mut *spans.lock().unwrap())
}

fn named<'a>(spans: &'a [Seen], name: &str) -> Vec<&'a BTreeMap<String, String>> {
    spans
        .iter()
        .filter(|s| s.name == name)
        .map(|s| &s.fields)
        .collect()
}

#[test]
fn transitions_and_tasks_are_spans_with_their_identity() {
    let spans = recorded(async || {
        let engine = Engine::builder(MemoryStore::new())
            .register::<traced>()
            .build()
            .unwrap();
        let worker = engine.spawn_worker();
        assert_eq!(common::run_to_end::<traced>(&engine, "t-1", 4).await, 10);
        worker.shutdown().await.unwrap();
    });
    let tasks = named(&spans, "sayiir.task");
    assert_eq!(tasks.len(), 2);
    for (f, task) in tasks.iter().zip(["first", "second"]) {
        assert_eq!(f["sayiir.workflow.name"], "traced");
        assert_eq!(f["sayiir.instance.id"], "t-1");
        assert_eq!(f["sayiir.task.name"], task);
        assert_eq!(f["sayiir.task.attempt"], "1");
        assert!(f.contains_key("sayiir.worker.id"));
        assert!(!f.contains_key("otel.status_code"), "a task that succeeded");
    }
    let transitions = named(&spans, "sayiir.transition");
    assert_eq!(transitions.len(), 3, "start + one per task");
    let seqs: Vec<&str> = transitions
        .iter()
        .map(|f| f["sayiir.transition.seq"].as_str())
        .collect();
    assert_eq!(seqs, ["1", "2", "3"]);
    assert_eq!(transitions[1]["sayiir.task.name"], "first");
    assert_eq!(transitions[1]["sayiir.task.attempt"], "1");
    assert_eq!(transitions[1]["sayiir.transition.event"], "task");
    for f in &transitions {
        assert_eq!(f["sayiir.workflow.name"], "traced");
        assert_eq!(f["sayiir.instance.id"], "t-1");
        assert!(f.contains_key("sayiir.worker.id"));
    }
    let instances = named(&spans, "sayiir.instance");
    assert!(!instances.is_empty(), "one span per claim");
    assert_eq!(instances[0]["sayiir.instance.id"], "t-1");
    assert_eq!(instances[0]["sayiir.workflow.name"], "traced");
    assert_eq!(instances[0]["sayiir.lease.generation"], "1");
    assert!(named(&spans, "sayiir.worker")[0].contains_key("sayiir.worker.id"));

    // Store operations: debug spans, named by operation.
    let store: Vec<&Seen> = spans
        .iter()
        .filter(|s| s.name.starts_with("sayiir.store."))
        .collect();
    for op in ["sayiir.store.claim", "sayiir.store.register_worker"] {
        assert!(store.iter().any(|s| s.name == op), "a `{op}` span");
    }
    assert!(
        store
            .iter()
            .any(|s| s.name == "sayiir.store.create" || s.name == "sayiir.store.create_batch"),
        "a creation span"
    );
    assert!(
        store
            .iter()
            .any(|s| s.name == "sayiir.store.commit" || s.name == "sayiir.store.commit_batch"),
        "a commit span"
    );
    assert!(
        store.iter().all(|s| s.level == Level::DEBUG),
        "at debug level"
    );
    assert!(
        spans
            .iter()
            .filter(|s| s.name == "sayiir.transition")
            .all(|s| s.level == Level::DEBUG),
        "transitions at debug level"
    );
    assert!(
        spans
            .iter()
            .filter(|s| s.name.starts_with("sayiir.")
                && !s.name.starts_with("sayiir.store.")
                && s.name != "sayiir.transition")
            .all(|s| s.level == Level::INFO),
        "the others at info level"
    );
}

#[test]
fn a_failed_attempt_s_span_has_the_error_status_and_the_error() {
    let spans = recorded(async || {
        let engine = Engine::builder(MemoryStore::new())
            .register::<traced_flaky>()
            .build()
            .unwrap();
        let worker = engine.spawn_worker();
        let out = common::run_to_end::<traced_flaky>(&engine, "f-1", 7).await;
        assert_eq!(out, Ok(7));
        worker.shutdown().await.unwrap();
    });
    let tasks = named(&spans, "sayiir.task");
    assert_eq!(tasks.len(), 2, "two attempts");
    assert_eq!(tasks[0]["sayiir.task.attempt"], "1");
    assert_eq!(tasks[0]["otel.status_code"], "ERROR");
    assert_eq!(tasks[0]["otel.status_description"], "boom at 7");
    assert_eq!(tasks[1]["sayiir.task.attempt"], "2");
    assert!(!tasks[1].contains_key("otel.status_code"), "{:?}", tasks[1]);
}
