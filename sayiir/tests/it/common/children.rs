//! Worker processes for the multi-process PostgreSQL tests: the test binary itself, re-run with
//! one ignored test selected (by its full name: `common::test_name!`), its settings passed in
//! environment variables.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A child process running the ignored test `test` of this binary.
pub(crate) struct ChildProc {
    pub(crate) name: String,
    pub(crate) generation: u32,
    proc: std::process::Child,
    reaped: bool,
}

impl ChildProc {
    /// Starts `test` (an ignored test of this binary) with `envs` set.
    pub(crate) fn spawn(test: &str, name: &str, generation: u32, envs: &[(&str, String)]) -> Self {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([test, "--exact", "--ignored", "--test-threads=1", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        Self {
            name: name.to_owned(),
            generation,
            proc: cmd.spawn().unwrap(),
            reaped: false,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.proc.id()
    }

    /// SIGKILL, then reap.
    pub(crate) fn kill(&mut self) {
        if !self.reaped {
            let _ = self.proc.kill();
            let _ = self.proc.wait();
            self.reaped = true;
        }
    }

    /// Sends `STOP`, `CONT`… with kill(1).
    pub(crate) fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} {} ({}) failed", self.pid(), self.name);
    }

    /// Waits for the process to exit by itself (at most `limit`, then it is killed and the
    /// test fails) and returns how it exited.
    pub(crate) fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let proc = &mut self.proc;
        let status = wait_for(limit, &format!("worker {} to exit", self.name), || {
            proc.try_wait().unwrap()
        });
        self.reaped = true;
        status
    }

    /// Panics if the process has exited: these workers only stop when killed.
    pub(crate) fn assert_alive(&mut self) {
        if let Some(status) = self.proc.try_wait().unwrap() {
            panic!(
                "worker {} (generation {}) exited by itself: {status}",
                self.name, self.generation
            );
        }
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        // SIGKILL ends a stopped process too.
        self.kill();
    }
}

/// Wall-clock milliseconds since the epoch (comparable across processes of this machine).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Appends one line with `O_APPEND`: whole lines, even with several writers and SIGKILL.
pub(crate) fn append_line(path: &Path, line: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(format!("{line}\n").as_bytes()).unwrap();
}

/// The lines of a log that may not exist yet.
pub(crate) fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A multi-threaded runtime for a child or a parent.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Polls `f` every 5 ms until it returns `Some`, at most `limit`.
pub(crate) fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
