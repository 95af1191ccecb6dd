//! Throwaway PostgreSQL for tests (feature `pg-harness`).
//!
//! [`fresh_database`] gives each caller an empty database. The server comes from
//! `SAYIIR_TEST_PG_URL` (a URL of any database on a server where that user may create
//! databases), or else from a cluster started once per test process with the PostgreSQL
//! binaries found on this machine (`initdb` into a temp dir, run as the `postgres` user when
//! the tests run as root). A watchdog process stops that cluster and removes its directory
//! when the test process exits, however it exits. Without binaries, a loud banner says the
//! PostgreSQL tests were skipped, and `SAYIIR_REQUIRE_PG=1` (CI) turns that into a failure.
//!
//! [`tls_cluster`] starts a cluster of its own with TLS on, whatever `SAYIIR_TEST_PG_URL`
//! says (that server may have no TLS): its certificates are made with the `openssl` command.

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

/// The TLS files of a cluster started by [`PgCluster::start_tls`] (PEM files).
#[derive(Debug, Clone)]
pub struct PgTls {
    /// The certificate of the authority that signed the server's certificate: what a client
    /// gives as `sslrootcert` to verify the server.
    pub ca: PathBuf,
    /// The certificate of another self-signed authority, which signed nothing the server has:
    /// verifying the server against it fails.
    pub other_ca: PathBuf,
    /// The server's certificate (`ssl_cert_file`).
    pub server_cert: PathBuf,
    /// The server's private key (`ssl_key_file`).
    pub server_key: PathBuf,
}

/// A cluster of its own with TLS on ([`PgCluster::start_tls`]), for tests that need one even
/// when `SAYIIR_TEST_PG_URL` names a server (which may not have TLS). `None` after the loud
/// banner when it cannot be started here (no PostgreSQL binaries, no `openssl`); panics
/// instead when `SAYIIR_REQUIRE_PG=1`.
pub fn tls_cluster() -> Option<(PgCluster, PgTls)> {
    match PgCluster::start_tls() {
        Ok(started) => Some(started),
        Err(why) => {
            skipped(&format!(
                "cannot start a PostgreSQL cluster with TLS: {why}"
            ));
            None
        }
    }
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
        let c = Self::init()?;
        c.start_server()?;
        Ok(c)
    }

    /// Like [`PgCluster::start`], with TLS on (`ssl = on` in `postgresql.conf`): the server's
    /// certificate, for `localhost` and `127.0.0.1`, is signed by a certificate authority made
    /// for this cluster with the `openssl` command; [`PgTls`] gives its certificate and that of
    /// another authority, which signed nothing the server has.
    pub fn start_tls() -> Result<(PgCluster, PgTls), String> {
        let c = Self::init()?;
        let tls = c.make_certificates()?;
        c.configure(&[
            ("ssl", "on"),
            ("ssl_cert_file", &tls.server_cert.display().to_string()),
            ("ssl_key_file", &tls.server_key.display().to_string()),
        ])?;
        c.start_server()?;
        Ok((c, tls))
    }

    /// A cluster directory with `initdb` run in it and the watchdog started; no server yet.
    fn init() -> Result<PgCluster, String> {
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
        Ok(c)
    }

    /// The port the server listens on (at `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Appends `name = 'value'` lines to `postgresql.conf` (a later line wins over an earlier
    /// one; the `-c` options of [`PgCluster::start_server`] win over both, and a reload does
    /// not change them, hence the file).
    fn configure(&self, settings: &[(&str, &str)]) -> Result<(), String> {
        let path = self.data().join("postgresql.conf");
        let mut lines = String::from("\n");
        for (name, value) in settings {
            lines.push_str(&format!("{name} = '{}'\n", value.replace('\'', "''")));
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, lines.as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Turns TLS on or off on the running server (`ssl`, then `pg_ctl reload`) and returns once
    /// new connections see the change.
    pub async fn set_ssl(&self, on: bool) -> Result<(), String> {
        let want = if on { "on" } else { "off" };
        self.configure(&[("ssl", want)])?;
        run(self.pg("pg_ctl").arg("-D").arg(self.data()).arg("reload"))?;
        // The postmaster rereads the file when it handles the signal; backends started after
        // that have the new value.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let seen = async {
                let mut c = sqlx::PgConnection::connect(&self.admin_url()).await.ok()?;
                sqlx::query_scalar::<_, String>("SHOW ssl")
                    .fetch_one(&mut c)
                    .await
                    .ok()
            }
            .await;
            if seen.as_deref() == Some(want) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the test PostgreSQL still has ssl = {seen:?}, not {want}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A certificate authority, a server certificate it signs (for `localhost` and
    /// `127.0.0.1`) and another authority, in `<dir>/tls`. The server's key is readable by
    /// the server's user only, as PostgreSQL requires.
    fn make_certificates(&self) -> Result<PgTls, String> {
        let tls = self.dir.join("tls");
        std::fs::create_dir_all(&tls).map_err(|e| format!("{}: {e}", tls.display()))?;
        let file = |name: &str| tls.join(name);
        let ext = file("server.ext");
        std::fs::write(
            &ext,
            "subjectAltName = DNS:localhost, IP:127.0.0.1\n\
             basicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature, keyEncipherment\n\
             extendedKeyUsage = serverAuth\n",
        )
        .map_err(|e| format!("{}: {e}", ext.display()))?;
        let ca = |name: &str, cn: &str| {
            openssl(
                &[
                    "req",
                    "-x509",
                    "-new",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    cn,
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                    "-keyout",
                ],
                &[
                    file(&format!("{name}.key")),
                    "-out".into(),
                    file(&format!("{name}.pem")),
                ],
            )
        };
        ca("ca", "/CN=sayiir test CA")?;
        ca("other-ca", "/CN=sayiir other test CA")?;
        openssl(
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
            ],
            &[file("server.key"), "-out".into(), file("server.csr")],
        )?;
        openssl(
            &["x509", "-req", "-days", "2", "-set_serial", "1", "-in"],
            &[
                file("server.csr"),
                "-CA".into(),
                file("ca.pem"),
                "-CAkey".into(),
                file("ca.key"),
                "-extfile".into(),
                ext,
                "-out".into(),
                file("server.crt"),
            ],
        )?;
        let (cert, key) = (file("server.crt"), file("server.key"));
        if self.as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(&cert)
                .arg(&key))?;
        }
        run(Command::new("chmod").arg("0600").arg(&key))?;
        Ok(PgTls {
            ca: file("ca.pem"),
            other_ca: file("other-ca.pem"),
            server_cert: cert,
            server_key: key,
        })
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
    /// the directory. The pid in `postmaster.pid` is signalled only if that process is this
    /// cluster's postmaster (its command line names the data directory): a file left by a
    /// server that is gone may name a pid the system has since given to another process,
    /// such as a backend of another test server (pids wrap quickly where `pid_max` is 32768).
    fn watchdog(&self) -> Result<(), String> {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             if [ -f '{data}/postmaster.pid' ]; then p=$(head -1 '{data}/postmaster.pid'); \
             if tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -qF -- '{data}'; then \
             kill -QUIT $p 2>/dev/null; sleep 1; fi; fi; \
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

/// Runs `openssl` with `args` then `paths`.
fn openssl(args: &[&str], paths: &[PathBuf]) -> Result<(), String> {
    run(Command::new("openssl").args(args).args(paths))
        .map_err(|e| format!("making test certificates with the `openssl` command: {e}"))
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
