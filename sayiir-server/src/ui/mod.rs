//! The dashboard: server-rendered HTML pages under `/ui` (no JavaScript build step; one small
//! script and one style sheet, embedded in the binary). Every link is relative, so the router
//! works nested under any path.
//!
//! Live pages are made of *regions* (`[data-live]` elements): the page handler renders them
//! into the page, and the page's event stream (`/ui/events/...`, server-sent events) renders
//! the same regions again every second and sends them when they changed; the script swaps
//! them in without reloading.
//!
//! Actions (signal, cancel, pause, resume, retry, fail, a schedule's pause and resume) are
//! `fetch` POSTs to the API's own endpoints (`api/v1/...`), with the principal's CSRF token
//! in the `X-CSRF-Token` header: the dashboard has no action code of its own.

mod graph;
mod instance;
mod list;
mod live;
mod pages;
mod timeline;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sayiir::Engine;
use sayiir::store::Timestamp;

use crate::auth::{Principal, Role};
use crate::error::ApiError;

const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/app.js");

/// The dashboard's routes (merged into [`crate::router`]).
pub(crate) fn routes() -> Router<Engine> {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("ui/instances") }))
        .route("/ui/", get(|| async { Redirect::to("instances") }))
        .route("/ui/assets/style.css", get(style))
        .route("/ui/assets/app.js", get(script))
        .route("/ui/instances", get(list::page))
        .route("/ui/attention", get(list::attention))
        .route("/ui/instances/{id}", get(instance::page))
        .route("/ui/workflows/{name}", get(graph::page))
        .route("/ui/versions", get(pages::versions))
        .route("/ui/workers", get(pages::workers))
        .route("/ui/schedules", get(pages::schedules))
        .route("/ui/limits", get(pages::limits))
        .route("/ui/audit", get(pages::audit))
        .route("/ui/namespace", get(choose_namespace))
        .route("/ui/events/instances", get(list::events))
        .route("/ui/events/attention", get(list::attention_events))
        .route("/ui/events/instances/{id}", get(instance::events))
        .route("/ui/events/workflows/{name}", get(graph::events))
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        STYLE,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// Which entry of the navigation a page is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Instances,
    Attention,
    Workflows,
    Versions,
    Workers,
    Schedules,
    Limits,
    Audit,
}

/// What every page needs: the relative path to the router's root, the principal, the page's
/// event stream (relative to the root), if it is live.
pub(crate) struct Frame<'a> {
    pub(crate) root: &'static str,
    pub(crate) principal: &'a Principal,
    pub(crate) nav: Nav,
    pub(crate) title: String,
    pub(crate) events: Option<String>,
}

