//! An outage longer than the lease: the server stops (immediate mode) for 5 s under a worker
//! with a 2 s lease while every instance has a task in flight. Only the steps in flight at the
//! outage may run again (at most once each); before leases had a generation per claim, the
//! worker claimed its own still-running instances again once their leases had expired, and the
//! driver that lost the race freed the winner's lease (same owner), so 39 to 80 of the 100
//! calls ran two or three times.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sayiir::store::{PgOptions, PgStore};
use sayiir::{Engine, TaskContext, WorkerConfig};

use super::{cluster_or_skip, runtime};

const INSTANCES: u32 = 20;
const STEPS: u32 = 5;
const STEP_TIME: Duration = Duration::from_millis(300);
const LEASE: Duration = Duration::from_secs(2);
const DOWN: Duration = Duration::from_secs(5);
/// How long a store operation waits for a connection: longer than the lease, shorter than the
/// outage, so the worker's calls made during the outage fail (and are made again) while the
/// leases expire.
const ACQUIRE: Duration = Duration::from_secs(3);

/// Calls started, by (instance, step).
static CALLS: Mutex<BTreeMap<(String, u32), u32>> = Mutex::new(BTreeMap::new());
/// Calls started and not ended (returned or dropped).
static RUNNING: Mutex<Option<HashSet<(String, u32)>>> = Mutex::new(None);

/// Removes its call from `RUNNING` when the call returns or its future is dropped.
struct Running((String, u32));

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(r) = RUNNING.lock().unwrap().as_mut() {
            r.remove(&self.0);
        }
    }
}

#[sayiir::task]
async fn slow_step(step: u32) -> u32 {
    let instance = TaskContext::current()
        .map(|c| c.instance().to_owned())
        .unwrap_or_default();
    let call = (instance, step);
    *CALLS.lock().unwrap().entry(call.clone()).or_default() += 1;
    RUNNING
        .lock()
        .unwrap()
        .get_or_insert_with(HashSet::new)
        .insert(call.clone());
    let _running = Running(call);
    tokio::time::sleep(STEP_TIME).await;
    step + 1
}

#[sayiir::workflow]
async fn five_steps(first: u32) -> u32 {
    let n = slow_step(first).await;
    let n = slow_step(n).await;
    let n = slow_step(n).await;
    let n = slow_step(n).await;
    slow_step(n).await
}

#[test]
fn an_outage_longer_than_the_lease_repeats_only_the_steps_in_flight() {
    let Some(cluster) = cluster_or_skip("lease outage") else {
        return;
    };
    let rt = runtime();
    let db = rt.block_on(cluster.fresh_database("lease_outage"));
    let config = WorkerConfig::default()
        .lease(LEASE)
        .idle_poll(Duration::from_millis(200));
    let engine = rt.block_on(async {
        let options = PgOptions::default().acquire_timeout(ACQUIRE);
        let store = PgStore::connect_with(db.url(), options).await.unwrap();
        Engine::builder(store)
            .register::<five_steps>()
            .worker_config(config)
            .build()
            .unwrap()
    });
    let ids: Vec<String> = (0..INSTANCES).map(|i| format!("o-{i}")).collect();
    rt.block_on(async {
        for id in &ids {
            engine.start::<five_steps>(id, 0).await.unwrap();
        }
    });
    let worker = rt.block_on(async { engine.spawn_worker() });
    // Stop the server in the middle of the second step of most instances.
    let began = Instant::now();
    let started = || CALLS.lock().unwrap().values().sum::<u32>();
    while started() < INSTANCES + INSTANCES / 2 {
        assert!(began.elapsed() < crate::common::PATIENCE, "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(STEP_TIME / 3);
    cluster.stop().unwrap();
    let in_flight = RUNNING.lock().unwrap().as_ref().map_or(0, HashSet::len);
    let calls_at_stop = started();
    std::thread::sleep(DOWN);
    cluster.start_server().unwrap();
    let up_at = Instant::now();

    rt.block_on(async {
        for id in &ids {
            let out = crate::common::within(
                &format!("{id} to finish after the restart"),
                engine.result::<five_steps>(id),
            )
            .await
            .unwrap();
            assert_eq!(out, STEPS, "{id}: output");
        }
    });
    let recovered = up_at.elapsed();
    rt.block_on(worker.shutdown()).unwrap();

    let calls = CALLS.lock().unwrap().clone();
    let total: u32 = calls.values().sum();
    let repeated: u32 = calls.values().map(|n| n - 1).sum();
    let twice = calls.values().filter(|n| **n == 2).count();
    let more = calls.values().filter(|n| **n > 2).count();
    eprintln!(
        "pg_faults (lease outage): {INSTANCES} instances x {STEPS} steps of {STEP_TIME:?}, lease \
         {LEASE:?}, server down {DOWN:?} after {calls_at_stop} calls started ({in_flight} \
         running): {total} calls for {} steps, {repeated} repeated ({twice} steps ran twice, \
         {more} more than twice); all done {:.1} s after the restart",
        calls.len(),
        recovered.as_secs_f64(),
    );
    assert_eq!(
        calls.len(),
        (INSTANCES * STEPS) as usize,
        "every step of every instance ran"
    );
    assert_eq!(more, 0, "a step ran more than twice: {calls:?}");
    assert!(
        repeated <= INSTANCES,
        "{repeated} repeated calls, more than the {INSTANCES} steps that can be in flight at \
         the outage: {calls:?}"
    );
}
