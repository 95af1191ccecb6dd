//! Throwaway PostgreSQL for tests (feature `pg-harness`).
//!
//! [`fresh_database`] gives each caller an empty database. The server comes from
//! `SAYIIR_TEST_PG_URL` (a URL of any database on a server where that user may create
//! databases), or else from a cluster started once per test process with the PostgreSQL
//! binaries found on this machine (`initdb` into a temp dir, run as the `postgres` user when
//! the tests run as root). A watchdog process stops that cluster and removes its directory
//! when the test process exits, however it exits. Without binaries, a loud banner says the
//! PostgreSQL tests were skipped, and `SAYIIR_REQUIRE_PG=1` (CI) turns that into a failure.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection;

/// An empty database on the test server; dropped with this value.
#[derive(Debug)]
pub struct PgTestDb {
    url: String,
    admin_url: String,
    name: String,
}

impl PgTestDb {
    /// Connection URL of the database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Database name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        drop_database(&self.admin_url, &self.name);
    }
}

/// Drops database `name` (made of ASCII letters, digits and `_`) on the server of `admin_url`,
/// best effort, forcing its connections closed. Runs on a thread with its own runtime, so it
/// may be called from `Drop`, inside or outside a runtime.
fn drop_database(admin_url: &str, name: &str) {
    let admin = admin_url.to_owned();
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(rt) = rt {
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await;
                }
            });
        }
    })
    .join();
}

/// A URL with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|j| start + j))
        .unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A fresh, empty database named after `label`, or `None` (after a loud banner) when no
/// PostgreSQL is available. Panics when `SAYIIR_REQUIRE_PG=1` and none is.
pub async fn fresh_database(label: &str) -> Option<PgTestDb> {
    let admin = server()?;
    match create_database(admin, label).await {
        Ok(db) => Some(db),
        Err(why) => panic!("{why}"),
    }
}

/// Creates a fresh, empty database named after `label` on the server of `admin_url` (whose
/// user may create databases); it is dropped with the returned value.
pub async fn create_database(admin_url: &str, label: &str) -> Result<PgTestDb, String> {
    static N: AtomicU32 = AtomicU32::new(0);
    let clean: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    let name = format!(
        "sayiir_{clean}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| format!("the PostgreSQL server at {admin_url} refused a connection: {e}"))?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .map_err(|e| format!("cannot create database {name}: {e}"))?;
    Ok(PgTestDb {
        url: with_database(admin_url, &name),
        admin_url: admin_url.to_owned(),
        name,
    })
}

fn server() -> Option<&'static str> {
    static SERVER: OnceLock<Option<String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            if let Ok(url) = std::env::var("SAYIIR_TEST_PG_URL")
                && !url.is_empty()
            {
                return Some(url);
            }
            match PgCluster::start() {
                Ok(c) => {
                    let url = c.admin_url();
                    // Lives as long as the process; the watchdog removes it after.
                    std::mem::forget(c);
                    Some(url)
                }
                Err(why) => {
                    skipped(&why);
                    None
                }
            }
        })
        .as_deref()
}

fn skipped(why: &str) {
    let banner = format!(
        "\n{line}\n!! PostgreSQL tests SKIPPED: {why}\n!! Set SAYIIR_TEST_PG_URL=postgres://user@host:port/db or install PostgreSQL server binaries.\n{line}\n",
        line = "!".repeat(78)
    );
    if std::env::var("SAYIIR_REQUIRE_PG").is_ok_and(|v| v == "1") {
        panic!("SAYIIR_REQUIRE_PG=1 but no PostgreSQL is available: {why}");
    }
    // Straight to the process's stderr: the test harness captures `eprintln!` of passing
    // tests, and this banner must be seen.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
}

/// The directory holding `initdb` and `postgres`: `SAYIIR_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin`, else `pg_config --bindir`.
fn bin_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("SAYIIR_PG_BIN") {
        return Some(PathBuf::from(d));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    if let Some((_, b)) = found.pop() {
        return Some(b);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    dir.join("initdb").exists().then_some(dir)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A PostgreSQL cluster in a temporary directory, owned by the test that started it.
#[derive(Debug)]
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PgCluster {
    /// Initializes and starts a cluster on a free local port. Errors say why (no binaries…).
    pub fn start() -> Result<PgCluster, String> {
        let bin = bin_dir().ok_or("no PostgreSQL server binaries (initdb) found")?;
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sayiir-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown").arg("postgres:postgres").arg(&dir))?;
        }
        let c = PgCluster {
            dir,
            bin,
            port: free_port()?,
            as_postgres,
        };
        let data = c.data();
        run(c
            .pg("initdb")
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data))?;
        c.watchdog()?;
        c.start_server()?;
        Ok(c)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    /// URL of the `postgres` database, as the superuser.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (after [`PgCluster::stop`]). `fsync=off` (the OS keeps what the
    /// server wrote across a server crash, which is all the tests simulate), but commits are
    /// synchronous: an acknowledged commit survives `stop`.
    pub fn start_server(&self) -> Result<(), String> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off \
             -c max_connections=300",
            self.port,
            self.dir.display()
        );
        run(self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-o", &opts, "-l"])
            .arg(self.dir.join("log"))
            .args(["-w", "-t", "60", "start"]))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                return Err("the test PostgreSQL did not accept connections".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Stops the server at once (`immediate` mode: as if it crashed).
    pub fn stop(&self) -> Result<(), String> {
        run(self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"]))
    }

    /// A fresh database on this cluster.
    pub async fn fresh_database(&self, label: &str) -> PgTestDb {
        let admin = self.admin_url();
        let name = format!("sayiir_{label}");
        let result = async {
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut conn)
                .await
        }
        .await;
        if let Err(e) = result {
            panic!("cannot create {name}: {e}");
        }
        PgTestDb {
            url: with_database(&admin, &name),
            admin_url: admin,
            name,
        }
    }

    /// A process that waits for this test process to exit, then stops the server and removes
    /// the directory.
    fn watchdog(&self) -> Result<(), String> {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             if [ -f '{data}/postmaster.pid' ]; then kill -QUIT $(head -1 '{data}/postmaster.pid') 2>/dev/null; sleep 1; fi; \
             rm -rf '{dir}'",
            pid = std::process::id(),
            data = self.data().display(),
            dir = self.dir.display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(|_| ())
            .map_err(|e| format!("cannot start the cleanup watchdog: {e}"))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
