//! `baseline`: the store alone, no engine. On a fresh store opened with the engine's options
//! (same file system or server, same durability), creates instances, then commits the writes
//! of one transition per instance (a compare-and-swap on the sequence number, a new head, a
//! history row — `Store::commit`, exactly what the engine sends) in passes: one transition per
//! store transaction (with each commit's latency), batches of 100, batches of the engine's
//! largest commit batch, and on PostgreSQL also that from as many connections as there are
//! worker processes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sayiir_store::{
    DefinitionHash, DefinitionRef, Event, Fingerprint, InstanceId, NewInstance, Next, Store,
    Timestamp, Transition,
};

use crate::BoxError;
use crate::args::Args;
use crate::figures::Row;
use crate::target::{Place, StoreKind};

/// Size of the state blob written by each transition (the order of magnitude of a small
/// workflow's encoded state).
const STATE_BYTES: usize = 96;
/// Size of each history entry's payload.
const EVENT_BYTES: usize = 32;
/// Transitions of the `single` pass (at most one per instance).
const SINGLE_OPS: usize = 1_000;
/// Transitions (at least) of each batched pass.
const BATCHED_OPS: usize = 40_960;

/// What later scenarios of the same run are compared with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ceiling {
    /// The best batched transitions/s.
    pub(crate) batched: f64,
    /// Median latency of a transition committed alone, in milliseconds.
    pub(crate) single_ms: f64,
}

pub(crate) fn rate(n: usize, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 { n as f64 / s } else { 0.0 }
}

/// The `q` quantile (0..=1) of `xs`, sorting `xs`; `None` when empty.
pub(crate) fn quantile<T: Ord + Copy>(xs: &mut [T], q: f64) -> Option<T> {
    xs.sort_unstable();
    let last = xs.len().checked_sub(1)?;
    let i = (last as f64 * q).round() as usize;
    Some(xs[i.min(last)])
}

/// The `q` quantile of `xs` in milliseconds (NaN when empty), sorting `xs`.
pub(crate) fn quantile_ms(xs: &mut [Duration], q: f64) -> f64 {
    quantile(xs, q).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
}

fn id(i: usize) -> Result<InstanceId, BoxError> {
    Ok(InstanceId::new(format!("bench-{i:08}"))?)
}

fn new_instance(i: usize) -> Result<NewInstance, BoxError> {
    let now = Timestamp::now();
    let def = DefinitionRef {
        version: 1,
        hash: DefinitionHash([7; 32]),
        fingerprint: Fingerprint::UNKNOWN,
    };
    let event = Event {
        kind: "started".into(),
        payload: vec![0; EVENT_BYTES],
    };
    let state = vec![0; STATE_BYTES];
    Ok(NewInstance::new(
        id(i)?,
        "bench",
        def,
        "start",
        state,
        event,
        now,
    ))
}

fn transition(i: usize, seq: u64) -> Result<Transition, BoxError> {
    let next = Next::Running {
        state: vec![(seq & 0xff) as u8; STATE_BYTES],
        due_at: Some(Timestamp::now()),
        state_id: String::new(),
    };
    let event = Event {
        kind: "task".into(),
        payload: vec![1; EVENT_BYTES],
    };
    Ok(Transition::new(id(i)?, seq, next, event, Timestamp::now()))
}

/// Runs the scenario on a fresh store of `kind`.
pub(crate) async fn run(args: &Args, kind: StoreKind) -> Result<(Row, Ceiling), BoxError> {
    let place = Place::new(kind, args.pg_url.as_deref(), "baseline").await?;
    let store = place.open(kind).await?;
    let n = args.baseline_instances;
    let label = format!("baseline [{}]", kind.name());
    let mut row = Row::new("baseline", kind.name());

    eprintln!("{label}: creating {n} instances");
    let start = Instant::now();
    for i in 0..n {
        store.create(new_instance(i)?).await?;
    }
    row.set("create_per_s", rate(n, start.elapsed()));

    // Single commits cost one sync each: a prefix of the instances is enough.
    let mut seq = vec![0u64; n];
    let single = n.min(SINGLE_OPS);
    let mut latencies = Vec::with_capacity(single);
    let start = Instant::now();
    for (i, s) in seq.iter_mut().enumerate().take(single) {
        let t = Instant::now();
        store.commit(transition(i, *s)?).await?;
        latencies.push(t.elapsed());
        *s += 1;
    }
    let single_per_s = rate(single, start.elapsed());
    eprintln!("{label}: single      {single_per_s:>10.0} transitions/s");
    row.set("single_per_s", single_per_s);
    row.set("p50_ms", quantile_ms(&mut latencies, 0.50));
    row.set("p95_ms", quantile_ms(&mut latencies, 0.95));
    row.set("p99_ms", quantile_ms(&mut latencies, 0.99));

    // Batched passes go round the instances until they have committed about `batched_ops`
    // transitions; on PostgreSQL also from as many connections at once as the engine's
    // worker processes.
    let batched_ops = if args.smoke { 2_048 } else { BATCHED_OPS };
    let mut passes = vec![(100, 1), (args.max_commit_batch, 1)];
    if kind == StoreKind::Postgres && args.workers > 1 {
        passes.push((args.max_commit_batch, args.workers));
    }
    let mut best: f64 = 0.0;
    for (batch, parallel) in passes {
        let name = if parallel == 1 {
            format!("batch_{batch}_per_s")
        } else {
            format!("batch_{batch}x{parallel}_per_s")
        };
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        let share = n.div_ceil(parallel);
        for p in 0..parallel {
            let range = (p * share)..((p + 1) * share).min(n);
            let seqs = seq[range.clone()].to_vec();
            let store = store.clone();
            let rounds = (batched_ops / parallel).div_ceil(range.len().max(1)).max(1);
            tasks.spawn(batched_pass(store, range, seqs, batch, rounds));
        }
        let mut ops = 0;
        while let Some(done) = tasks.join_next().await {
            let (range, seqs, n_ops) = done??;
            seq[range].copy_from_slice(&seqs);
            ops += n_ops;
        }
        let per_s = rate(ops, start.elapsed());
        eprintln!("{label}: {name:<22} {per_s:>10.0} transitions/s");
        row.set(&name, per_s);
        best = best.max(per_s);
    }
    row.set("steps_per_s", best);
    let ceiling = Ceiling {
        batched: best,
        single_ms: row.get("p50_ms").unwrap_or(f64::NAN),
    };
    drop(store);
    Ok((row, ceiling))
}

type PassResult = Result<(std::ops::Range<usize>, Vec<u64>, usize), BoxError>;

/// Commits `rounds` transitions of each instance of `range`, `batch` per store transaction.
async fn batched_pass(
    store: Arc<dyn Store>,
    range: std::ops::Range<usize>,
    mut seqs: Vec<u64>,
    batch: usize,
    rounds: usize,
) -> PassResult {
    let mut ops = 0;
    for _ in 0..rounds {
        let mut i = 0;
        while i < seqs.len() {
            let end = (i + batch).min(seqs.len());
            let ts = (i..end)
                .map(|j| transition(range.start + j, seqs[j]))
                .collect::<Result<Vec<_>, _>>()?;
            for r in store.commit_batch(ts).await? {
                r?;
            }
            seqs[i..end].iter_mut().for_each(|s| *s += 1);
            ops += end - i;
            i = end;
        }
    }
    Ok((range, seqs, ops))
}
