//! `sayiir serve`: the standalone binary serving the HTTP API on a store, without the
//! application's workflows, requests made over TCP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use crate::common::{sayiir, sqlite_store};

/// The server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request to `addr` with the operator's token: the status code and the body as
/// JSON.
fn request(addr: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let token = OPERATOR.get().unwrap();
    request_as(addr, Some(token), method, path, body)
}

/// The operator's token, made by `sayiir token new`.
static OPERATOR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// One HTTP/1.1 request to `addr` with `token`.
fn request_as(
    addr: &str,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status: u16 = response[9..12].parse().unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    (status, serde_json::from_str(body).unwrap())
}

/// `sayiir token new --json`: the token and its entry.
fn new_token(name: &str, role: &str, namespaces: &[&str]) -> (String, Value) {
    let mut args = vec!["token", "new", "--json", "--name", name, "--role", role];
    for ns in namespaces {
        args.extend(["--scope", ns]);
    }
    // No store needed: an unreachable one is not opened.
    let made = sayiir("postgres://nobody@127.0.0.1:1/none", &args).json();
    let token = made["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sy_") && token.len() == 46, "{token}");
    (token, made["entry"].clone())
}

#[test]
fn token_new_prints_the_token_once_and_its_entry() {
    let (token, entry) = new_token("olga", "operator", &["default", "billing"]);
    assert_eq!(entry["name"], "olga");
    assert_eq!(entry["role"], "operator");
    assert_eq!(
        entry["namespaces"],
        serde_json::json!(["default", "billing"])
    );
    let hash = entry["sha256"].as_str().unwrap();
    assert_eq!(hash.len(), 64, "{entry}");
    assert!(
        !entry.to_string().contains(&token),
        "only the hash is in the entry"
    );
    let (other, entry) = new_token("ada", "admin", &[]);
    assert_ne!(other, token);
    assert!(
        entry.get("namespaces").is_none(),
        "every namespace: {entry}"
    );
    let text = sayiir(
        "sqlite://unused.db",
        &["token", "new", "--name", "vic", "--role", "viewer"],
    );
    let text = text.ok();
    assert!(
        text.contains("sy_") && text.contains("\"role\":\"viewer\""),
        "{text}"
    );
    let bad = sayiir(
        "sqlite://unused.db",
        &["token", "new", "--name", "x", "--role", "root"],
    );
    assert_eq!(bad.code, 2, "{bad:?}");
}

#[tokio::test]
async fn serve_refuses_to_start_without_good_tokens() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    let e = sayiir(&url, &["serve", "--listen", "127.0.0.1:0"]);
    assert!(e.error(2).contains("--tokens"), "{e:?}");
    let file = dir.path().join("tokens.json");
    for (text, expected) in [
        ("[]", "configures no token"),
        (
            r#"[{"name":"a","role":"root","sha256":""}]"#,
            "token `a`: unknown role `root`",
        ),
        ("not json", "not a JSON array"),
    ] {
        std::fs::write(&file, text).unwrap();
        let e = sayiir(
            &url,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--tokens",
                file.to_str().unwrap(),
            ],
        );
        assert!(e.error(4).contains(expected), "{text}: {e:?}");
    }
}

