//! What the engine records, read back from a `DebuggingRecorder` set for the test's thread
//! (the test runtime is single-threaded, and every handle is registered when the engine is
//! built, on that thread): each metric with its labels and values, and the engine's own
//! counts fed by the same calls.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshot};
use sayiir_macros::{task, workflow};

use super::names::*;
use crate::testing::TestEngine;

static FLAKY_CALLS: AtomicU32 = AtomicU32::new(0);

#[task(crate = crate)]
async fn double(n: u64) -> u64 {
    n * 2
}

#[task(crate = crate, retries = 1, backoff = "1s")]
async fn flaky(n: u64) -> Result<u64, String> {
    if FLAKY_CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
        Err("not yet".into())
    } else {
        Ok(n + 1)
    }
}

#[task(crate = crate, timeout = "10ms")]
async fn hangs(n: u64) -> Result<u64, String> {
    std::future::pending::<()>().await;
    Ok(n)
}

#[workflow(crate = crate)]
async fn times_out(n: u64) -> u64 {
    match hangs(n).await {
        Ok(v) => v,
        Err(_) => 0,
    }
}

#[workflow(crate = crate)]
async fn measured(n: u64) -> Result<u64, String> {
    let a = double(n).await;
    crate::sleep(Duration::from_secs(5)).await;
    let b = flaky(a).await?;
    let go = crate::signal::<u64>("go").await;
    Ok(b + go)
}

#[task(crate = crate)]
async fn explodes(n: u64) -> u64 {
    if n > 0 {
        panic!("boom");
    }
    n
}

#[workflow(crate = crate)]
async fn panicky(n: u64) -> u64 {
    explodes(n).await
}

#[task(crate = crate, retries = 0, on_exhausted = "park")]
async fn refuses(n: u64) -> Result<u64, String> {
    Err(format!("{n} refused"))
}

#[workflow(crate = crate)]
async fn parks(n: u64) -> Result<u64, String> {
    refuses(n).await
}

/// One metric of a snapshot: kind, name, labels, value.
type Entry = (MetricKind, String, Vec<(String, String)>, DebugValue);

/// The metrics of one snapshot, by kind, name and labels.
struct Recorded(Vec<Entry>);

impl Recorded {
    fn of(s: Snapshot) -> Self {
        Self(
            s.into_vec()
                .into_iter()
                .map(|(ck, _, _, v)| {
                    let labels = ck
                        .key()
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect();
                    (ck.kind(), ck.key().name().to_owned(), labels, v)
                })
                .collect(),
        )
    }

    /// The value of `name` with exactly `labels`.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> &DebugValue {
        let mut want: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        want.sort();
        self.0
            .iter()
            .find(|(_, n, l, _)| {
                let mut l = l.clone();
                l.sort();
                n == name && l == want
            })
            .map(|(_, _, _, v)| v)
            .unwrap_or_else(|| panic!("no {name} {labels:?} among {:#?}", self.0))
    }

    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.get(name, labels) {
            DebugValue::Counter(n) => *n,
            v => panic!("{name} is not a counter: {v:?}"),
        }
    }

    fn samples(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        match self.get(name, labels) {
            DebugValue::Histogram(v) => v.iter().map(|x| x.into_inner()).collect(),
            v => panic!("{name} is not a histogram: {v:?}"),
        }
    }

    fn gauge(&self, name: &str) -> f64 {
        match self.get(name, &[]) {
            DebugValue::Gauge(v) => v.into_inner(),
            v => panic!("{name} is not a gauge: {v:?}"),
        }
    }

    /// The sum of a counter over all its label sets.
    fn total(&self, name: &str) -> u64 {
        self.0
            .iter()
            .filter(|(_, n, _, _)| n == name)
            .map(|(_, _, _, v)| match v {
                DebugValue::Counter(n) => *n,
                _ => 0,
            })
            .sum()
    }
}

