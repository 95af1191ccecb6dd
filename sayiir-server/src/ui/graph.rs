//! A workflow (`/ui/workflows/{name}`): the states of each registered version, drawn as an SVG
//! graph from the description the workflow macro generates (`Engine::definitions`), with the
//! live count of instances in each state.
//!
//! The description lists the states in the order of the generated state enum, which is the
//! order of the awaits in the source; it does not record the branches between them. The edges
//! follow that order: exact for a straight-line workflow, the source order otherwise.

use std::fmt::Write as _;
use std::num::NonZeroUsize;

use axum::Extension;
use axum::response::{IntoResponse, Response};
use maud::html;
use sayiir::describe::{StateShape, WaitShape, WorkflowShape};
use sayiir::store::{ListQuery, Status};
use sayiir::{Engine, EngineError};

use super::live::{self, Regions, take};
use super::{Frame, Nav, query_string, raw, respond, segment};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::json::Path;

/// Counts stop at this many (a count is one bounded listing, never a scan of every instance).
const COUNT_CAP: usize = 1_000;

/// `GET /ui/workflows/{name}`.
pub(crate) async fn page(
    Extension(engine): Extension<Engine>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Response {
    let frame = Frame {
        root: "../../",
        principal: &principal,
        nav: Nav::Workflows,
        title: name.clone(),
        events: Some(format!("ui/events/workflows/{}", segment(&name))),
    };
    let body = async {
        let mut regions = regions(&engine, &name).await?;
        Ok(html! {
            div.heading {
                a.back href={"../instances" (query_string([("workflow", name.as_str())]))} { "← Instances of " (name) }
                h1 { "Workflow " code { (name) } }
                p.sub { "Its states in source order, each with the instances in it now (running or blocked). \
                         Click a state to list them." }
            }
            (take(&mut regions, "graph"))
        })
    }
    .await;
    respond(&frame, body)
}

/// `GET /ui/events/workflows/{name}`.
pub(crate) async fn events(
    Extension(engine): Extension<Engine>,
    Path(name): Path<String>,
) -> Response {
    live::stream(engine.store().wakeups(), move || {
        let (engine, name) = (engine.clone(), name.clone());
        async move { regions(&engine, &name).await }
    })
    .into_response()
}

/// How many instances of `name` are in state `state` (running or blocked; `attention`: only
/// those that need attention), up to [`COUNT_CAP`].
async fn count(
    engine: &Engine,
    name: &str,
    version: u32,
    state: &str,
    attention: bool,
) -> Result<usize, EngineError> {
    let mut q = ListQuery::new()
        .workflow(name)
        .version(version)
        .state_id(state)
        .status(Status::Running)
        .limit(NonZeroUsize::new(COUNT_CAP).unwrap_or(NonZeroUsize::MIN));
    if attention {
        q = q.needs_attention();
    }
    Ok(engine.list(&q).await?.instances.len())
}

fn count_text(n: usize) -> String {
    if n >= COUNT_CAP {
        format!("{COUNT_CAP}+")
    } else {
        n.to_string()
    }
}

async fn regions(engine: &Engine, name: &str) -> Result<Regions, ApiError> {
    let mut shapes: Vec<WorkflowShape> = engine
        .definitions()
        .into_iter()
        .filter(|s| s.name == name)
        .collect();
    shapes.sort_by_key(|s| std::cmp::Reverse(s.version));
    let stats = engine.stats().await?;
    let finished = |status: Status| -> u64 {
        stats
            .groups
            .iter()
            .filter(|g| g.workflow == name && g.status == status)
            .map(|g| g.count)
            .sum()
    };
    let done = [
        ("completed", finished(Status::Completed)),
        ("failed", finished(Status::Failed)),
        ("cancelled", finished(Status::Cancelled)),
    ];
    let mut graphs = Vec::new();
    for s in &shapes {
        let mut counts = Vec::new();
        for st in &s.states {
            let all = count(engine, name, s.version, &st.id, false).await?;
            let attention = count(engine, name, s.version, &st.id, true).await?;
            counts.push((all, attention));
        }
        graphs.push(html! {
            div.card {
                h2 { "Version " (s.version) " " span.muted.small { "hash " (s.hash.get(..12).unwrap_or(&s.hash)) } }
                div.graphwrap {
                    div.graph { (raw(svg(s, &counts, &done))) }
                    table.list {
                        thead { tr { th { "State" } th { "Waits for" } th { "Carries" } th.num { "Now" } } }
                        tbody {
                            @for (st, (all, attention)) in s.states.iter().zip(&counts) {
                                tr {
                                    td { a href=(state_href(s, st)) { code { (st.id) } } }
                                    td { (wait_label(st.wait.as_ref())) }
                                    td { @for f in &st.fields { span.chip { (f.name) } } }
                                    td.num { (count_text(*all))
                                        @if *attention > 0 { div.reason.full { (count_text(*attention)) " need attention" } } }
                                }
                            }
                        }
                    }
                }
            }
        });
    }
    let body = html! {
        @if shapes.is_empty() {
            div.card {
                p { "This server does not register workflow " code { (name) } ", so it cannot draw its states. \
                     Serve the dashboard from the application that registers it (" code { "sayiir_server::router(engine)" } ")." }
            }
        }
        @for g in graphs { (g) }
    };
    Ok(vec![("graph", body)])
}

/// What a state waits for, in a few words.
fn wait_label(w: Option<&WaitShape>) -> String {
    match w {
        None => "start: the inputs".into(),
        Some(WaitShape::Task(t)) => format!("task {}", t.name),
        Some(WaitShape::Child(c)) => format!("child workflow {}", c.name),
        Some(WaitShape::Join(ws)) => format!("join of {}", ws.len()),
        Some(WaitShape::JoinAll(w)) => format!("join all: {}", wait_label(Some(w))),
        Some(WaitShape::Timer) => "durable timer (sleep)".into(),
        Some(WaitShape::Signal { payload, timeout }) => format!(
            "signal: {}{}",
            short_type(&payload.rust),
            if *timeout { ", with timeout" } else { "" }
        ),
        Some(WaitShape::Continue) => "continue as new".into(),
        Some(_) => "a wait".into(),
    }
}

/// `a::b::Approval` as `Approval`.
fn short_type(rust: &str) -> &str {
    rust.rsplit("::").next().unwrap_or(rust)
}

/// `s` escaped for SVG text and attributes.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const NODE_W: i32 = 360;
const NODE_H: i32 = 58;
const GAP: i32 = 34;
const X: i32 = 20;

/// The states of `s` as a top-to-bottom graph, each with its counts, and the finished node.
fn svg(s: &WorkflowShape, counts: &[(usize, usize)], done: &[(&str, u64)]) -> String {
    let n = i32::try_from(s.states.len()).unwrap_or(i32::MAX);
    let height = (n + 1) * (NODE_H + GAP) + 10;
    let width = NODE_W + 2 * X + 20;
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="states" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="states of {name}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#8a94a6"/></marker></defs>"##,
        name = esc(&s.name)
    );
    let mid = X + NODE_W / 2;
    for (k, st) in s.states.iter().enumerate() {
        let k = i32::try_from(k).unwrap_or(i32::MAX);
        let y = 10 + k * (NODE_H + GAP);
        let _ = write!(
            out,
            r#"<line class="edge" x1="{mid}" y1="{}" x2="{mid}" y2="{}" marker-end="url(#arrow)"/>"#,
            y + NODE_H,
            y + NODE_H + GAP - 2
        );
        let (all, blocked) = counts.get(k as usize).copied().unwrap_or((0, 0));
        node(&mut out, s, st, y, all, blocked);
    }
    let y = 10 + n * (NODE_H + GAP);
    let href = format!(
        "../instances{}",
        query_string([
            ("workflow", s.name.as_str()),
            ("version", &s.version.to_string())
        ])
    );
    let _ = write!(
        out,
        r#"<a href="{}"><g class="node end"><rect x="{X}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="29"/><text x="{}" y="{}" class="title">finished</text><text x="{}" y="{}" class="sub">"#,
        esc(&href),
        X + 18,
        y + 24,
        X + 18,
        y + 44
    );
    let parts: Vec<String> = done.iter().map(|(l, c)| format!("{c} {l}")).collect();
    let _ = write!(out, "{}</text></g></a></svg>", esc(&parts.join(" · ")));
    out
}

