//! The dashboard in a real browser: headless Chromium driven through chromedriver (WebDriver),
//! against a server on a real SQLite file whose instances a real worker runs. Skipped with a
//! banner when Chromium or chromedriver is missing, unless `SAYIIR_REQUIRE_BROWSER=1`.
//! With `SAYIIR_SCREENSHOTS=<dir>`, saves screenshots of the main pages there (docs/img/).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use sayiir::{Engine, InstanceStatus};
use serde_json::{Value, json};

use crate::common::{ADMIN, PATIENCE, VIEWER, app, eventually, populate};
use crate::flows;

/// Attempts of `fetch_rate` for invoice 7 so far: its first two fail (a timeline with retries).
static RATE_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

#[sayiir::task(retries = 2, backoff = "300ms")]
async fn fetch_rate(n: u64) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_millis(150)).await;
    if n == 7 && RATE_ATTEMPTS.fetch_add(1, Ordering::SeqCst) < 2 {
        return Err(format!("the rate service timed out for invoice {n}"));
    }
    Ok(3)
}

#[sayiir::task]
async fn draft(n: u64, rate: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(250)).await;
    n * rate * 100
}

/// An invoice: a rate fetched with retries, a draft, a short sleep, an approval.
#[sayiir::workflow]
async fn invoice(n: u64) -> Result<String, String> {
    let rate = match fetch_rate(n).await {
        Ok(rate) => rate,
        Err(e) => return Err(e),
    };
    let total = draft(n, rate).await;
    sayiir::sleep(Duration::from_millis(700)).await;
    let approval = sayiir::signal::<flows::Approval>("approve").await;
    Ok(format!("invoice {n}: {total} approved by {}", approval.by))
}

/// `name` found in `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Chromium and chromedriver, or `None` after a banner (a failure when the browser is
/// required).
fn browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(which);
    let driver = which("chromedriver");
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        (c, d) => {
            let what = format!(
                "the dashboard's browser test needs chromium ({}) and chromedriver ({})",
                if c.is_some() { "found" } else { "missing" },
                if d.is_some() { "found" } else { "missing" },
            );
            if std::env::var("SAYIIR_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("{what}, and SAYIIR_REQUIRE_BROWSER=1");
            }
            eprintln!(
                "\n==== SKIPPED: {what} (apt-get install chromium chromium-driver; set \
                 SAYIIR_REQUIRE_BROWSER=1 to fail instead) ====\n"
            );
            None
        }
    }
}