/// One instance through a task, a timer, a retry and a signal: every count, every
/// histogram's samples, with their labels, and the engine's own counts agree.
#[tokio::test]
async fn a_run_records_its_steps_tasks_timers_and_signals() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let t = TestEngine::builder()
        .register::<measured>()
        .build()
        .unwrap();
    let engine = t.engine().clone();
    engine.start::<measured>("m-1", 20).await.unwrap();
    t.settle().await;
    let waiting = t.run_until_done::<measured>("m-1").await;
    assert!(waiting.is_err(), "it waits for its signal: {waiting:?}");
    engine.signal("m-1", "go", &100u64).await.unwrap();
    assert_eq!(t.run_until_done::<measured>("m-1").await.unwrap(), Ok(141));
    t.settle().await;
    let counts = engine.metrics();
    let r = Recorded::of(snapshotter.snapshot());

    let wf = [("workflow", "measured")];
    let task = |name| [("workflow", "measured"), ("task", name)];
    assert_eq!(r.counter(INSTANCES_STARTED, &wf), 1);
    assert_eq!(r.counter(INSTANCES_COMPLETED, &wf), 1);
    assert_eq!(r.counter(INSTANCES_FAILED, &wf), 0);
    assert_eq!(r.counter(SIGNALS_SENT, &wf), 1);
    assert_eq!(r.counter(SIGNALS_CONSUMED, &wf), 1);
    let transitions = r.counter(TRANSITIONS, &wf);
    assert_eq!(transitions, counts.transitions(), "{counts:?}");
    assert!(transitions >= 6, "{transitions}");
    assert_eq!(r.samples(STEP_LATENCY, &wf).len() as u64, transitions);

    assert_eq!(r.counter(TASKS_STARTED, &task("double")), 1);
    assert_eq!(r.counter(TASKS_SUCCEEDED, &task("double")), 1);
    assert_eq!(r.counter(TASKS_STARTED, &task("flaky")), 2);
    assert_eq!(r.counter(TASKS_FAILED, &task("flaky")), 1);
    assert_eq!(r.counter(TASKS_SUCCEEDED, &task("flaky")), 1);
    assert_eq!(r.counter(TASKS_RETRIED, &task("flaky")), 1);
    assert_eq!(counts.tasks_started(), 3);
    assert_eq!(counts.task_retries(), 1);
    for (name, outcome, n) in [
        ("double", "ok", 1),
        ("double", "error", 0),
        ("flaky", "ok", 1),
        ("flaky", "error", 1),
        ("flaky", "timeout", 0),
        ("flaky", "panic", 0),
    ] {
        let labels = [
            ("workflow", "measured"),
            ("task", name),
            ("outcome", outcome),
        ];
        let samples = r.samples(TASK_ATTEMPT_DURATION, &labels);
        assert_eq!(samples.len(), n, "{labels:?}: {samples:?}");
        assert!(samples.iter().all(|s| *s >= 0.0));
    }

    // The sleep fired once its due time passed; the virtual clock jumps right onto it.
    let late = r.samples(TIMER_LATENESS, &wf);
    assert_eq!(late.len(), 1, "{late:?}");
    assert!(late[0] < 1.0, "{late:?}");
    assert!(!r.samples(CLAIM_TO_START_DELAY, &wf).is_empty());

    // Every transition went through the committer, in batches the engine counted too.
    let store = [("store", "memory")];
    let sizes = r.samples(COMMIT_BATCH_SIZE, &store);
    let (batches, carried) = counts.commit_batches();
    assert_eq!(sizes.len() as u64, batches);
    assert_eq!(sizes.iter().sum::<f64>() as u64, carried);
    assert_eq!(carried, transitions);
    assert_eq!(r.samples(COMMIT_DURATION, &store).len() as u64, batches);
    let (_, created) = counts.create_batches();
    assert_eq!(
        r.samples(START_BATCH_SIZE, &store).iter().sum::<f64>() as u64,
        created
    );

    assert_eq!(r.gauge(WORKERS), 1.0);
    assert_eq!(r.gauge(INSTANCES_LIMIT), 1024.0);
    assert_eq!(r.gauge(INSTANCES_IN_FLIGHT), 0.0);
    // Sampled when the worker started (the instance was due then, or already claimed).
    assert!(r.gauge(DUE_BACKLOG) <= 1.0);
    t.shutdown().await.unwrap();
}