/// The list of the instances of `s` in state `st`.
fn state_href(s: &WorkflowShape, st: &StateShape) -> String {
    format!(
        "../instances{}",
        query_string([
            ("workflow", s.name.as_str()),
            ("version", &s.version.to_string()),
            ("state", st.id.as_str()),
        ])
    )
}

fn node(out: &mut String, s: &WorkflowShape, st: &StateShape, y: i32, all: usize, blocked: usize) {
    let href = state_href(s, st);
    let class = if blocked > 0 {
        "node blocked"
    } else if all > 0 {
        "node busy"
    } else {
        "node"
    };
    let fields: Vec<&str> = st.fields.iter().map(|f| f.name.as_str()).collect();
    let sub = if fields.is_empty() {
        wait_label(st.wait.as_ref())
    } else {
        format!(
            "{} · carries {}",
            wait_label(st.wait.as_ref()),
            fields.join(", ")
        )
    };
    let _ = write!(
        out,
        r#"<a href="{href}" data-state="{id}"><g class="{class}"><rect x="{X}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8"/><text x="{tx}" y="{ty}" class="title">{id}</text><text x="{tx}" y="{sy}" class="sub">{sub}</text>"#,
        href = esc(&href),
        id = esc(&st.id),
        tx = X + 14,
        ty = y + 24,
        sy = y + 44,
        sub = esc(&sub),
    );
    let cx = X + NODE_W - 40;
    let _ = write!(
        out,
        r#"<rect class="count" x="{}" y="{}" width="56" height="26" rx="13"/><text class="countn" x="{cx}" y="{}" text-anchor="middle">{}</text>"#,
        cx - 28,
        y + 16,
        y + 34,
        count_text(all)
    );
    if blocked > 0 {
        let _ = write!(
            out,
            r#"<text class="blockedn" x="{}" y="{}" text-anchor="end">{} need attention</text>"#,
            X + NODE_W - 12,
            y + 53,
            count_text(blocked)
        );
    }
    out.push_str("</g></a>");
}
