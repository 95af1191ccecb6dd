//! One trace for the whole life of an instance (feature `otel`). This process starts an
//! instance inside a span of its own; worker processes (this binary re-run on the ignored
//! `otel_worker_child`) run it: the first is SIGKILLed once some of its tasks have finished, a
//! second one takes over and finishes the instance. Each process sends its spans to an
//! OpenTelemetry SDK tracer (tracing-opentelemetry's layer, the SDK's `InMemorySpanExporter`);
//! a worker appends each finished span (trace id, span id, parent id, name, instance, seq) to a
//! file of its own as it ends, so that a kill loses none that had ended.
//!
//! Checked: every `sayiir.instance`, `sayiir.transition` and `sayiir.task` span of the instance,
//! in both processes, is in the starter's trace, and the transitions and tasks are children of
//! the starter's span; the transitions seen in the two processes cover the whole run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use common::children::{ChildProc, append_line, read_lines, wait_for};
use common::{PATIENCE, env};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{SpanId, TraceContextExt, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use sayiir::store::{InstanceId, Status, Store};
use sayiir::{Engine, SqliteStore};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

/// The instance's legs (tasks, one after the other).
const LEGS: u64 = 6;
const ID: &str = "trip-1";

#[sayiir::task]
async fn leg(i: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(200)).await;
    i + 1
}

#[sayiir::workflow]
async fn journey(n: u64) -> u64 {
    let a = leg(n).await;
    let b = leg(a).await;
    let c = leg(b).await;
    let d = leg(c).await;
    let e = leg(d).await;
    leg(e).await
}

/// A subscriber that sends every span to an SDK tracer exporting to memory.
fn otel_subscriber() -> (
    impl tracing::Subscriber + Send + Sync,
    InMemorySpanExporter,
    SdkTracerProvider,
) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("sayiir-tests"));
    (
        tracing_subscriber::registry().with(layer),
        exporter,
        provider,
    )
}

/// One finished span as a worker writes it.
#[derive(Debug)]
struct Seen {
    trace: String,
    span: String,
    parent: String,
    name: String,
    instance: String,
    seq: Option<u64>,
}

/// Appends the spans `exporter` finished since the `written` first ones to `out`.
fn write_new(exporter: &InMemorySpanExporter, out: &Path, written: &Mutex<usize>) {
    let mut written = written.lock().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    for s in spans.iter().skip(*written) {
        let attr = |key: &str| {
            s.attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.to_string())
        };
        append_line(
            out,
            &format!(
                "{} {} {} {} {} {}",
                s.span_context.trace_id(),
                s.span_context.span_id(),
                s.parent_span_id,
                s.name,
                attr("sayiir.instance.id").unwrap_or_else(|| "-".into()),
                attr("sayiir.transition.seq").unwrap_or_else(|| "-".into()),
            ),
        );
    }
    *written = spans.len();
}

fn read_spans(path: &Path) -> Vec<Seen> {
    read_lines(path)
        .iter()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            let [trace, span, parent, name, instance, seq] = f[..] else {
                return None;
            };
            Some(Seen {
                trace: trace.into(),
                span: span.into(),
                parent: parent.into(),
                name: name.into(),
                instance: instance.into(),
                seq: seq.parse().ok(),
            })
        })
        .collect()
}

