//! Stores populated by a real engine, and the command line run as a process.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use sayiir::schedule::ScheduleSpec;
use sayiir::store::Store;
use sayiir::{Engine, InstanceStatus};
use serde_json::Value;

use crate::flows;

/// How long a test waits for an event before it calls the engine stuck (never a measure of
/// speed).
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// Polls `check` every 10 ms until it gives `Some`; panics after [`PATIENCE`].
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still waiting for {what} after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The instances [`populate`] leaves, by id: `(workflow, what it is left doing)`.
pub(crate) const INSTANCES: [(&str, &str); 8] = [
    ("doomed-1", "failed"),
    ("fragile-1", "blocked: panicked"),
    ("nap-1", "running: asleep for a day"),
    ("order-1", "running: waits for `approve`"),
    ("order-2", "running: waits for `approve`"),
    ("order-3", "paused while waiting for `approve`"),
    ("parcel-1", "blocked: parked (its task's attempts ran out)"),
    ("quick-1", "completed"),
];

/// Every id [`populate`] leaves, in order.
pub(crate) fn all_ids() -> Vec<&'static str> {
    INSTANCES.iter().map(|(id, _)| *id).collect()
}

/// Starts the instances of [`INSTANCES`] on `store`, runs a worker until each is where the
/// table says, pauses `order-3`, stops the worker, and creates the schedule `yearly`.
pub(crate) async fn populate(store: impl Store) {
    let engine = flows::register(Engine::builder(store)).build().unwrap();
    let worker = engine.spawn_worker();
    for n in 1..=3 {
        // `order-2` with a claim priority, which `show` reports.
        let options = sayiir::StartOptions {
            priority: if n == 2 { 3 } else { 0 },
            ..Default::default()
        };
        engine
            .start_with::<flows::order>(format!("order-{n}"), n, options)
            .await
            .unwrap();
    }
    engine.start::<flows::quick>("quick-1", 5).await.unwrap();
    engine.start::<flows::doomed>("doomed-1", 7).await.unwrap();
    engine.start::<flows::nap>("nap-1", 1).await.unwrap();
    engine
        .start::<flows::fragile>("fragile-1", 3)
        .await
        .unwrap();
    engine.start::<flows::parcel>("parcel-1", 4).await.unwrap();
    for (id, state) in [
        ("order-1", "signal:approve#1"),
        ("order-2", "signal:approve#1"),
        ("order-3", "signal:approve#1"),
        ("nap-1", "sleep#1"),
    ] {
        eventually(&format!("{id} in {state}"), || async {
            let info = engine.status(id).await.unwrap();
            (info.state.as_deref() == Some(state)).then_some(())
        })
        .await;
    }
    for (id, done) in [
        ("quick-1", InstanceStatus::Completed),
        ("doomed-1", InstanceStatus::Failed),
    ] {
        eventually(&format!("{id} {done:?}"), || async {
            (engine.status(id).await.unwrap().status == done).then_some(())
        })
        .await;
    }
    for id in ["fragile-1", "parcel-1"] {
        eventually(&format!("{id} blocked"), || async {
            matches!(
                engine.status(id).await.unwrap().status,
                InstanceStatus::Blocked { .. }
            )
            .then_some(())
        })
        .await;
    }
    engine.pause("order-3").await.unwrap();
    worker.shutdown().await.unwrap();
    // Midnight on 1 January in Paris: it does not fire during the tests.
    let yearly = ScheduleSpec::new("0 0 1 1 *", 9).time_zone("Europe/Paris");
    engine
        .schedule::<flows::quick>("yearly", yearly)
        .await
        .unwrap();
}

/// A SQLite file in `dir` populated by [`populate`]; its store URL.
pub(crate) async fn sqlite_store(dir: &Path) -> String {
    let path = dir.join("app.db");
    populate(sayiir::SqliteStore::open(&path).unwrap()).await;
    format!("sqlite://{}", path.display())
}

/// What a run of the command line gave.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub(crate) fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "{self:#?}");
        assert_eq!(self.stderr, "", "{self:#?}");
        &self.stdout
    }

    /// Asserts success and parses stdout as one JSON document.
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|e| panic!("{e}: {self:#?}"))
    }

    /// Asserts that the run failed with `code` and one line on stderr, `error: ...`, with no
    /// trace of a panic; returns that line.
    #[track_caller]
    pub(crate) fn error(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "{self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {self:#?}");
        assert!(lines[0].starts_with("error: "), "{self:#?}");
        for bad in [
            "panicked at",
            "stack backtrace",
            "RUST_BACKTRACE",
            "internal error",
        ] {
            assert!(!self.stderr.contains(bad), "{bad}: {self:#?}");
        }
        lines[0]
    }
}

/// Runs `command` with an empty pipe for stdin (not a terminal) and a backtrace asked for, which must
/// not matter.
pub(crate) fn run(mut command: assert_cmd::Command) -> Run {
    command
        .write_stdin(Vec::new())
        .env("RUST_BACKTRACE", "full")
        .env_remove("NO_COLOR");
    let out = command.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The standalone `sayiir` binary on the store `url` (given by `SAYIIR_STORE`).
pub(crate) fn sayiir(url: &str, args: &[&str]) -> Run {
    let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_sayiir"));
    command.env("SAYIIR_STORE", url).args(args);
    run(command)
}

/// The `embedded` example (the application's binary) on the store `url`.
pub(crate) fn embedded(url: &str, args: &[&str]) -> Run {
    let mut command = assert_cmd::Command::new(embedded_binary());
    command.env("SAYIIR_STORE", url).args(args);
    run(command)
}

/// The `embedded` example, built once per test process (cargo builds examples with the tests;
/// this makes sure of it when a single test is run).
fn embedded_binary() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
        let mut cargo = std::process::Command::new(env!("CARGO"));
        cargo.args(["build", "-q", "-p", "sayiir-cli", "--example", "embedded"]);
        // What cargo sets for this test process is not the environment of a build: some
        // build scripts watch `CARGO_MANIFEST_DIR`, and seeing it would rebuild them.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
                "CARGO_PRIMARY_",
            ]
            .iter()
            .any(|p| name.starts_with(p))
                || name == "CARGO_TARGET_TMPDIR"
            {
                cargo.env_remove(name);
            }
        }
        if profile_dir.ends_with("release") {
            cargo.arg("--release");
        }
        let status = cargo.status().unwrap();
        assert!(status.success(), "cargo build --example embedded failed");
        let path = profile_dir
            .join("examples")
            .join(format!("embedded{}", std::env::consts::EXE_SUFFIX));
        assert!(path.exists(), "{} not found", path.display());
        path
    })
}

/// The ids of a JSON listing.
pub(crate) fn ids(listing: &Value) -> Vec<String> {
    listing["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}