#[tokio::test]
async fn serve_answers_the_api_on_a_store_without_the_workflows() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    let (operator, olga) = new_token("olga", "operator", &[]);
    let (admin, ada) = new_token("ada", "admin", &[]);
    OPERATOR.set(operator).unwrap();
    let tokens = dir.path().join("tokens.json");
    std::fs::write(&tokens, serde_json::json!([olga, ada]).to_string()).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_sayiir"))
        .args(["serve", "--json", "--listen", "127.0.0.1:0"])
        .env("SAYIIR_STORE", &url)
        .env("SAYIIR_TOKENS", &tokens)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let mut stdout = BufReader::new(server.0.stdout.take().unwrap());
    let mut printed = String::new();
    // The JSON document is pretty-printed: read it to its closing brace.
    while !printed.trim_end().ends_with('}') {
        assert!(stdout.read_line(&mut printed).unwrap() > 0, "{printed}");
    }
    let listening: Value = serde_json::from_str(&printed).unwrap();
    let addr = listening["listening"].as_str().unwrap().to_owned();
    assert_eq!(listening["api"], format!("http://{addr}/api/v1"));

    // The API and `--json` print the same documents.
    for (path, args) in [
        ("/api/v1/instances", &["list", "--json"][..]),
        (
            "/api/v1/instances?status=needs-attention&limit=1",
            &[
                "list",
                "--json",
                "--status",
                "needs-attention",
                "--limit",
                "1",
            ][..],
        ),
        (
            "/api/v1/instances/order-2",
            &["show", "order-2", "--json"][..],
        ),
        (
            "/api/v1/instances/quick-1/history",
            &["history", "quick-1", "--json"][..],
        ),
        ("/api/v1/versions", &["versions", "--json"][..]),
        ("/api/v1/limits", &["limits", "--json"][..]),
        (
            "/api/v1/schedules/yearly",
            &["schedules", "show", "yearly", "--json"][..],
        ),
    ] {
        let (status, api) = request(&addr, "GET", path, "");
        assert_eq!(status, 200, "{path}: {api}");
        assert_eq!(
            api,
            sayiir(&url, args).json(),
            "{path} and `sayiir {args:?}` differ"
        );
    }
    let (status, stats) = request(&addr, "GET", "/api/v1/stats", "");
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["total"]["total"], 8, "{stats}");
    let (status, page) = request(&addr, "GET", "/api/v1/instances?workflow=order&limit=2", "");
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["next"], "order-2");
    let (status, d) = request(&addr, "GET", "/api/v1/instances/order-1", "");
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["instance"]["state"], "signal:approve#1");
    assert_ne!(
        d["decoded_by"]["source"], "registered",
        "no workflow is registered: {d}"
    );
    let (status, done) = request(&addr, "POST", "/api/v1/instances/order-1/pause", "");
    assert_eq!(status, 200, "{done}");
    let (status, e) = request(&addr, "POST", "/api/v1/instances/order-1/pause", "");
    assert_eq!(status, 409, "{e}");
    let (status, e) = request(&addr, "GET", "/api/v1/instances/nope", "");
    assert_eq!(
        (status, e["error"]["kind"].as_str()),
        (404, Some("not_found"))
    );
    let (status, e) = request(
        &addr,
        "POST",
        "/api/v1/instances/order-2/signal/approve",
        r#"{"by": 3}"#,
    );
    assert!(
        status == 422 || status == 409,
        "a payload of the wrong type is refused (by the saved description, or for lack of one): {e}"
    );

    // Without a token, or with a wrong one: 401.
    for token in [None, Some("sy_wrong")] {
        let (status, e) = request_as(&addr, token, "GET", "/api/v1/stats", "");
        assert_eq!(
            (status, e["error"]["kind"].as_str()),
            (401, Some("unauthorized"))
        );
    }
    // The audit log: the operator may not read it; the admin reads what `sayiir audit` prints.
    let (status, e) = request(&addr, "GET", "/api/v1/audit", "");
    assert_eq!(
        (status, e["error"]["kind"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, log) = request_as(&addr, Some(&admin), "GET", "/api/v1/audit?limit=2", "");
    assert_eq!(status, 200, "{log}");
    assert_eq!(
        log,
        sayiir(&url, &["audit", "--json", "--limit", "2"]).json()
    );
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries[0]["action"], "signal");
    assert_eq!(entries[0]["who"], "olga");
    assert_eq!(entries[0]["detail"], "approve");
    assert_eq!(entries[1]["action"], "pause");
    assert_eq!(entries[1]["result"], "failed");
    let next = log["next"].as_u64().unwrap();
    let older = sayiir(&url, &["audit", "--json", "--after", &next.to_string()]).json();
    let older = older["entries"].as_array().unwrap();
    assert_eq!(older.len(), 1, "{older:?}");
    assert_eq!(
        (older[0]["action"].as_str(), older[0]["result"].as_str()),
        (Some("pause"), Some("ok"))
    );
    let table = sayiir(&url, &["audit"]);
    let table = table.ok();
    assert!(
        table.contains("olga") && table.contains("not_allowed"),
        "{table}"
    );
}
