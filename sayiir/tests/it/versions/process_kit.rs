//! What the process tests (`processes.rs`) are made of: the database, its worker processes
//! and the versions each serves, the states of `checkout` instances are parked in, parking
//! them, and waiting for what the processes do.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sayiir::store::{HistoryEntry, InstanceRecord, PgStore, Store};
use sayiir::{Engine, EngineBuilder, InstanceId, InstanceStatus, SqliteStore, WorkerConfig};

use super::children::ChildProc;
use super::flows::{GATES, Order, TASK_MS, to_v3, v1, v2};

/// The note every instance receives in the child workflow (`restart` sends another one to the
/// new runs).
pub(crate) const NOTE: &str = "thanks";

/// The longest wait for anything the worker processes do (generous: it only bounds a hang).
const LIMIT: Duration = Duration::from_secs(60);

/// Lease of the worker processes: on PostgreSQL, a killed worker's instances are taken over
/// after at most this long (on SQLite, as soon as the next worker process starts).
const LEASE: Duration = Duration::from_secs(1);

/// Which versions of `checkout` a worker process (or an engine of the test process) serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Serve {
    /// Version 1 alone: the binary that parks instances.
    V1,
    /// Versions 1 and 2 side by side: drain.
    V1V2,
    /// Version 2 alone: instances of version 1 are version mismatches.
    V2,
    /// Version 3, which takes instances of versions 1 and 2 over with `to_v3`.
    V3,
}

impl Serve {
    fn name(self) -> &'static str {
        match self {
            Serve::V1 => "v1",
            Serve::V1V2 => "v1+v2",
            Serve::V2 => "v2",
            Serve::V3 => "v3",
        }
    }

    pub(crate) fn parse(name: &str) -> Self {
        [Serve::V1, Serve::V1V2, Serve::V2, Serve::V3]
            .into_iter()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| panic!("no such set of versions: {name:?}"))
    }

    fn builder(self, store: Arc<dyn Store>) -> EngineBuilder {
        let b = Engine::builder_shared(store);
        match self {
            Serve::V1 => b.register::<v1::checkout>(),
            Serve::V1V2 => b.register::<v1::checkout>().register::<v2::checkout>(),
            Serve::V2 => b.register::<v2::checkout>(),
            Serve::V3 => b
                .migrate(to_v3::<v1::checkout>())
                .migrate(to_v3::<v2::checkout>()),
        }
    }

    /// The engine of a worker process.
    pub(crate) fn worker_engine(self, store: Arc<dyn Store>) -> Engine {
        let config = WorkerConfig::default()
            .lease(LEASE)
            .idle_poll(Duration::from_millis(100));
        self.builder(store).worker_config(config).build().unwrap()
    }
}

/// A SQLite file (a path) or a PostgreSQL database (a `postgres://` URL).
pub(crate) async fn open_store(db: &str) -> Arc<dyn Store> {
    if db.starts_with("postgres") {
        Arc::new(PgStore::connect(db).await.unwrap())
    } else {
        Arc::new(SqliteStore::open(db).unwrap())
    }
}

/// The input of instance number `n`.
pub(crate) fn order(n: u64) -> Order {
    Order { id: n, total: 100 }
}

/// The number in an instance id (`m-7` → 7).
pub(crate) fn number(id: &str) -> u64 {
    id.rsplit('-').next().unwrap().parse().unwrap()
}

/// The output of instance `n` finished on `version` (paid 100 + the two quotes, 4 and 7).
pub(crate) fn expected(version: u32, n: u64, note: &str, coupon: &str) -> String {
    let out = format!("v{version}: order {n} shipped, 111 paid; {note} for {n}");
    if version == 3 {
        format!("{out}; coupon {coupon}")
    } else {
        out
    }
}

/// The database of one test, the gate directory of its tasks, and its worker processes.
pub(crate) struct Place {
    pub(crate) label: &'static str,
    db: String,
    /// The test process's own handle on the database (its engines run no worker).
    pub(crate) store: Arc<dyn Store>,
    gates: PathBuf,
    generations: u32,
}

impl Place {
    pub(crate) async fn new(label: &'static str, db: String, gates: PathBuf) -> Self {
        std::fs::create_dir_all(&gates).unwrap();
        Self {
            label,
            store: open_store(&db).await,
            db,
            gates,
            generations: 0,
        }
    }

    /// An engine of the test process: it starts, signals, reads; it runs no worker.
    pub(crate) fn engine(&self, serve: Serve) -> Engine {
        serve.builder(self.store.clone()).build().unwrap()
    }

