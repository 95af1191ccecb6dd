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

/// One HTTP/1.1 request to `addr`: the status code and the body as JSON.
fn request(addr: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
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

#[tokio::test]
async fn serve_answers_the_api_on_a_store_without_the_workflows() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    let child = Command::new(env!("CARGO_BIN_EXE_sayiir"))
        .args(["serve", "--json", "--listen", "127.0.0.1:0"])
        .env("SAYIIR_STORE", &url)
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
}