/// Child mode: a worker on the SQLite file that runs the instance to its end, its spans going
/// to `OTEL_SPANS` as they finish.
#[test]
#[ignore = "run by `one_trace_across_killed_and_replaced_workers` as a child process"]
fn otel_worker_child() {
    if env("OTEL_DB").is_empty() {
        return;
    }
    let (subscriber, exporter, provider) = otel_subscriber();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let out = PathBuf::from(env("OTEL_SPANS"));
    let written = Arc::new(Mutex::new(0));
    {
        let (exporter, out, written) = (exporter.clone(), out.clone(), written.clone());
        std::thread::spawn(move || {
            loop {
                write_new(&exporter, &out, &written);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
    }
    common::children::runtime().block_on(async {
        let engine = Engine::builder(SqliteStore::open(env("OTEL_DB")).unwrap())
            .register::<journey>()
            .build()
            .unwrap();
        let worker = engine.spawn_worker();
        engine.result::<journey>(ID).await.unwrap();
        worker.shutdown().await.unwrap();
    });
    provider.force_flush().unwrap();
    write_new(&exporter, &out, &written);
}

#[test]
fn one_trace_across_killed_and_replaced_workers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("otel.db");

    // The starter: a request span of its own, in this process's tracer.
    let (subscriber, exporter, _provider) = otel_subscriber();
    let guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (trace, starter): (TraceId, SpanId) = rt.block_on(async {
        let engine = Engine::builder(SqliteStore::open(&db).unwrap())
            .register::<journey>()
            .build()
            .unwrap();
        let request = tracing::info_span!("checkout.request");
        let cx = request.context().span().span_context().clone();
        engine
            .start::<journey>(ID, 0)
            .instrument(request)
            .await
            .unwrap();
        (cx.trace_id(), cx.span_id())
    });
    drop(guard);
    let exported = exporter.get_finished_spans().unwrap();
    assert!(
        exported
            .iter()
            .any(|s| s.name == "checkout.request" && s.span_context.span_id() == starter),
        "the starter's span was exported"
    );
    let (trace, starter) = (trace.to_string(), starter.to_string());

    let child = |n: u32, spans: &Path| {
        let envs = [
            ("OTEL_DB", db.display().to_string()),
            ("OTEL_SPANS", spans.display().to_string()),
        ];
        let test = common::test_name!(otel::otel_worker_child);
        ChildProc::spawn(&test, &format!("worker {n}"), n, &envs)
    };
    let tasks_in = |path: &Path| {
        read_spans(path)
            .iter()
            .filter(|s| s.name == "sayiir.task")
            .count()
    };

    // The first worker dies once two legs have finished there.
    let first_spans = dir.path().join("spans-1.txt");
    let mut first = child(1, &first_spans);
    wait_for(PATIENCE, "two legs done by the first worker", || {
        (tasks_in(&first_spans) >= 2).then_some(())
    });
    first.kill();
    let first_seen = read_spans(&first_spans);

    // Its replacement finishes the instance.
    let second_spans = dir.path().join("spans-2.txt");
    let mut second = child(2, &second_spans);
    let status = second.wait(PATIENCE * 2);
    assert!(status.success(), "the second worker failed: {status}");
    let second_seen = read_spans(&second_spans);

    let head = rt.block_on(async {
        let store = SqliteStore::open(&db).unwrap();
        store.load(&InstanceId::new(ID).unwrap()).await.unwrap()
    });
    assert_eq!(head.status, Status::Completed);
    assert_eq!(head.seq, LEGS + 1, "a start and one transition per leg");

    let ours = |seen: &[Seen]| -> Vec<(String, String, String, String, Option<u64>)> {
        seen.iter()
            .filter(|s| s.instance == ID)
            .map(|s| {
                (
                    s.trace.clone(),
                    s.span.clone(),
                    s.parent.clone(),
                    s.name.clone(),
                    s.seq,
                )
            })
            .collect()
    };
    let (first_ours, second_ours) = (ours(&first_seen), ours(&second_seen));
    for (who, spans) in [("first", &first_ours), ("second", &second_ours)] {
        for name in ["sayiir.transition", "sayiir.task"] {
            assert!(
                spans.iter().any(|s| s.3 == name),
                "the {who} worker ended no `{name}` span: {spans:?}"
            );
        }
        for (t, span, parent, name, _) in spans.iter() {
            assert_eq!(
                *t, trace,
                "{who} worker's `{name}` span {span} is in another trace"
            );
            if name != "sayiir.instance" {
                assert_eq!(
                    *parent, starter,
                    "{who} worker's `{name}` span {span} is not a child of the starter's"
                );
            }
        }
    }
    // The first worker's transitions are a prefix of the run (its spans are written as they
    // end, in that order), less those that ended in the moment of the kill; the second's are
    // the rest of it, from where the store says the first one stopped.
    let seqs_of = |spans: &[(String, String, String, String, Option<u64>)]| -> Vec<u64> {
        let set: BTreeSet<u64> = spans
            .iter()
            .filter(|s| s.3 == "sayiir.transition")
            .filter_map(|s| s.4)
            .collect();
        set.into_iter().collect()
    };
    let (first_seqs, second_seqs) = (seqs_of(&first_ours), seqs_of(&second_ours));
    let last_first = *first_seqs.last().unwrap();
    assert_eq!(first_seqs, (1..=last_first).collect::<Vec<u64>>(), "first");
    let first_second = second_seqs[0];
    assert!(
        first_second > last_first,
        "{first_seqs:?} then {second_seqs:?}"
    );
    assert_eq!(
        second_seqs,
        (first_second..=LEGS + 1).collect::<Vec<u64>>(),
        "the second worker ran the rest of the instance"
    );
    let traces: BTreeSet<&str> = first_seen
        .iter()
        .chain(&second_seen)
        .filter(|s| s.instance == ID)
        .map(|s| s.trace.as_str())
        .collect();
    eprintln!(
        "otel: starter trace {trace} (span {starter}); first worker (SIGKILLed): {} spans of the \
         instance, transitions {first_seqs:?}; second worker: {} spans, transitions \
         {second_seqs:?}; traces among them: {traces:?}",
        first_ours.len(),
        second_ours.len()
    );
}

#[sayiir::workflow]
async fn hop(n: u64) -> u64 {
    leg(n).await
}

/// The stored trace context of `id`: its trace id and parent span id, if any.
async fn stored(store: &SqliteStore, id: &str) -> Option<(String, String)> {
    let head = store.load(&InstanceId::new(id).unwrap()).await.unwrap();
    let text = head.trace_context?;
    let f: Vec<&str> = text.split('-').collect();
    assert_eq!((f.len(), f[0]), (4, "00"), "a W3C traceparent: {text:?}");
    Some((f[1].to_owned(), f[2].to_owned()))
}

/// The trace id and span id of `span`.
fn ids(span: &tracing::Span) -> (String, String) {
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    (sc.trace_id().to_string(), sc.span_id().to_string())
}

/// `start`, `start_by_name`, `start_in` and restarts store the caller's trace context (none
/// outside a trace; a restart outside one keeps the stored context), and a restarted run's
/// spans join the restarting caller's trace.
#[test]
fn starts_and_restarts_record_the_callers_trace_context() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("starts.db");
    let (subscriber, exporter, _provider) = otel_subscriber();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(&path).unwrap();
        let engine = Engine::builder(store.clone())
            .register::<hop>()
            .build()
            .unwrap();

        let a = tracing::info_span!("caller.a");
        let in_a = ids(&a);
        engine
            .start::<hop>("s-1", 1)
            .instrument(a.clone())
            .await
            .unwrap();
        engine
            .start_by_name("hop", "s-2", &2u64)
            .instrument(a.clone())
            .await
            .unwrap();
        engine.start::<hop>("s-3", 3).await.unwrap();
        let mut app = rusqlite::Connection::open(&path).unwrap();
        let tx = app.transaction().unwrap();
        engine
            .start_in::<hop>(&tx, "s-4", 4)
            .instrument(a.clone())
            .await
            .unwrap();
        tx.commit().unwrap();
        for id in ["s-1", "s-2", "s-4"] {
            assert_eq!(stored(&store, id).await, Some(in_a.clone()), "{id}");
        }
        assert_eq!(
            stored(&store, "s-3").await,
            None,
            "started outside any trace"
        );

        let b = tracing::info_span!("caller.b");
        let in_b = ids(&b);
        engine
            .restart("s-1", "again")
            .instrument(b.clone())
            .await
            .unwrap();
        engine
            .restart("s-3", "again")
            .instrument(b.clone())
            .await
            .unwrap();
        engine.restart("s-2", "again").await.unwrap();
        assert_eq!(stored(&store, "s-1").await, Some(in_b.clone()));
        assert_eq!(stored(&store, "s-3").await, Some(in_b.clone()));
        assert_eq!(
            stored(&store, "s-2").await,
            Some(in_a.clone()),
            "a restart outside any trace keeps the context"
        );

        let worker = engine.spawn_worker();
        for (id, n) in [("s-1", 1), ("s-2", 2), ("s-3", 3), ("s-4", 4)] {
            assert_eq!(engine.result::<hop>(id).await.unwrap(), n + 1);
        }
        worker.shutdown().await.unwrap();
        drop((a, b));

        let spans = exporter.get_finished_spans().unwrap();
        let trace_of = |id: &str| -> BTreeSet<String> {
            spans
                .iter()
                .filter(|s| s.name == "sayiir.task" || s.name == "sayiir.transition")
                .filter(|s| {
                    s.attributes.iter().any(|kv| {
                        kv.key.as_str() == "sayiir.instance.id" && kv.value.as_str() == id
                    })
                })
                .map(|s| s.span_context.trace_id().to_string())
                .collect()
        };
        for (id, expected) in [
            ("s-1", &in_b),
            ("s-2", &in_a),
            ("s-3", &in_b),
            ("s-4", &in_a),
        ] {
            assert_eq!(trace_of(id), BTreeSet::from([expected.0.clone()]), "{id}");
        }
    });
}