    /// Starts a worker process serving `serve`, which starts the instances `starts`
    /// (`(id, version)`, idempotent); its tasks last `task_ms` each.
    pub(crate) fn worker(
        &mut self,
        serve: Serve,
        starts: &[(String, u32)],
        task_ms: Option<u64>,
    ) -> ChildProc {
        self.generations += 1;
        let starts: Vec<String> = starts.iter().map(|(id, v)| format!("{id}@{v}")).collect();
        let mut envs = vec![
            ("VERSIONS_DB", self.db.clone()),
            ("VERSIONS_SERVE", serve.name().to_owned()),
            ("VERSIONS_START", starts.join(",")),
            (GATES, self.gates.display().to_string()),
        ];
        if let Some(ms) = task_ms {
            envs.push((TASK_MS, ms.to_string()));
        }
        let name = format!("{} {}", self.label, serve.name());
        // The test binary's ignored test that runs a worker process.
        let test = crate::common::test_name!(versions::processes::versions_worker);
        ChildProc::spawn(&test, &name, self.generations, &envs)
    }

    /// Worker processes started so far.
    pub(crate) fn generations(&self) -> u32 {
        self.generations
    }

    fn gate(&self, id: &str, what: &str) -> PathBuf {
        self.gates.join(format!("{id}.{what}"))
    }

    /// Shuts gate `what` of instance `id`: the task waits at it (see `flows::hold`).
    pub(crate) fn shut(&self, id: &str, what: &str) {
        std::fs::write(self.gate(id, what), "").unwrap();
    }

    pub(crate) fn open(&self, id: &str, what: &str) {
        let _ = std::fs::remove_file(self.gate(id, what));
    }

    fn held(&self, id: &str, what: &str) -> bool {
        Path::new(&format!("{}.waiting", self.gate(id, what).display())).exists()
    }
}

/// Where an instance of `checkout` is parked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spot {
    /// Created while no worker ran: not a single transition yet.
    Start,
    /// Waiting for `go`.
    Signal,
    /// Inside the child workflow `notify`, waiting for its `note`.
    Child,
    /// Inside `charge`, when its process was killed.
    Charge,
    /// In the join of two `quote`s, the `post` branch done, `express` running when its
    /// process was killed.
    Join,
    /// Inside `ship`, when its process was killed.
    Ship,
}

pub(crate) const SPOTS: [Spot; 6] = [
    Spot::Start,
    Spot::Signal,
    Spot::Child,
    Spot::Charge,
    Spot::Join,
    Spot::Ship,
];

impl Spot {
    /// The stable id of the state.
    pub(crate) fn state(self) -> &'static str {
        match self {
            Spot::Start => "start",
            Spot::Signal => "signal:go#1",
            Spot::Child => "notify#1",
            Spot::Charge => "charge#1",
            Spot::Join => "join(quote,quote)#1",
            Spot::Ship => "ship#1",
        }
    }

    /// The gate of the task the instance is parked in.
    fn gate(self) -> Option<&'static str> {
        match self {
            Spot::Charge => Some("charge"),
            Spot::Join => Some("quote.express"),
            Spot::Ship => Some("ship"),
            _ => None,
        }
    }

    /// Whether it still needs `go` after it was parked.
    pub(crate) fn needs_go(self) -> bool {
        matches!(self, Spot::Start | Spot::Signal)
    }

    /// Whether it still needs its `note` after it was parked.
    pub(crate) fn needs_note(self) -> bool {
        self != Spot::Ship
    }
}

/// An instance parked by [`park`], as it was once its worker process had been killed.
pub(crate) struct Parked {
    pub(crate) id: String,
    pub(crate) n: u64,
    pub(crate) version: u32,
    pub(crate) spot: Spot,
    pub(crate) record: InstanceRecord,
    pub(crate) history: Vec<HistoryEntry>,
}

impl Parked {
    pub(crate) fn iid(&self) -> InstanceId {
        InstanceId::new(self.id.as_str()).unwrap()
    }

    /// Checks the history of the instance now: sequence numbers gapless up to its head, the
    /// entries it had when it was parked unchanged at the front; returns the entries after
    /// those.
    pub(crate) fn later_history(&self, history: &[HistoryEntry], head_seq: u64) -> Vec<String> {
        let seqs: Vec<u64> = history.iter().map(|h| h.seq).collect();
        let gapless: Vec<u64> = (0..=head_seq).collect();
        assert_eq!(seqs, gapless, "{}: history sequence numbers", self.id);
        assert_eq!(
            history[..self.history.len()],
            self.history[..],
            "{}: the entries of the parked run changed",
            self.id
        );
        history[self.history.len()..]
            .iter()
            .map(|h| h.kind.clone())
            .collect()
    }
}