/// A task cut off by its timeout (on the wall clock: the test engine's virtual time does not
/// move while an attempt runs).
#[tokio::test]
async fn a_timeout_is_its_own_outcome() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let engine = crate::Engine::builder(sayiir_store::MemoryStore::new())
        .register::<times_out>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    let handle = engine.start::<times_out>("t-1", 7).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 0);
    worker.shutdown().await.unwrap();
    let r = Recorded::of(snapshotter.snapshot());
    let task = [("workflow", "times_out"), ("task", "hangs")];
    assert_eq!(r.counter(TASKS_STARTED, &task), 1);
    assert_eq!(r.counter(TASKS_TIMED_OUT, &task), 1);
    assert_eq!(r.counter(TASKS_FAILED, &task), 0);
    let outcome = [
        ("workflow", "times_out"),
        ("task", "hangs"),
        ("outcome", "timeout"),
    ];
    let took = r.samples(TASK_ATTEMPT_DURATION, &outcome);
    assert_eq!(took.len(), 1);
    // The cutoff is a deadline fixed when the attempt was planned, so the attempt itself may
    // run a little less than the timeout: only its presence and sign are checked.
    assert!(took[0] > 0.0, "{took:?}");
    assert_eq!(
        r.counter(INSTANCES_COMPLETED, &[("workflow", "times_out")]),
        1
    );
    // The worker stopped: out of the gauges.
    assert_eq!(r.gauge(WORKERS), 0.0);
    assert_eq!(r.gauge(INSTANCES_LIMIT), 0.0);
}

/// A worker that claims an instance whose lease expired without being given up (its holder
/// died) counts a takeover.
#[tokio::test]
async fn a_claim_of_an_expired_lease_is_a_takeover() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let store = std::sync::Arc::new(sayiir_store::MemoryStore::new());
    let engine = crate::Engine::builder_shared(store.clone())
        .register::<panicky>()
        .build()
        .unwrap();
    let handle = engine.start::<panicky>("k-1", 0).await.unwrap();
    let record = sayiir_store::Store::load(&*store, &"k-1".try_into().unwrap())
        .await
        .unwrap();
    let now = sayiir_store::Timestamp::now();
    let dead = sayiir_store::ClaimRequest {
        owner: sayiir_store::WorkerId("dead".into()),
        now,
        lease_until: now.add(Duration::from_millis(1)),
        limit: 1,
        known: vec![record.key()],
    };
    let claimed = sayiir_store::Store::claim(&*store, dead).await.unwrap();
    assert_eq!(claimed.len(), 1);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let worker = engine.spawn_worker();
    assert_eq!(handle.result().await.unwrap(), 0);
    worker.shutdown().await.unwrap();
    let r = Recorded::of(snapshotter.snapshot());
    assert_eq!(r.counter(LEASE_TAKEOVERS, &[("workflow", "panicky")]), 1);
}

/// A panicking task blocks its instance: counted by kind; an operator's retry is counted
/// as an operation, and a cancel as both.
#[tokio::test]
async fn blocks_and_operations_are_counted_by_kind() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let t = TestEngine::builder().register::<panicky>().build().unwrap();
    let engine = t.engine().clone();
    engine.start::<panicky>("p-1", 1).await.unwrap();
    t.settle().await;
    engine.retry("p-1").await.unwrap();
    t.settle().await;
    engine.cancel("p-1", "enough").await.unwrap();
    let r = Recorded::of(snapshotter.snapshot());
    let task = [("workflow", "panicky"), ("task", "explodes")];
    assert_eq!(r.counter(TASKS_PANICKED, &task), 2);
    let outcome = [
        ("workflow", "panicky"),
        ("task", "explodes"),
        ("outcome", "panic"),
    ];
    assert_eq!(r.samples(TASK_ATTEMPT_DURATION, &outcome).len(), 2);
    let blocked = [("workflow", "panicky"), ("kind", "panicked")];
    assert_eq!(r.counter(INSTANCES_BLOCKED, &blocked), 2);
    assert_eq!(engine.metrics().instances_blocked(), 2);
    assert_eq!(engine.metrics().task_panics(), 2);
    assert_eq!(r.counter(OPERATIONS, &[("kind", "retry")]), 1);
    assert_eq!(r.counter(OPERATIONS, &[("kind", "cancel")]), 1);
    assert_eq!(
        r.counter(INSTANCES_CANCELLED, &[("workflow", "panicky")]),
        1
    );
    assert_eq!(r.total(INSTANCES_COMPLETED), 0);
    t.shutdown().await.unwrap();
}

