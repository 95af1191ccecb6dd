//! Every transition and every task run is a `tracing` span carrying the workflow name, the
//! instance id, the task name and the attempt.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sayiir::{Engine, MemoryStore};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

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

type Spans = Arc<Mutex<Vec<(String, BTreeMap<String, String>)>>>;

/// Records every span with its fields.
struct Recorder {
    spans: Spans,
    next: std::sync::atomic::AtomicU64,
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
        self.spans
            .lock()
            .unwrap()
            .push((span.metadata().name().to_string(), fields));
        Id::from_u64(self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn transitions_and_tasks_are_spans_with_their_identity() {
    let spans: Spans = Arc::default();
    let recorder = Recorder {
        spans: spans.clone(),
        next: Default::default(),
    };
    let _guard = tracing::subscriber::set_default(recorder);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let engine = Engine::builder(MemoryStore::new())
            .register::<traced>()
            .build()
            .unwrap();
        let worker = engine.spawn_worker();
        assert_eq!(common::run_to_end::<traced>(&engine, "t-1", 4).await, 10);
        worker.shutdown().await.unwrap();
    });
    let spans = spans.lock().unwrap();
    let tasks: Vec<_> = spans
        .iter()
        .filter(|(n, _)| n == "sayiir.task")
        .map(|(_, f)| f)
        .collect();
    assert_eq!(tasks.len(), 2);
    for (f, task) in tasks.iter().zip(["first", "second"]) {
        assert_eq!(f["workflow"], "traced");
        assert_eq!(f["instance"], "t-1");
        assert_eq!(f["task"], task);
        assert_eq!(f["attempt"], "1");
        assert!(f.contains_key("worker"));
    }
    let transitions: Vec<_> = spans
        .iter()
        .filter(|(n, _)| n == "sayiir.transition")
        .map(|(_, f)| f)
        .collect();
    assert_eq!(transitions.len(), 3, "start + one per task");
    let seqs: Vec<&str> = transitions.iter().map(|f| f["seq"].as_str()).collect();
    assert_eq!(seqs, ["1", "2", "3"]);
    assert_eq!(transitions[1]["task"], "first");
    assert_eq!(transitions[1]["attempt"], "1");
    for f in &transitions {
        assert_eq!(f["workflow"], "traced");
        assert_eq!(f["instance"], "t-1");
    }
}
