//! A workflow (`/ui/workflows/{name}`): the states of each registered version, drawn as an SVG
//! graph from the description the workflow macro generates (`Engine::definitions`), with the
//! live count of instances in each state.
//!
//! The edges are the transitions the description records (`StateShape::next`): from each state,
//! the states its next transition can suspend at and whether it can finish the workflow. States
//! are placed in ranks (the longest path from the start, over the edges that do not close a
//! loop), branches side by side; an edge that closes a loop (or a `continue_as_new` back to the
//! start) is dashed and runs up on the right, an edge that skips ranks runs down on the left.
//! A description without transitions (written by hand, or stored by an earlier build) is drawn
//! in source order, and the page says so.

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
                p.sub { "Its states and the transitions between them, each state with the instances in it now \
                         (running or blocked). Click a state to list them." }
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
        let known = s.transitions().is_some();
        graphs.push(html! {
            div.card {
                h2 { "Version " (s.version) " " span.muted.small { "hash " (s.hash.get(..12).unwrap_or(&s.hash)) } }
                @if known {
                    p.sub.flow { "Edges are the transitions the workflow macro read from the code: each branch, \
                                  each loop (dashed, back up), each way to finish." }
                } @else {
                    p.sub.flow.unknown { "This description records no transitions (it was written by hand, or stored \
                                          by an earlier build): the states are drawn in source order, which is exact \
                                          only for a workflow without branches or loops." }
                }
                div.graphwrap {
                    div.graph { (raw(svg(s, &counts, &done))) }
                    table.list {
                        thead { tr { th { "State" } th { "Waits for" } th { "Carries" } th { "Next" } th.num { "Now" } } }
                        tbody {
                            @for (st, (all, attention)) in s.states.iter().zip(&counts) {
                                tr {
                                    td { a href=(state_href(s, st)) { code { (st.id) } } }
                                    td { (wait_label(st.wait.as_ref())) }
                                    td { @for f in &st.fields { span.chip { (f.name) } } }
                                    td.next { (next_label(st)) }
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

/// Where a state goes next, in a few words (empty when the description does not say).
fn next_label(st: &StateShape) -> String {
    let Some(next) = &st.next else {
        return String::new();
    };
    let mut parts: Vec<&str> = next.states.iter().map(String::as_str).collect();
    if next.ends {
        parts.push("finish");
    }
    parts.join(", ")
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

const NODE_W: i32 = 330;
const NODE_H: i32 = 58;
/// Vertical space between ranks (edges turn in it).
const GAP: i32 = 50;
/// Horizontal space between nodes of one rank.
const HGAP: i32 = 36;
const X: i32 = 20;
/// Space between two lanes of routed edges (beside the nodes).
const LANE: i32 = 12;

/// How an edge is drawn.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// To the next rank: a curve.
    Down,
    /// Down past other ranks: routed through a lane on the left.
    Skip,
    /// Up (a loop, a `continue_as_new`) or to itself: dashed, through a lane on the right.
    Back,
}

/// The states of a description (nodes `0..n`) and the end (node `n`), with the edges between
/// them: the recorded transitions, or, when the description has none, source order.
struct Graph {
    /// `(from, to)`, each once.
    edges: Vec<(usize, usize)>,
    /// Whether the edges are the recorded transitions.
    known: bool,
    nodes: usize,
}

impl Graph {
    fn of(s: &WorkflowShape) -> Self {
        let n = s.states.len();
        let mut edges = Vec::new();
        let known = match s.transitions() {
            Some(next) => {
                for (i, t) in next.iter().enumerate() {
                    for id in &t.states {
                        if let Some(j) = s.states.iter().position(|st| &st.id == id) {
                            edges.push((i, j));
                        }
                    }
                    if t.ends {
                        edges.push((i, n));
                    }
                }
                true
            }
            None => {
                edges.extend((0..n).map(|i| (i, i + 1)));
                false
            }
        };
        edges.sort_unstable();
        edges.dedup();
        Self {
            edges,
            known,
            nodes: n + 1,
        }
    }

    /// The edges that close a cycle, found by a depth-first walk from the start state (then
    /// from any state it does not reach), children in state order.
    fn back_edges(&self) -> Vec<bool> {
        // 0: not seen, 1: on the walk's path, 2: done.
        let mut color = vec![0u8; self.nodes];
        let mut back = vec![false; self.edges.len()];
        for root in 0..self.nodes {
            if color[root] != 0 {
                continue;
            }
            color[root] = 1;
            // (node, index of the next of its edges to follow)
            let mut stack = vec![(root, 0usize)];
            while let Some(top) = stack.last_mut() {
                let (u, at) = *top;
                let next = self
                    .edges
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.0 == u)
                    .nth(at);
                match next {
                    Some((k, &(_, v))) => {
                        top.1 += 1;
                        match color[v] {
                            0 => {
                                color[v] = 1;
                                stack.push((v, 0));
                            }
                            1 => back[k] = true,
                            _ => {}
                        }
                    }
                    None => {
                        color[u] = 2;
                        stack.pop();
                    }
                }
            }
        }
        back
    }

    /// The rank of each node: the longest path from a source over the edges that are not
    /// back edges; the end node alone on the last rank.
    fn ranks(&self, back: &[bool]) -> Vec<usize> {
        let mut rank = vec![0usize; self.nodes];
        // The forward edges form no cycle, so `nodes` relaxations settle every rank.
        for _ in 0..self.nodes {
            let mut changed = false;
            for (k, &(u, v)) in self.edges.iter().enumerate() {
                if !back[k] && rank[v] < rank[u] + 1 {
                    rank[v] = rank[u] + 1;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let end = self.nodes - 1;
        rank[end] = rank[..end].iter().max().map_or(0, |m| m + 1);
        rank
    }
}

fn to_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The states of `s` as a graph from top to bottom, each with its counts, and the end node:
/// branches side by side, loops as dashed edges back up on the right, edges that skip ranks
/// on the left.
fn svg(s: &WorkflowShape, counts: &[(usize, usize)], done: &[(&str, u64)]) -> String {
    let g = Graph::of(s);
    let back = g.back_edges();
    let rank = g.ranks(&back);
    let ranks = rank.iter().max().map_or(1, |m| m + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); ranks];
    for (node, &r) in rank.iter().enumerate() {
        rows[r].push(node);
    }
    let widest = to_i32(rows.iter().map(Vec::len).max().unwrap_or(1));
    let kinds: Vec<Kind> = g
        .edges
        .iter()
        .zip(&back)
        .map(|(&(u, v), &b)| {
            if b || rank[v] <= rank[u] {
                Kind::Back
            } else if rank[v] == rank[u] + 1 {
                Kind::Down
            } else {
                Kind::Skip
            }
        })
        .collect();
    let lanes = |kind| to_i32(kinds.iter().filter(|k| **k == kind).count());
    let left = lanes(Kind::Skip) * LANE + if lanes(Kind::Skip) > 0 { 8 } else { 0 };
    let right = lanes(Kind::Back) * LANE + if lanes(Kind::Back) > 0 { 8 } else { 0 };
    let inner = widest * (NODE_W + HGAP) - HGAP;
    let width = X + left + inner + right + X;
    let height = to_i32(ranks) * (NODE_H + GAP) - GAP + 20;
    // The top-left corner of each node.
    let mut at = vec![(0, 0); g.nodes];
    for (r, row) in rows.iter().enumerate() {
        let shift = (widest - to_i32(row.len())) * (NODE_W + HGAP) / 2;
        for (k, &node) in row.iter().enumerate() {
            at[node] = (
                X + left + shift + to_i32(k) * (NODE_W + HGAP),
                10 + to_i32(r) * (NODE_H + GAP),
            );
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="states" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="states of {name}" data-edges="{edges}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#8a94a6"/></marker></defs>"##,
        name = esc(&s.name),
        edges = if g.known {
            "transitions"
        } else {
            "source order"
        },
    );
    let end = g.nodes - 1;
    let id = |node: usize| {
        s.states
            .get(node)
            .map_or("end".to_string(), |st| esc(&st.id))
    };
    let (mut skip_lane, mut back_lane) = (0, 0);
    for (&(u, v), kind) in g.edges.iter().zip(&kinds) {
        let (ux, uy) = at[u];
        let (vx, vy) = at[v];
        // Curves leave and enter at the middle; routed edges a quarter to the side of it (left
        // for skips, right for loops), so they do not run over the curves.
        let side = match kind {
            Kind::Down => NODE_W / 2,
            Kind::Skip => NODE_W / 4,
            Kind::Back => NODE_W * 3 / 4,
        };
        let (sx, sy) = (ux + side, uy + NODE_H);
        let (tx, ty) = (vx + side, vy - 2);
        let d = match kind {
            Kind::Down => format!(
                "M {sx} {sy} C {sx} {} {tx} {} {tx} {ty}",
                sy + GAP / 2,
                ty - GAP / 2
            ),
            Kind::Skip | Kind::Back => {
                let lane = if *kind == Kind::Skip {
                    skip_lane += 1;
                    X + left - 8 - (skip_lane - 1) * LANE
                } else {
                    back_lane += 1;
                    X + left + inner + 8 + (back_lane - 1) * LANE
                };
                let k = if *kind == Kind::Skip {
                    skip_lane
                } else {
                    back_lane
                };
                let off = 10 + (k % 4) * 6;
                format!(
                    "M {sx} {sy} L {sx} {a} L {lane} {a} L {lane} {b} L {tx} {b} L {tx} {ty}",
                    a = sy + off,
                    b = vy - off,
                )
            }
        };
        let (class, dash) = match kind {
            Kind::Back => ("edge back", r#" stroke-dasharray="6 4""#),
            Kind::Skip => ("edge skip", ""),
            Kind::Down => ("edge", ""),
        };
        let _ = write!(
            out,
            r#"<path class="{class}" data-from="{}" data-to="{}" d="{d}" fill="none"{dash} marker-end="url(#arrow)"/>"#,
            id(u),
            id(v),
        );
    }
    for (k, st) in s.states.iter().enumerate() {
        let (all, blocked) = counts.get(k).copied().unwrap_or((0, 0));
        node(&mut out, s, st, at[k], all, blocked);
    }
    let (x, y) = at[end];
    let href = format!(
        "../instances{}",
        query_string([
            ("workflow", s.name.as_str()),
            ("version", &s.version.to_string())
        ])
    );
    let _ = write!(
        out,
        r#"<a href="{}" data-state="end"><g class="node end"><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="29"/><text x="{}" y="{}" class="title">finished</text><text x="{}" y="{}" class="sub">"#,
        esc(&href),
        x + 18,
        y + 24,
        x + 18,
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

fn node(
    out: &mut String,
    s: &WorkflowShape,
    st: &StateShape,
    (x, y): (i32, i32),
    all: usize,
    blocked: usize,
) {
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
        r#"<a href="{href}" data-state="{id}"><g class="{class}"><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8"/><text x="{tx}" y="{ty}" class="title">{id}</text><text x="{tx}" y="{sy}" class="sub">{sub}</text>"#,
        href = esc(&href),
        id = esc(&st.id),
        tx = x + 14,
        ty = y + 24,
        sy = y + 44,
        sub = esc(&sub),
    );
    let cx = x + NODE_W - 40;
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
            x + NODE_W - 12,
            y + 53,
            count_text(blocked)
        );
    }
    out.push_str("</g></a>");
}

#[cfg(test)]
mod tests {
    use sayiir::describe::{WaitShape, WorkflowShape};

    use super::svg;

    /// A description with three states.
    fn shape(flow: bool) -> WorkflowShape {
        let mut w = WorkflowShape::new("w", 1, &[0; 32]);
        for (variant, id) in [("Start", "start"), ("S1", "a#1"), ("S2", "b#1")] {
            w.state(variant, id);
            if id != "start" {
                w.wait(WaitShape::Timer);
            }
            if flow {
                match id {
                    "start" => w.next(&["b#1"], false),
                    "b#1" => w.next(&["a#1"], true),
                    _ => w.next(&[], true),
                }
            }
        }
        w
    }

    fn edges(svg: &str) -> Vec<(String, String, String)> {
        svg.split("<path class=\"")
            .skip(1)
            .map(|rest| {
                let attr = |name: &str| {
                    let at = rest.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                    rest[at..at + rest[at..].find('"').unwrap()].to_string()
                };
                let class = rest[..rest.find('"').unwrap()].to_string();
                (class, attr("data-from"), attr("data-to"))
            })
            .collect()
    }

    fn e(class: &str, from: &str, to: &str) -> (String, String, String) {
        (class.into(), from.into(), to.into())
    }

    #[test]
    fn without_transitions_the_states_follow_source_order() {
        let out = svg(&shape(false), &[], &[]);
        assert!(out.contains(r#"data-edges="source order""#));
        assert_eq!(
            edges(&out),
            [
                e("edge", "start", "a#1"),
                e("edge", "a#1", "b#1"),
                e("edge", "b#1", "end")
            ]
        );
    }

    #[test]
    fn with_transitions_the_edges_are_the_recorded_ones() {
        let out = svg(&shape(true), &[], &[]);
        assert!(out.contains(r#"data-edges="transitions""#));
        // start -> b -> a -> end, and b may end: `b -> end` skips `a`'s rank.
        assert_eq!(
            edges(&out),
            [
                e("edge", "start", "b#1"),
                e("edge", "a#1", "end"),
                e("edge", "b#1", "a#1"),
                e("edge skip", "b#1", "end")
            ]
        );
    }
}