/// A free local port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Serves `app` on a free local port; its base URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// chromedriver on a free port, and a session of headless Chromium with a fresh profile.
async fn session(
    chromium: &Path,
    driver: &Path,
    profile: &Path,
) -> (tokio::process::Child, Client) {
    let port = free_port();
    let child = tokio::process::Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    eventually("chromedriver listening", || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1360,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap();
    (child, client)
}

/// Waits until `script` (a JavaScript expression) is true in the page.
async fn until(c: &Client, what: &str, script: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let v = c
            .execute(&format!("return !!({script});"), vec![])
            .await
            .unwrap();
        if v == Value::Bool(true) {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            let url = c.current_url().await.unwrap();
            let body = c
                .execute("return document.body.innerText;", vec![])
                .await
                .unwrap();
            panic!("still waiting for {what} after {PATIENCE:?} on {url}:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text of the first element matching `css`, read in one script: a live update may
/// replace the element between a WebDriver find and a read of it (a stale element).
async fn text(c: &Client, css: &str) -> String {
    let script = format!(
        "const e = document.querySelector({}); return e ? e.innerText : null;",
        Value::String(css.to_owned())
    );
    eventually(&format!("an element `{css}`"), || async {
        let v = c.execute(&script, vec![]).await.unwrap();
        v.as_str().map(str::to_owned)
    })
    .await
}

/// Clicks the first element matching `css`, finding it again when a live update replaced it
/// between the find and the click.
async fn click(c: &Client, css: &str) {
    eventually(&format!("a click on `{css}`"), || async {
        let found = c.find(Locator::Css(css)).await.ok()?;
        match found.click().await {
            Ok(()) => Some(()),
            Err(fantoccini::error::CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::StaleElementReference =>
            {
                None
            }
            Err(e) => panic!("clicking `{css}`: {e}"),
        }
    })
    .await
}

/// Saves a screenshot as `<SAYIIR_SCREENSHOTS>/<name>.png`, when that is set.
async fn shot(c: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("SAYIIR_SCREENSHOTS") {
        // From the top, once the fonts and the first live update settled.
        c.execute("window.scrollTo(0, 0);", vec![]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        let png = c.screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

/// Clicks the button `css` and accepts its confirmation.
async fn click_confirmed(c: &Client, css: &str) {
    click(c, css).await;
    eventually("the confirmation dialog", || async {
        c.accept_alert().await.ok()
    })
    .await;
}

/// Opens `{base}/sayiir/ui/instances`, which must show the login page, and submits `token`:
/// the list when `accepted`, else the login page again with its refusal.
async fn log_in(c: &Client, base: &str, token: &str, accepted: bool) {
    c.goto(&format!("{base}/sayiir/ui/instances"))
        .await
        .unwrap();
    until(
        c,
        "the login page",
        "location.pathname.endsWith('/ui/login')",
    )
    .await;
    c.find(Locator::Css("input[name=token]"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    click(c, "form button[type=submit], form input[type=submit]").await;
    if accepted {
        until(
            c,
            "the list after the login",
            "location.pathname.endsWith('/ui/instances')",
        )
        .await;
    } else {
        until(
            c,
            "the refusal",
            "document.body.innerText.includes('unknown token')",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_a_browser() {
    let Some((chromium, driver)) = browser() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = sayiir::SqliteStore::open(dir.path().join("app.db")).unwrap();
    let engine = flows::register(Engine::builder(store))
        .register::<invoice>()
        .build()
        .unwrap();
    populate(&engine).await;
    let worker = engine.spawn_worker();
    for n in 7..=9 {
        engine
            .start::<invoice>(format!("invoice-{n}"), n)
            .await
            .unwrap();
    }
    for n in 7..=9 {
        eventually(&format!("invoice-{n} waiting for approve"), || async {
            let info = engine.status(format!("invoice-{n}")).await.unwrap();
            (info.state.as_deref() == Some("signal:approve#1")).then_some(())
        })
        .await;
    }
    let admin = serve(app(engine.clone())).await;
    let viewer = admin.clone();
    let (_driver, c) = session(&chromium, &driver, &dir.path().join("profile")).await;
    let began = std::time::Instant::now();
    let step = |what: &str| eprintln!("browser test: {what} after {:?}", began.elapsed());
    step("session");

    // Without a session the dashboard sends the browser to the login page; a wrong token is
    // refused there; the admin's token opens a session.
    c.goto(&format!("{admin}/sayiir/ui/instances"))
        .await
        .unwrap();
    until(
        &c,
        "the login page",
        "location.pathname.endsWith('/ui/login')",
    )
    .await;
    shot(&c, "login").await;
    log_in(&c, &admin, "sy_not-a-token", false).await;
    log_in(&c, &admin, ADMIN, true).await;
    step("logged in");

    // The list, live: a row appears without a reload when an instance starts.
    c.goto(&format!("{admin}/sayiir/ui/instances"))
        .await
        .unwrap();
    until(
        &c,
        "the list",
        "document.querySelector('tr[data-id=\"order-1\"]')",
    )
    .await;
    until(&c, "the live stream", "document.body.dataset.updates").await;
    c.execute("window.kept = 'this page';", vec![])
        .await
        .unwrap();
    engine.start::<flows::quick>("quick-2", 2).await.unwrap();
    until(
        &c,
        "the new row, live",
        "document.querySelector('tr[data-id=\"quick-2\"]')",
    )
    .await;
    until(&c, "no reload", "window.kept === 'this page'").await;
    shot(&c, "list").await;
    step("list");

    // Filter by workflow and status.
    click(&c, "select[name=workflow] option[value=order]").await;
    click(&c, "select[name=status] option[value=running]").await;
    click(&c, "form.filters button[type=submit]").await;
    until(
        &c,
        "the filtered list",
        "location.search.includes('workflow=order')",
    )
    .await;
    let rows = c
        .execute(
            "return [...document.querySelectorAll('tr[data-id]')].map(r => r.dataset.id);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(rows, json!(["order-1", "order-2"]));

    // Open an instance: its timeline, its wait, the signal editor.
    click(&c, "a[href=\"instances/order-1\"]").await;
    until(
        &c,
        "the timeline",
        "document.querySelector('.timeline .bar.t-task')",
    )
    .await;
    assert!(text(&c, "#waiting").await.contains("signal approve"));
    assert!(text(&c, "form.signal .type").await.contains("Approval"));
    step("instance");
    c.execute("window.kept = 'this page';", vec![])
        .await
        .unwrap();

    // A payload of the wrong type: the server's 422, inline.
    let editor = c.find(Locator::Css("form.signal textarea")).await.unwrap();
    editor.clear().await.unwrap();
    editor.send_keys(r#"{"by": 42}"#).await.unwrap();
    click_confirmed(&c, "form.signal button[type=submit]").await;
    until(
        &c,
        "the 422",
        "document.querySelector('form.signal .result.err')",
    )
    .await;
    let refused = text(&c, "form.signal .result").await;
    assert!(refused.starts_with("422 bad_payload"), "{refused}");
    // Live updates keep the editor as it is: its text and the message stay.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(text(&c, "form.signal .result").await, refused);

    // The right payload completes the instance; the page shows it without reloading.
    let editor = c.find(Locator::Css("form.signal textarea")).await.unwrap();
    editor.clear().await.unwrap();
    editor
        .send_keys(r#"{"by": "ana", "limit": 1000}"#)
        .await
        .unwrap();
    click_confirmed(&c, "form.signal button[type=submit]").await;
    until(
        &c,
        "the instance completed, live",
        "document.querySelector('#summary .badge.b-completed')",
    )
    .await;
    until(&c, "no reload", "window.kept === 'this page'").await;
    assert!(text(&c, "#values").await.contains("approved by ana"));
    assert!(
        text(&c, ".timeline")
            .await
            .contains("waiting for signal approve")
    );
    assert_eq!(
        engine.status("order-1").await.unwrap().status,
        InstanceStatus::Completed
    );
    step("signalled");

    // An instance whose task failed twice before it succeeded, then slept: its timeline
    // shows the failed attempts, the retries' backoff and the sleep, then the signal wait.
    c.goto(&format!("{admin}/sayiir/ui/instances/invoice-7"))
        .await
        .unwrap();
    until(
        &c,
        "the retries",
        "document.querySelectorAll('.timeline .bar.t-retry').length === 2",
    )
    .await;
    until(
        &c,
        "the sleep",
        "document.querySelector('.timeline .bar.t-timer')",
    )
    .await;
    assert!(
        text(&c, ".entries")
            .await
            .contains("the rate service timed out for invoice 7")
    );
    shot(&c, "instance").await;
    let editor = c.find(Locator::Css("form.signal textarea")).await.unwrap();
    editor.clear().await.unwrap();
    editor
        .send_keys(r#"{"by": "maya", "limit": 5000}"#)
        .await
        .unwrap();
    click_confirmed(&c, "form.signal button[type=submit]").await;
    until(
        &c,
        "invoice-7 completed, live",
        "document.querySelector('#summary .badge.b-completed')",
    )
    .await;
    assert!(text(&c, "#values").await.contains("approved by maya"));
    shot(&c, "instance-completed").await;

    // Pause from the page, confirmed: the instance is paused and the page says so.
    c.goto(&format!("{admin}/sayiir/ui/instances/order-2"))
        .await
        .unwrap();
    step("goto order-2");
    until(
        &c,
        "the actions",
        "document.querySelector('button[data-action=pause]')",
    )
    .await;
    click_confirmed(&c, "button[data-action=pause]").await;
    until(
        &c,
        "paused, live",
        "document.querySelector('#summary .badge.b-paused')",
    )
    .await;

    // The workflow's graph, the attention list, the workers.
    c.goto(&format!("{admin}/sayiir/ui/workflows/invoice"))
        .await
        .unwrap();
    step("paused; goto graph");
    until(
        &c,
        "the graph",
        "document.querySelector('svg.states [data-state=\"sleep#1\"]')",
    )
    .await;
    shot(&c, "workflow").await;
    step("graph");
    c.goto(&format!("{admin}/sayiir/ui/attention"))
        .await
        .unwrap();
    step("goto attention");
    until(
        &c,
        "the attention list",
        "document.querySelector('tr[data-id=\"parcel-1\"]')",
    )
    .await;
    assert!(
        text(&c, "#rows")
            .await
            .contains("the carrier refused parcel 4")
    );
    shot(&c, "attention").await;
    step("attention");
    c.goto(&format!("{admin}/sayiir/ui/workers")).await.unwrap();
    step("goto workers");
    until(
        &c,
        "the workers",
        "document.querySelector('table.list code')",
    )
    .await;
    shot(&c, "workers").await;
    for page in ["versions", "schedules", "limits"] {
        c.goto(&format!("{admin}/sayiir/ui/{page}")).await.unwrap();
        until(&c, page, "document.querySelector('main h1')").await;
        if page != "limits" {
            shot(&c, page).await;
        }
    }
    step("pages");

    // Retry a parked call once the carrier takes the parcel: the instance completes.
    flows::CARRIER_TAKES.lock().unwrap().push(4);
    c.goto(&format!("{admin}/sayiir/ui/instances/parcel-1"))
        .await
        .unwrap();
    until(
        &c,
        "the retry button",
        "document.querySelector('button[data-action=retry]')",
    )
    .await;
    click_confirmed(&c, "button[data-action=retry]").await;
    until(
        &c,
        "parcel-1 completed, live",
        "document.querySelector('#summary .badge.b-completed')",
    )
    .await;

    // Cancel with a reason: the reason is the instance's output.
    c.goto(&format!("{admin}/sayiir/ui/instances/invoice-9"))
        .await
        .unwrap();
    until(
        &c,
        "the cancel button",
        "document.querySelector('button[data-action=cancel]')",
    )
    .await;
    c.find(Locator::Css(".actions input[name=reason]"))
        .await
        .unwrap()
        .send_keys("duplicate of invoice 8")
        .await
        .unwrap();
    click_confirmed(&c, "button[data-action=cancel]").await;
    until(
        &c,
        "invoice-9 cancelled, live",
        "document.querySelector('#summary .badge.b-cancelled')",
    )
    .await;
    assert!(text(&c, "#values").await.contains("duplicate of invoice 8"));

    // The audit log (the admin's page): the actions of this test, newest first, with who
    // and how each ended.
    c.goto(&format!("{admin}/sayiir/ui/audit")).await.unwrap();
    until(
        &c,
        "the audit log",
        "document.querySelector('tr[data-audit]')",
    )
    .await;
    let actions = c
        .execute(
            "return [...document.querySelectorAll('tr[data-audit]')].map(r => \
             r.querySelector('td:nth-child(3)').innerText);",
            vec![],
        )
        .await
        .unwrap();
    let actions: Vec<String> = serde_json::from_value(actions).unwrap();
    assert_eq!(
        actions.first().map(String::as_str),
        Some("cancel"),
        "{actions:?}"
    );
    for action in ["signal", "pause", "retry"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    assert!(
        text(&c, "table.audit")
            .await
            .contains("duplicate of invoice 8")
    );
    shot(&c, "audit").await;

    // Log out (the header's button, a form with the session's CSRF token), then in as a
    // viewer: the viewer sees the instance, no action, and the API refuses its action (403).
    click(&c, "form.logout button").await;
    until(
        &c,
        "the login page",
        "location.pathname.endsWith('/ui/login')",
    )
    .await;
    c.goto(&format!("{viewer}/sayiir/ui/instances/order-2"))
        .await
        .unwrap();
    until(
        &c,
        "the login page",
        "location.pathname.endsWith('/ui/login')",
    )
    .await;
    log_in(&c, &viewer, VIEWER, true).await;
    c.goto(&format!("{viewer}/sayiir/ui/instances/order-2"))
        .await
        .unwrap();
    until(
        &c,
        "the viewer's page",
        "document.querySelector('.timeline .bar')",
    )
    .await;
    let buttons = c
        .find_all(Locator::Css("button[data-action], form.signal"))
        .await
        .unwrap();
    assert!(buttons.is_empty(), "a viewer sees no action");
    assert_eq!(text(&c, ".who .role").await, "viewer");
    let before = engine.status("order-2").await.unwrap().status;
    let refused = c
        .execute_async(
            "const done = arguments[0]; \
             fetch('../../api/v1/instances/order-2/pause', {method: 'POST', \
               headers: {'X-CSRF-Token': document.body.dataset.csrf}}) \
             .then(r => r.json().then(b => done([r.status, b.error.kind])));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(refused, json!([403, "forbidden"]), "the viewer's pause");
    assert_eq!(
        engine.status("order-2").await.unwrap().status,
        before,
        "the refused pause changed nothing"
    );

    c.close().await.unwrap();
    worker.shutdown().await.unwrap();
}
