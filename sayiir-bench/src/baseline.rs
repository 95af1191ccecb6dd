//! `baseline`: the store alone, no engine. On a fresh SQLite file opened with the engine's
//! options, creates instances, then commits the writes of one transition per instance (a
//! compare-and-swap on the sequence number, a new head, a history row) in three passes: one
//! transition per store transaction, then batches of 100, then batches of the engine's largest
//! commit batch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sayiir::WorkerConfig;
use sayiir_store::{
    DefinitionHash, Event, InstanceId, NewInstance, Next, SqliteStore, Store, Timestamp, Transition,
};

use crate::{Args, BoxError, Scratch};

/// Size of the state blob written by each transition (the order of magnitude of a small
/// workflow's encoded state).
const STATE_BYTES: usize = 96;
/// Size of each history entry's payload.
const EVENT_BYTES: usize = 32;
/// Transitions of the `single` pass (at most one per instance).
const SINGLE_OPS: usize = 1_000;
/// Transitions (at least) of each batched pass.
const BATCHED_OPS: usize = 20_480;

/// One measured pass.
#[derive(Debug, Clone)]
pub(crate) struct Pass {
    /// `create`, `single`, `batch-100`, `batch-512`...
    pub(crate) name: String,
    /// Transitions (or creations) per store transaction.
    pub(crate) batch: usize,
    /// Rows-changing operations performed.
    pub(crate) ops: usize,
    pub(crate) elapsed: Duration,
}

impl Pass {
    pub(crate) fn per_sec(&self) -> f64 {
        rate(self.ops, self.elapsed)
    }
}

/// Result of the baseline scenario.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    pub(crate) instances: usize,
    pub(crate) passes: Vec<Pass>,
}

impl Baseline {
    /// The best batched transitions/s: what the engine's group commit is compared with.
    pub(crate) fn batched_ceiling(&self) -> f64 {
        self.passes
            .iter()
            .filter(|p| p.name.starts_with("batch"))
            .map(Pass::per_sec)
            .fold(0.0, f64::max)
    }
}

pub(crate) fn rate(n: usize, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 { n as f64 / s } else { 0.0 }
}

fn id(i: usize) -> Result<InstanceId, BoxError> {
    Ok(InstanceId::new(format!("bench-{i:08}"))?)
}

fn transition(i: usize, seq: u64) -> Result<Transition, BoxError> {
    Ok(Transition {
        id: id(i)?,
        expected_seq: seq,
        next: Next::Running {
            state: vec![(seq & 0xff) as u8; STATE_BYTES],
            due_at: Some(Timestamp::now()),
        },
        event: Event {
            kind: "task".into(),
            payload: vec![1; EVENT_BYTES],
        },
        release_lease: false,
        consume_signals: Vec::new(),
        truncate_history: false,
        listening: Vec::new(),
        now: Timestamp::now(),
    })
}

/// Runs the scenario.
pub(crate) async fn run(args: &Args) -> Result<Baseline, BoxError> {
    let scratch = Scratch::new("baseline")?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_with(
        scratch.db(),
        args.store.sqlite_options(),
    )?);
    let n = args.baseline_instances;
    let max_batch = WorkerConfig::default().max_commit_batch;
    let mut passes = Vec::new();

    eprintln!("baseline [{}]: creating {n} instances", args.store.name());
    let start = Instant::now();
    for i in 0..n {
        let now = Timestamp::now();
        store
            .create(NewInstance {
                id: id(i)?,
                workflow: "bench".into(),
                hash: DefinitionHash([7; 32]),
                state: vec![0; STATE_BYTES],
                due_at: Some(now),
                event: Event {
                    kind: "started".into(),
                    payload: vec![0; EVENT_BYTES],
                },
                now,
            })
            .await?;
    }
    passes.push(done(
        Pass {
            name: "create".into(),
            batch: 1,
            ops: n,
            elapsed: start.elapsed(),
        },
        args,
    ));

    // Single commits cost one sync each: a prefix of the instances is enough. Batched passes go
    // round the instances until they have committed at least `BATCHED_OPS` transitions.
    let single = n.min(SINGLE_OPS);
    let batched_ops = if args.smoke { 2_048 } else { BATCHED_OPS };
    let rounds = batched_ops.div_ceil(n).max(1);
    let mut seq = vec![0u64; n];
    for batch in [1, 100, max_batch] {
        let name = if batch == 1 {
            "single".to_string()
        } else {
            format!("batch-{batch}")
        };
        eprintln!("baseline [{}]: {name}", args.store.name());
        let start = Instant::now();
        let mut ops = 0;
        if batch == 1 {
            for (i, s) in seq.iter_mut().enumerate().take(single) {
                store.commit(transition(i, *s)?).await?;
                *s += 1;
                ops += 1;
            }
        } else {
            for _ in 0..rounds {
                let mut i = 0;
                while i < n {
                    let end = (i + batch).min(n);
                    let ts = (i..end)
                        .map(|j| transition(j, seq[j]))
                        .collect::<Result<Vec<_>, _>>()?;
                    for r in store.commit_batch(ts).await? {
                        r?;
                    }
                    seq[i..end].iter_mut().for_each(|s| *s += 1);
                    ops += end - i;
                    i = end;
                }
            }
        }
        passes.push(done(
            Pass {
                name,
                batch,
                ops,
                elapsed: start.elapsed(),
            },
            args,
        ));
    }
    drop(store);
    Ok(Baseline {
        instances: n,
        passes,
    })
}

fn done(p: Pass, args: &Args) -> Pass {
    eprintln!(
        "baseline [{}]: {:<10} {:>8} ops in {:>7.3} s = {:>10.0}/s",
        args.store.name(),
        p.name,
        p.ops,
        p.elapsed.as_secs_f64(),
        p.per_sec()
    );
    p
}