/// The worker's sampler reads the store: two parked instances and a panicked one need
/// attention (two parked), and instances started while no worker runs are the due backlog.
#[tokio::test]
async fn the_sampler_reports_backlog_attention_and_parked() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let config = crate::WorkerConfig::default().sample_every(Duration::from_millis(10));
    let store = std::sync::Arc::new(sayiir_store::MemoryStore::new());
    let engine = crate::Engine::builder_shared(store.clone())
        .register::<parks>()
        .register::<panicky>()
        .worker_config(config.clone())
        .build()
        .unwrap();
    let gauges =
        |r: &Recorded| [DUE_BACKLOG, NEEDING_ATTENTION, PARKED].map(|name| r.gauge(name) as u64);
    let sampled = |want: [u64; 3]| {
        let snapshotter = &snapshotter;
        async move {
            for _ in 0..3000 {
                let r = Recorded::of(snapshotter.snapshot());
                if r.0.iter().any(|(_, n, _, _)| n == PARKED) && gauges(&r) == want {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let r = Recorded::of(snapshotter.snapshot());
            panic!("gauges {:?}, want {want:?}", gauges(&r));
        }
    };
    for id in ["a", "b"] {
        engine.start::<parks>(id, 1).await.unwrap();
    }
    engine.start::<panicky>("c", 1).await.unwrap();
    // The worker of an engine serving no workflow claims nothing, and samples the three
    // started instances as due.
    let idle = crate::Engine::builder_shared(store)
        .worker_config(config)
        .build()
        .unwrap()
        .spawn_worker();
    sampled([3, 0, 0]).await;
    idle.shutdown().await.unwrap();
    let worker = engine.spawn_worker();
    sampled([0, 3, 2]).await;
    worker.shutdown().await.unwrap();
}

#[workflow(crate = crate)]
async fn ninety_minutes(n: u64) -> u64 {
    crate::sleep(Duration::from_secs(90 * 60)).await;
    double(n).await
}

/// An hourly schedule whose runs take 90 minutes, with overlap `skip`, from 00:30 for three
/// hours of virtual time: the 01:00 and 03:00 ticks run, 02:00 is skipped; a backfill then
/// starts 02:00.
#[tokio::test]
async fn schedules_count_runs_skips_and_backfills() {
    use crate::schedule::{Overlap, ScheduleSpec};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let start = |s: &str| {
        let ms = s.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        std::time::SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap())
    };
    let t = TestEngine::builder()
        .start_at(start("2026-01-01T00:30:00Z"))
        .register::<ninety_minutes>()
        .build()
        .unwrap();
    let spec = ScheduleSpec::new("0 * * * *", 1u64).overlap(Overlap::Skip);
    t.schedule::<ninety_minutes>("hourly", spec).await.unwrap();
    t.advance(Duration::from_secs(3 * 3600)).await;
    let r = Recorded::of(snapshotter.snapshot());
    let wf = [("workflow", "ninety_minutes")];
    let tick = [("workflow", "ninety_minutes"), ("trigger", "tick")];
    let backfill = [("workflow", "ninety_minutes"), ("trigger", "backfill")];
    assert_eq!(r.counter(SCHEDULE_RUNS, &tick), 2);
    assert_eq!(r.counter(SCHEDULE_TICKS_SKIPPED, &wf), 1);
    assert_eq!(r.counter(SCHEDULE_RUNS, &backfill), 0);
    let delays = r.samples(SCHEDULE_FIRE_DELAY, &wf);
    assert_eq!(delays.len(), 2, "{delays:?}");
    // The virtual clock jumps onto each tick.
    assert!(delays.iter().all(|d| (0.0..1.0).contains(d)), "{delays:?}");

    let done = t
        .backfill(
            "hourly",
            start("2026-01-01T01:00:00Z"),
            start("2026-01-01T03:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(done.started.len(), 1, "{done:?}");
    assert_eq!(done.existing.len(), 2, "{done:?}");
    // A snapshot reads counters since the previous one: no tick ran meanwhile.
    let r = Recorded::of(snapshotter.snapshot());
    assert_eq!(r.counter(SCHEDULE_RUNS, &backfill), 1);
    assert_eq!(r.counter(SCHEDULE_RUNS, &tick), 0);
    t.shutdown().await.unwrap();
}

/// Every metric is described once, with a unit, and `ALL` names each exactly once.
#[test]
fn every_metric_is_described() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        super::describe();
        // Registering makes each appear in snapshots, with its description.
        for name in ALL {
            metrics::counter!(name).increment(0);
            metrics::gauge!(name).set(0.0);
            metrics::histogram!(name).record(0.0);
        }
    });
    let mut names = ALL.to_vec();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ALL.len());
    let snap = snapshotter.snapshot().into_vec();
    for name in ALL {
        let described = snap
            .iter()
            .filter(|(ck, unit, desc, _)| {
                ck.key().name() == name && unit.is_some() && desc.is_some()
            })
            .count();
        assert_eq!(described, 1, "{name} is not described once (with its kind)");
        assert!(name.starts_with("sayiir_"), "{name}");
    }
}