/// Parks `per_v1` instances of version 1 and `per_v2` of version 2 in each [`Spot`] (ids
/// `<prefix>-<n>`): a worker process serving those versions starts them, the test process
/// sends the signals that lead them there, and once every one is there (inside its task for
/// the spots in a task) the worker process is SIGKILLed. Instances at `start` are created
/// afterwards, while no worker runs. Checks through the store that each is where it should be.
pub(crate) async fn park(
    place: &mut Place,
    prefix: &str,
    per_v1: usize,
    per_v2: usize,
) -> Vec<Parked> {
    let mut plan: Vec<(String, u32, Spot)> = Vec::new();
    for spot in SPOTS {
        for (version, count) in [(1, per_v1), (2, per_v2)] {
            for _ in 0..count {
                plan.push((format!("{prefix}-{}", plan.len()), version, spot));
            }
        }
    }
    for (id, _, spot) in &plan {
        if let Some(g) = spot.gate() {
            place.shut(id, g);
        }
    }
    let serve = if per_v2 > 0 { Serve::V1V2 } else { Serve::V1 };
    let engine = place.engine(serve);
    let starts: Vec<(String, u32)> = plan
        .iter()
        .filter(|(.., spot)| *spot != Spot::Start)
        .map(|(id, v, _)| (id.clone(), *v))
        .collect();
    let mut child = place.worker(serve, &starts, None);
    for (id, _, spot) in &plan {
        if *spot == Spot::Start {
            continue;
        }
        wait_for(&format!("{id} to be created"), async || {
            engine.status(id).await.map(drop).map_err(|e| e.to_string())
        })
        .await;
        if !spot.needs_go() {
            engine.signal(id, "go", &true).await.unwrap();
        }
        if !spot.needs_note() {
            engine.signal(id, "note", &NOTE.to_string()).await.unwrap();
        }
    }
    for (id, _, spot) in &plan {
        if *spot == Spot::Start {
            continue;
        }
        wait_for(&format!("{id} to park at {}", spot.state()), async || {
            at_spot(place, &engine, id, *spot).await
        })
        .await;
    }
    child.assert_alive();
    child.kill();
    // The tasks held at the gates died with the process: later workers run them through.
    for (id, _, spot) in &plan {
        if let Some(g) = spot.gate() {
            place.open(id, g);
        }
    }
    for (id, version, spot) in &plan {
        if *spot == Spot::Start {
            match version {
                1 => drop(
                    engine
                        .start::<v1::checkout>(id, order(number(id)))
                        .await
                        .unwrap(),
                ),
                _ => drop(
                    engine
                        .start::<v2::checkout>(id, order(number(id)))
                        .await
                        .unwrap(),
                ),
            }
        }
    }
    let mut parked = Vec::new();
    for (id, version, spot) in plan {
        let s = engine.status(&id).await.unwrap();
        assert_eq!(
            (s.state.as_deref(), s.version, &s.status),
            (Some(spot.state()), version, &InstanceStatus::Running),
            "{id} parked at {spot:?}: {s:?}"
        );
        // In work (a task, or not started): due now; at a signal: due only when one arrives.
        let waits_for_signal = matches!(spot, Spot::Signal | Spot::Child);
        assert_eq!(s.due_at.is_none(), waits_for_signal, "{id}: {s:?}");
        let iid = InstanceId::new(id.as_str()).unwrap();
        parked.push(Parked {
            n: number(&id),
            record: place.store.load(&iid).await.unwrap(),
            history: engine.history(&id).await.unwrap(),
            id,
            version,
            spot,
        });
    }
    parked
}

/// `Ok` once instance `id` is parked at `spot` (held inside the task for a spot in a task).
async fn at_spot(place: &Place, engine: &Engine, id: &str, spot: Spot) -> Result<(), String> {
    let s = engine.status(id).await.map_err(|e| e.to_string())?;
    let seen = format!(
        "{:?} at {:?}, due {:?}, seq {}",
        s.status, s.state, s.due_at, s.seq
    );
    if s.state.as_deref() != Some(spot.state()) {
        return Err(seen);
    }
    if let Some(g) = spot.gate() {
        if !place.held(id, g) {
            return Err(format!("{seen}; task not held at its gate yet"));
        }
    } else if s.due_at.is_some() {
        return Err(format!("{seen}; not parked yet"));
    }
    if spot == Spot::Join {
        // `charge`, then the `post` branch of the join.
        let history = engine.history(id).await.map_err(|e| e.to_string())?;
        let tasks = history.iter().filter(|h| h.kind == "task").count();
        if tasks != 2 {
            return Err(format!("{seen}; {tasks} task results committed"));
        }
    }
    Ok(())
}

/// Polls `check` every 20 ms until it returns `Ok`; after [`LIMIT`], panics with what the last
/// check saw.
pub(crate) async fn wait_for<T>(
    what: &str,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let began = Instant::now();
    loop {
        match check().await {
            Ok(v) => return v,
            Err(seen) if began.elapsed() > LIMIT => {
                panic!("timed out after {LIMIT:?} waiting for {what}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Waits until every one of `ids` has finished; a blocked instance fails the test at once.
pub(crate) async fn all_finished(engine: &Engine, ids: &[String]) {
    wait_for(&format!("{} instances to finish", ids.len()), async || {
        let mut open = Vec::new();
        for id in ids {
            let s = engine.status(id).await.map_err(|e| e.to_string())?;
            match &s.status {
                InstanceStatus::Running => {
                    open.push(format!("{id} at {:?} (version {})", s.state, s.version));
                }
                InstanceStatus::Blocked { kind, reason } => {
                    panic!("{id} is blocked ({kind:?}): {reason}")
                }
                _ => {}
            }
        }
        if open.is_empty() {
            Ok(())
        } else {
            Err(open.join("; "))
        }
    })
    .await;
}