/// A whole page: the header, the navigation, `body`.
pub(crate) fn layout(f: &Frame<'_>, body: Markup) -> Response {
    let root = f.root;
    let item = |nav: Nav, path: &str, label: &str| {
        html! {
            a.active[f.nav == nav] href={(root) "ui/" (path)} { (label) }
        }
    };
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (f.title) " · sayiir" }
                link rel="stylesheet" href={(root) "ui/assets/style.css"};
                script defer src={(root) "ui/assets/app.js"} {}
            }
            body data-root=(root) data-csrf=(f.principal.csrf)
                data-events=[f.events.as_ref().map(|e| format!("{root}{e}"))] {
                header.top {
                    a.brand href={(root) "ui/instances"} { span.logo { "◆" } " sayiir" }
                    nav {
                        (item(Nav::Instances, "instances", "Instances"))
                        (item(Nav::Attention, "attention", "Needs attention"))
                        @if f.nav == Nav::Workflows { a.active href="#" { "Workflow" } }
                        (item(Nav::Versions, "versions", "Versions"))
                        (item(Nav::Workers, "workers", "Workers"))
                        (item(Nav::Schedules, "schedules", "Schedules"))
                        (item(Nav::Limits, "limits", "Limits"))
                        @if f.principal.may(Role::Admin) { (item(Nav::Audit, "audit", "Audit")) }
                    }
                    form.ns method="get" action={(root) "ui/namespace"} title="namespace" {
                        span.label { "namespace" }
                        @match &f.principal.namespaces {
                            Some(list) if list.len() > 1 => {
                                select name="name" onchange="this.form.submit()" {
                                    @for n in list {
                                        option value=(n) selected[*n == f.principal.namespace] { (n) }
                                    }
                                }
                            }
                            Some(_) => { code { (f.principal.namespace) } }
                            None => {
                                input type="text" name="name" value=(f.principal.namespace) size="12"
                                    aria-label="namespace";
                            }
                        }
                    }
                    div.who {
                        @if f.events.is_some() { span #live.live title="live updates" { "● live" } }
                        span.user { (f.principal.name) } " "
                        span.role { (f.principal.role.name()) }
                        @if !f.principal.csrf.is_empty() {
                            form.logout method="post" action={(root) "ui/logout"} {
                                input type="hidden" name="csrf" value=(f.principal.csrf);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    html_response(StatusCode::OK, page)
}

/// `markup` as an HTML response of `status`.
pub(crate) fn html_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// An error as a page: its status, its kind and message.
pub(crate) fn error_page(f: &Frame<'_>, e: &ApiError) -> Response {
    let mut r = layout(
        f,
        html! {
            div.card.error {
                h1 { (e.status.as_u16()) " " (e.kind) }
                p { (e.message) }
                p { a href={(f.root) "ui/instances"} { "Back to the instances" } }
            }
        },
    );
    *r.status_mut() = e.status;
    r
}

/// A page's body or its error, in the frame.
pub(crate) fn respond(f: &Frame<'_>, body: Result<Markup, ApiError>) -> Response {
    match body {
        Ok(b) => layout(f, b),
        Err(e) => error_page(f, &e),
    }
}

/// A status as a coloured badge: `running`, `paused`, a block kind, `completed`, ...
pub(crate) fn badge(status: &str) -> Markup {
    let class = match status {
        "running" | "active" => "b-running",
        "completed" => "b-completed",
        "failed" => "b-failed",
        "cancelled" => "b-cancelled",
        "paused" | "retry_requested" | "fail_requested" | "awaiting_admission" => "b-paused",
        _ => "b-attention",
    };
    html! { span class={"badge " (class)} { (status.replace('_', " ")) } }
}

/// `t` as the API writes it, to the second, in a `<time>` whose title is the full time.
pub(crate) fn time(t: Timestamp) -> Markup {
    let full = crate::views::rfc3339(t);
    let short = full.get(..19).unwrap_or(&full).replace('T', " ");
    html! { time datetime=(full) title=(full) { (short) } }
}

/// `ms` milliseconds for people: `850 ms`, `3.2 s`, `4 min 10 s`, `2 h 5 min`, `3 d 4 h`.
pub(crate) fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000),
        3_600_000..86_400_000 => format!("{} h {} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
        _ => format!("{} d {} h", ms / 86_400_000, ms % 86_400_000 / 3_600_000),
    }
}

/// JSON, indented, in a `<pre>`.
pub(crate) fn json_block(v: &serde_json::Value) -> Markup {
    let text = serde_json::to_string_pretty(v).unwrap_or_else(|e| e.to_string());
    html! { pre.json { (text) } }
}

/// The query string of `pairs` (values percent-encoded), with a leading `?` unless empty.
pub(crate) fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in pairs {
        ser.append_pair(k, v);
        any = true;
    }
    if any {
        format!("?{}", ser.finish())
    } else {
        String::new()
    }
}

/// A path segment percent-encoded (an instance id or a workflow name in a link).
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@!$&'()*+,;=".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Raw markup (the SVG the graph draws, already escaped where it holds text).
pub(crate) fn raw(s: String) -> Markup {
    PreEscaped(s)
}

/// `GET /ui/namespace?name=NS`: the dashboard's namespace from now on (the cookie
/// [`NAMESPACE_COOKIE`](crate::NAMESPACE_COOKIE)), then the instance list. Refused (403) when
/// the token may not see that namespace, 400 when the name is malformed.
async fn choose_namespace(
    axum::Extension(engine): axum::Extension<Engine>,
    axum::Extension(principal): axum::Extension<Principal>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let name = crate::json::query_pairs(query.as_deref())
        .into_iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    match crate::namespace::scoped(&engine, &principal, &name) {
        Ok(scoped) => {
            let cookie = format!(
                "{}={}; HttpOnly; SameSite=Strict; Path=/",
                crate::NAMESPACE_COOKIE,
                scoped.namespace()
            );
            (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, cookie),
                    (header::LOCATION, "instances".into()),
                ],
            )
                .into_response()
        }
        Err(e) => {
            let frame = Frame {
                root: "../",
                principal: &principal,
                nav: Nav::Instances,
                title: "Namespace".into(),
                events: None,
            };
            error_page(&frame, &e)
        }
    }
}
