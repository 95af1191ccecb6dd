//! The dashboard's pages through the router (no browser): what each page shows, the filters,
//! the actions an operator sees and a viewer does not, the live stream's first event, errors
//! as pages.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use sayiir::store::Store;
use sayiir::{Engine, InstanceStatus};
use sayiir_store::pg_harness;
use tower::ServiceExt;

use crate::common::{ADMIN, VIEWER, app, call, eventually, populate};
use crate::flows;
use crate::session::login;

/// The router nested under `/sayiir` (the tests' tokens), every request made in a dashboard
/// session opened with `token` (its cookie added to each request).
pub(crate) async fn app_as(engine: Engine, token: &str) -> Router {
    let app = app(engine);
    let cookie = HeaderValue::from_str(&login(&app, token).await).unwrap();
    app.layer(axum::middleware::map_request(
        move |mut request: Request<Body>| {
            let cookie = cookie.clone();
            async move {
                request.headers_mut().insert(header::COOKIE, cookie);
                request
            }
        },
    ))
}

/// `GET path` (under `/sayiir`): its status, content type and body.
async fn get(app: &Router, path: &str) -> (StatusCode, String, String) {
    let request = Request::builder()
        .uri(format!("/sayiir{path}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, kind, String::from_utf8(bytes.to_vec()).unwrap())
}

/// `GET path`, which must be a 200 HTML page; its body.
async fn page(app: &Router, path: &str) -> String {
    let (status, kind, body) = get(app, path).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    assert_eq!(kind, "text/html; charset=utf-8", "{path}");
    assert!(body.starts_with("<!DOCTYPE html>"), "{path}");
    body
}

/// The ids of the rows of a list page, in order.
fn row_ids(html: &str) -> Vec<&str> {
    html.split("<tr data-id=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pages_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    pages(sayiir::SqliteStore::open(dir.path().join("app.db")).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pages_on_postgres() {
    let Some(db) = pg_harness::fresh_database("dashboard").await else {
        return; // the harness printed a SKIPPED banner
    };
    pages(sayiir::PgStore::connect(db.url()).await.unwrap()).await;
}

async fn pages(store: impl Store) {
    let engine = flows::register(Engine::builder(store)).build().unwrap();
    populate(&engine).await;
    let admin = app_as(engine.clone(), ADMIN).await;
    let viewer = app_as(engine.clone(), VIEWER).await;

    // Redirects into the list, relative (the router may be nested anywhere).
    let (status, _, _) = get(&admin, "/ui/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Without a session, a page sends the browser to the login page (relative).
    let (status, _, _) = get(&app(engine.clone()), "/ui/instances").await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // The list: every instance, the counts, the filters, relative links and assets.
    let list = page(&admin, "/ui/instances").await;
    assert_eq!(
        row_ids(&list),
        [
            "doomed-1",
            "fragile-1",
            "nap-1",
            "order-1",
            "order-2",
            "order-3",
            "parcel-1",
            "quick-1"
        ]
    );
    assert!(list.contains(r#"href="../ui/assets/style.css""#));
    assert!(list.contains(r#"data-events="../ui/events/instances""#));
    // The page carries the session's CSRF token for its scripts' POSTs.
    let (_, _, me) = get(&admin, "/api/v1/me").await;
    let me: serde_json::Value = serde_json::from_str(&me).unwrap();
    let csrf = me["csrf"].as_str().unwrap();
    assert!(csrf.len() >= 32, "{me}");
    assert!(list.contains(&format!(r#"data-csrf="{csrf}""#)));
    assert!(list.contains(r#"href="instances/order-1""#));
    assert!(list.contains(r#"<span class="n">8</span><span class="l">all</span>"#));
    assert!(list.contains(r#"<span class="n">2</span><span class="l">needs attention</span>"#));
    for (query, want) in [
        ("workflow=order", &["order-1", "order-2", "order-3"][..]),
        (
            "workflow=order&status=running&blocked=&id_prefix=",
            &["order-1", "order-2"],
        ),
        ("status=failed", &["doomed-1"]),
        ("blocked=parked", &["parcel-1"]),
        ("needs_attention=true", &["fragile-1", "parcel-1"]),
        ("id_prefix=o", &["order-1", "order-2", "order-3"]),
        (
            "workflow=order&state=signal%3Aapprove%231",
            &["order-1", "order-2", "order-3"],
        ),
    ] {
        let html = page(&admin, &format!("/ui/instances?{query}")).await;
        assert_eq!(row_ids(&html), want, "{query}");
    }
    // Keyset pages: the next link carries the cursor and the filters.
    let first = page(&admin, "/ui/instances?limit=3").await;
    assert_eq!(row_ids(&first), ["doomed-1", "fragile-1", "nap-1"]);
    assert!(
        first.contains(r#"href="instances?limit=3&amp;after=nap-1""#),
        "{first}"
    );
    let second = page(&admin, "/ui/instances?limit=3&after=nap-1").await;
    assert_eq!(row_ids(&second), ["order-1", "order-2", "order-3"]);
    let (status, _, bad) = get(&admin, "/ui/instances?status=asleep").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.contains("`asleep` is not a status"), "{bad}");

    // Needs attention: the two blocked instances, their reasons in full.
    let attention = page(&admin, "/ui/attention").await;
    assert_eq!(row_ids(&attention), ["fragile-1", "parcel-1"]);
    assert!(
        attention.contains("inspector crashed on parcel 3"),
        "{attention}"
    );
    assert!(
        attention.contains("the carrier refused parcel 4"),
        "{attention}"
    );

    // An instance waiting for a signal: its timeline, its wait, the signal editor with the
    // payload type and a skeleton of it, the actions an operator may take.
    let order = page(&admin, "/ui/instances/order-1").await;
    assert!(order.contains(r#"class="bar t-task""#), "a task bar");
    assert!(order.contains(r#"class="bar t-open""#), "the open wait");
    assert!(order.contains("waiting for signal approve"));
    assert!(order.contains("signal:approve#1"));
    assert!(order.contains(
        r#"<form class="signal" id="signal-form" data-keep data-api="../../api/v1/instances/order-1">"#
    ));
    assert!(order.contains("Approval</code>"), "the payload type");
    assert!(
        order.contains("&quot;by&quot;: &quot;&quot;"),
        "the payload skeleton"
    );
    assert!(order.contains(r#"data-action="pause""#));
    assert!(order.contains(r#"data-action="cancel""#));
    assert!(
        !order.contains(r#"data-action="retry""#),
        "retry is not allowed on it"
    );
    // A viewer sees the same instance without any action.
    let seen = page(&viewer, "/ui/instances/order-1").await;
    assert!(seen.contains(r#"class="bar t-task""#));
    assert!(
        !seen.contains("data-action"),
        "a viewer sees no action button"
    );
    assert!(
        !seen.contains("form class=\"signal\""),
        "nor the signal form"
    );
    // A failed instance: the error in full, in the history.
    let doomed = page(&admin, "/ui/instances/doomed-1").await;
    assert!(doomed.contains("card declined for order 7"));
    assert!(doomed.contains(r#"class="bar t-error""#), "{doomed}");
    // A parked one: retry and fail offered.
    let parcel = page(&admin, "/ui/instances/parcel-1").await;
    assert!(parcel.contains(r#"data-action="retry""#));
    assert!(parcel.contains(r#"data-action="fail""#));
    let (status, _, missing) = get(&admin, "/ui/instances/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing.contains("nobody"));

    // The workflow's states as a graph, each with its count.
    let graph = page(&admin, "/ui/workflows/order").await;
    assert!(graph.contains("<svg"));
    assert!(graph.contains(r#"data-state="signal:approve#1""#));
    assert!(graph.contains("signal: Approval"));
    assert!(
        graph.contains(">3</text>"),
        "three instances wait for approve"
    );
    let unknown = page(&admin, "/ui/workflows/nothing").await;
    assert!(unknown.contains("does not register workflow"));

    // The store-wide pages.
    let versions = page(&admin, "/ui/versions").await;
    assert!(versions.contains(r#"href="workflows/order""#));
    assert!(versions.contains("no unfinished instance is blocked by a version mismatch"));
    let workers = page(&admin, "/ui/workers").await;
    assert!(workers.contains("stopped"), "populate's worker stopped");
    let schedules = page(&admin, "/ui/schedules").await;
    assert!(schedules.contains("yearly") && schedules.contains("0 0 1 1 *"));
    assert!(schedules.contains(r#"data-action="pause""#));
    assert!(!page(&viewer, "/ui/schedules").await.contains("data-action"));
    page(&admin, "/ui/limits").await;
    let (status, kind, css) = get(&admin, "/ui/assets/style.css").await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, "text/css; charset=utf-8")
    );
    assert!(css.contains(".timeline"));

    // The live stream: its first event renders the list's regions.
    let request = Request::builder()
        .uri("/sayiir/ui/events/instances?workflow=order")
        .body(Body::empty())
        .unwrap();
    let response = admin.clone().oneshot(request).await.unwrap();
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut body = response.into_body();
    let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let text = String::from_utf8(frame.to_vec()).unwrap();
    assert!(text.starts_with("event: regions\ndata: "), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(text.trim_start_matches("event: regions\ndata: ").trim()).unwrap();
    let rows = json["regions"]["rows"].as_str().unwrap();
    assert_eq!(row_ids(rows), ["order-1", "order-2", "order-3"]);
    assert!(
        json["regions"]["counts"]
            .as_str()
            .unwrap()
            .contains("running")
    );

    // The audit log: an administrator's page (and navigation item), refused to a viewer. An
    // operator's action through the API is on it, and a refused one with its error.
    let api = app(engine.clone());
    let (status, _) = call(&api, Method::POST, "/api/v1/instances/order-2/pause", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&api, Method::POST, "/api/v1/instances/quick-1/pause", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let log = page(&admin, "/ui/audit").await;
    assert!(
        log.contains(r#"href="../ui/audit""#),
        "the admin's navigation"
    );
    let rows: Vec<&str> = log.split("<tr data-audit=").skip(1).collect();
    assert_eq!(rows.len(), 2, "{log}");
    assert!(
        rows[0].contains("olga") && rows[0].contains("quick-1"),
        "{}",
        rows[0]
    );
    assert!(
        rows[0].contains("finished"),
        "the refusal's kind: {}",
        rows[0]
    );
    assert!(rows[1].contains("olga") && rows[1].contains(r#"href="instances/order-2""#));
    assert!(rows[1].contains(">ok<"), "{}", rows[1]);
    let (status, _, refused) = get(&viewer, "/ui/audit").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(
        !page(&viewer, "/ui/instances")
            .await
            .contains(r#"href="../ui/audit""#)
    );
}

#[sayiir::task]
async fn review(n: u64) -> bool {
    n.is_multiple_of(2)
}

#[sayiir::task]
async fn approve(n: u64) -> u64 {
    n + 1
}

#[sayiir::task]
async fn reject(n: u64) -> u64 {
    n
}

#[sayiir::task]
async fn notify(n: u64) -> u64 {
    n
}

/// An `if`/`else` inside a loop, with an early return.
#[sayiir::workflow]
async fn reviews(n: u64) -> u64 {
    let mut k: u64 = n;
    while k < 10 {
        if review(k).await {
            k = approve(k).await;
        } else {
            k = reject(k).await;
            if k == 0 {
                return 0;
            }
        }
        k += 1;
    }
    notify(k).await
}

/// The `<path>` of the edge `from` → `to` in `html`, if drawn.
fn edge<'a>(html: &'a str, from: &str, to: &str) -> Option<&'a str> {
    let at = html.find(&format!(r#"data-from="{from}" data-to="{to}""#))?;
    let start = html[..at].rfind("<path")?;
    let end = at + html[at..].find("/>")?;
    Some(&html[start..end])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workflow_graph_draws_branches_loops_and_ends() {
    let engine = Engine::builder(sayiir::MemoryStore::new())
        .register::<reviews>()
        .build()
        .unwrap();
    engine.start::<reviews>("r-1", 1).await.unwrap();
    engine.start::<reviews>("r-2", 2).await.unwrap();
    let admin = app_as(engine.clone(), ADMIN).await;
    let graph = page(&admin, "/ui/workflows/reviews").await;
    assert!(graph.contains(r#"data-edges="transitions""#), "{graph}");
    // Every transition, and only those.
    let want = [
        ("start", "review#1", "edge"),
        ("start", "notify#1", "edge skip"),
        ("review#1", "approve#1", "edge"),
        ("review#1", "reject#1", "edge"),
        ("approve#1", "review#1", "edge back"),
        ("approve#1", "notify#1", "edge"),
        ("reject#1", "review#1", "edge back"),
        ("reject#1", "notify#1", "edge"),
        ("reject#1", "end", "edge skip"),
        ("notify#1", "end", "edge"),
    ];
    for (from, to, class) in want {
        let path = edge(&graph, from, to).unwrap_or_else(|| panic!("{from} -> {to}: {graph}"));
        assert!(
            path.starts_with(&format!(r#"<path class="{class}""#)),
            "{from} -> {to}: {path}"
        );
    }
    assert_eq!(graph.matches("<path class=\"edge").count(), want.len());
    // The branches side by side: `approve` and `reject` on one rank (same y, other x).
    let corner = |id: &str| {
        let at = graph.find(&format!(r#"data-state="{id}""#)).unwrap();
        let rect = &graph[at..];
        let x = rect
            .split("x=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let y = rect
            .split("y=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        (x.parse::<i32>().unwrap(), y.parse::<i32>().unwrap())
    };
    let (approve, reject) = (corner("approve#1"), corner("reject#1"));
    assert_eq!(approve.1, reject.1);
    assert!(approve.0 < reject.0);
    assert!(corner("review#1").1 < approve.1 && approve.1 < corner("notify#1").1);
    // The live counts: both instances wait in the start state.
    assert!(
        graph.contains(r#"<td class="next">review#1, notify#1</td>"#),
        "{graph}"
    );
    let start = &graph[graph.find(r#"data-state="start""#).unwrap()..];
    assert!(start[..start.find("</a>").unwrap()].contains(">2</text>"));
}

/// The ids of the instances whose `hold` task may end.
static RELEASED: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

/// Runs until the test releases `key` (at most 20 s): its worker holds the instance's lease.
#[sayiir::task]
async fn hold(key: u64) -> u64 {
    for _ in 0..1000 {
        if RELEASED.lock().unwrap().contains(&key) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    key
}

#[sayiir::workflow]
async fn holding(key: u64) -> u64 {
    hold(key).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_workers_and_leases_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    leases(
        sayiir::SqliteStore::open(dir.path().join("app.db")).unwrap(),
        1,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_workers_and_leases_on_postgres() {
    let Some(db) = pg_harness::fresh_database("dashboard leases").await else {
        return; // the harness printed a SKIPPED banner
    };
    leases(sayiir::PgStore::connect(db.url()).await.unwrap(), 2).await;
}

/// Two instances whose task runs until released: the workers page lists them under their
/// worker, and `GET /api/v1/leases` returns them (viewers may read it).
async fn leases(store: impl Store, key: u64) {
    let engine = Engine::builder(store)
        .register::<holding>()
        .build()
        .unwrap();
    let admin = app_as(engine.clone(), ADMIN).await;
    let none = page(&admin, "/ui/workers").await;
    assert!(none.contains("No worker holds a lease now."), "{none}");
    let worker = engine.spawn_worker();
    for i in ["hold-a", "hold-b"] {
        engine.start::<holding>(i, key).await.unwrap();
    }
    let held = eventually("both instances leased, running `hold`", || async {
        let leases = engine
            .leases(std::num::NonZeroUsize::new(10).unwrap())
            .await
            .unwrap();
        // Claimed in the state `start`, they move to `hold#1` (under the same lease) and
        // stay there while `hold` runs.
        let running = leases
            .iter()
            .filter(|l| l.state_id.as_deref() == Some("hold#1"));
        (running.count() == 2).then_some(leases)
    })
    .await;
    let owner = held[0].owner.to_string();
    assert_eq!(held[1].owner.to_string(), owner);
    let workers = engine.workers().await.unwrap();
    assert!(workers.iter().any(|w| w.id.to_string() == owner));

    // The page: the worker's lease count, then its table of leased instances.
    let html = page(&admin, "/ui/workers").await;
    let group = &html[html
        .find(r#"<div class="card leases">"#)
        .unwrap_or_else(|| panic!("no lease group: {html}"))..];
    assert!(group.contains(&owner), "{group}");
    assert!(group.contains("2 instances"), "{group}");
    let a = group.find(r#"<a href="instances/hold-a">"#).unwrap();
    let b = group.find(r#"<a href="instances/hold-b">"#).unwrap();
    assert!(a < b, "by instance id");
    assert!(group.contains(r#"<a href="workflows/holding">holding</a>"#));
    let state = held[0].state_id.clone().unwrap();
    assert!(
        group.contains(&format!("<code>{state}</code>")),
        "the state: {group}"
    );
    assert!(!html.contains("more are held"));
    assert!(
        html.contains(r#"<td class="num">2</td>"#),
        "the count: {html}"
    );

    // The API, as a viewer; its limit.
    let (status, json) =
        crate::common::call_as(&admin, Some(VIEWER), Method::GET, "/api/v1/leases", None).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{json}");
    assert_eq!(rows[0]["id"], "hold-a");
    assert_eq!(rows[0]["workflow"], "holding");
    assert_eq!(rows[0]["state_id"], "hold#1");
    assert_eq!(rows[0]["owner"], owner.as_str());
    assert!(rows[0]["until"].as_i64().unwrap() > 0, "{json}");
    let (_, one) = call(&admin, Method::GET, "/api/v1/leases?limit=1", None).await;
    assert_eq!(one.as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one[0]["id"], "hold-a");
    for bad in ["limit=0", "limit=x", "limit=10001", "after=1"] {
        let (status, json) =
            call(&admin, Method::GET, &format!("/api/v1/leases?{bad}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {json}");
    }

    RELEASED.lock().unwrap().push(key);
    for i in ["hold-a", "hold-b"] {
        eventually("finished", || async {
            let info = engine.status(i).await.unwrap();
            (info.status == InstanceStatus::Completed).then_some(())
        })
        .await;
    }
    worker.shutdown().await.unwrap();
    assert!(
        engine
            .leases(std::num::NonZeroUsize::MIN)
            .await
            .unwrap()
            .is_empty(),
        "finished instances hold no lease"
    );
}
