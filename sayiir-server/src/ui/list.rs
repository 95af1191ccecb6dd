//! The instance list (`/ui/instances`) and the instances that need attention
//! (`/ui/attention`): filters, counts per status, a page of the store's keyset listing, live.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::RawQuery;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use sayiir::admin::Stats;
use sayiir::store::{BlockKind, Status};
use sayiir::{Engine, InstanceInfo, InstanceStatus};

use super::live::{self, Regions, take};
use super::{Frame, Nav, badge, query_string, respond, segment, time};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::instances::list_query_of;
use crate::json::query_pairs;

/// The page a listing is on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every instance, filtered.
    All,
    /// The instances that need attention.
    Attention,
}

/// The filters of a page: the query string's non-empty pairs.
#[derive(Clone)]
struct Filters(Vec<(String, String)>);

impl Filters {
    fn of(query: Option<&str>) -> Self {
        Self(
            query_pairs(query)
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The pairs but `skip`'s, with `extra`.
    fn with<'a>(&'a self, skip: &[&str], extra: &[(&'a str, &'a str)]) -> String {
        query_string(
            self.0
                .iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .chain(extra.iter().copied()),
        )
    }

    /// The store query's parameters: the filters, and `needs_attention` on the attention page.
    fn query_pairs(&self, mode: Mode) -> Vec<(String, String)> {
        let mut pairs = self.0.clone();
        if mode == Mode::Attention {
            pairs.retain(|(k, _)| k != "status" && k != "needs_attention");
            if !pairs.iter().any(|(k, _)| k == "blocked") {
                pairs.push(("needs_attention".into(), "true".into()));
            }
        }
        pairs
    }
}

/// `GET /ui/instances`.
pub(crate) async fn page(
    Extension(engine): Extension<Engine>,
    Extension(principal): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Response {
    render(engine, principal, Filters::of(query.as_deref()), Mode::All).await
}

/// `GET /ui/attention`.
pub(crate) async fn attention(
    Extension(engine): Extension<Engine>,
    Extension(principal): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Response {
    render(
        engine,
        principal,
        Filters::of(query.as_deref()),
        Mode::Attention,
    )
    .await
}

/// `GET /ui/events/instances`: the list's regions, live.
pub(crate) async fn events(
    Extension(engine): Extension<Engine>,
    RawQuery(query): RawQuery,
) -> Response {
    stream(engine, Filters::of(query.as_deref()), Mode::All)
}

/// `GET /ui/events/attention`.
pub(crate) async fn attention_events(
    Extension(engine): Extension<Engine>,
    RawQuery(query): RawQuery,
) -> Response {
    stream(engine, Filters::of(query.as_deref()), Mode::Attention)
}

fn stream(engine: Engine, filters: Filters, mode: Mode) -> Response {
    live::stream(engine.store().wakeups(), move || {
        let (engine, filters) = (engine.clone(), filters.clone());
        async move { regions(&engine, &filters, mode).await }
    })
    .into_response()
}

async fn render(engine: Engine, principal: Principal, filters: Filters, mode: Mode) -> Response {
    let (nav, title, events) = match mode {
        Mode::All => (Nav::Instances, "Instances", "ui/events/instances"),
        Mode::Attention => (Nav::Attention, "Needs attention", "ui/events/attention"),
    };
    let frame = Frame {
        root: "../",
        principal: &principal,
        nav,
        title: title.into(),
        events: Some(format!("{events}{}", filters.with(&[], &[]))),
    };
    let body = async {
        // One stats read (counts and backlog) for the filters' workflows and the counts.
        let stats = engine.stats().await?;
        let workflows = workflow_names(&engine, &stats);
        let mut regions = regions_with(&engine, &filters, mode, &stats).await?;
        Ok(html! {
            div.heading {
                h1 { (title) }
                @if mode == Mode::Attention {
                    p.sub { "Instances blocked by a failure an operator must look at: a panic, a \
                             parked call, a state that does not decode, a version no worker runs." }
                }
            }
            (take(&mut regions, "counts"))
            (filter_form(&filters, &workflows, mode))
            (take(&mut regions, "rows"))
        })
    }
    .await;
    respond(&frame, body)
}

/// The workflows the store has instances of (the grouped counts, not the instances) and the
/// engine's registered ones.
fn workflow_names(engine: &Engine, stats: &Stats) -> Vec<String> {
    let mut names: Vec<String> = stats.groups.iter().map(|g| g.workflow.clone()).collect();
    for d in engine.definitions() {
        names.push(d.name);
    }
    names.sort();
    names.dedup();
    names
}

const STATUSES: [&str; 7] = [
    "running",
    "blocked",
    "paused",
    "needs_attention",
    "completed",
    "failed",
    "cancelled",
];

fn filter_form(filters: &Filters, workflows: &[String], mode: Mode) -> Markup {
    let action = match mode {
        Mode::All => "instances",
        Mode::Attention => "attention",
    };
    let selected = |key: &str, value: &str| filters.get(key) == Some(value);
    html! {
        form.filters method="get" action=(action) {
            label { "Workflow"
                select name="workflow" {
                    option value="" { "any" }
                    @for w in workflows { option value=(w) selected[selected("workflow", w)] { (w) } }
                }
            }
            @if mode == Mode::All {
                label { "Status"
                    select name="status" {
                        option value="" { "any" }
                        @for s in STATUSES {
                            option value=(s) selected[selected("status", s)] { (s.replace('_', " ")) }
                        }
                    }
                }
            }
            label { "Blocked by"
                select name="blocked" {
                    option value="" { "any" }
                    @for k in BlockKind::ALL {
                        @if mode == Mode::All || k.needs_attention() {
                            option value=(k.name()) selected[selected("blocked", k.name())] {
                                (k.name().replace('_', " "))
                            }
                        }
                    }
                }
            }
            label { "Id starts with"
                input type="text" name="id_prefix" value=[filters.get("id_prefix")]
                    placeholder="order-" autocomplete="off";
            }
            @if mode == Mode::All {
                label.check {
                    input type="checkbox" name="needs_attention" value="true"
                        checked[selected("needs_attention", "true")];
                    "Needs attention"
                }
            }
            @if let Some(state) = filters.get("state") {
                input type="hidden" name="state" value=(state);
                span.chip { "state " code { (state) } }
            }
            button.primary type="submit" { "Filter" }
            a.button href=(action) { "Clear" }
        }
    }
}

/// The counts and the page of rows.
async fn regions(engine: &Engine, filters: &Filters, mode: Mode) -> Result<Regions, ApiError> {
    let stats = engine.stats().await?;
    regions_with(engine, filters, mode, &stats).await
}

/// [`regions`] with the stats already read.
async fn regions_with(
    engine: &Engine,
    filters: &Filters,
    mode: Mode,
    stats: &Stats,
) -> Result<Regions, ApiError> {
    let counts = match mode {
        Mode::All => status_counts(stats, filters),
        Mode::Attention => kind_counts(stats, filters),
    };
    let rows = rows(engine, filters, mode).await?;
    Ok(vec![("counts", counts), ("rows", rows)])
}

/// Counts per status (of the filtered workflow), each a link to the list of that status.
fn status_counts(stats: &Stats, filters: &Filters) -> Markup {
    let workflow = filters.get("workflow");
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut total = 0;
    for g in stats
        .groups
        .iter()
        .filter(|g| workflow.is_none_or(|w| g.workflow == w))
    {
        let key = match (g.status, g.blocked) {
            (Status::Running, Some(BlockKind::Paused)) => "paused",
            (Status::Running, Some(k)) if k.needs_attention() => "needs_attention",
            (Status::Running, Some(_)) => "blocked",
            (Status::Running, None) => "running",
            (Status::Completed, _) => "completed",
            (Status::Failed, _) => "failed",
            _ => "cancelled",
        };
        *counts.entry(key).or_default() += g.count;
        total += g.count;
    }
    let current = filters.get("status");
    html! {
        div.counts {
            a.count.active[current.is_none()] href={"instances" (filters.with(&["status", "after"], &[]))} {
                span.n { (total) } span.l { "all" }
            }
            @for s in ["running", "paused", "needs_attention", "blocked", "completed", "failed", "cancelled"] {
                @let n = counts.get(s).copied().unwrap_or(0);
                @if n > 0 || s != "blocked" {
                    a class=(count_class(s, current == Some(s)))
                        href={"instances" (filters.with(&["status", "after", "needs_attention"], &[("status", s)]))} {
                        span.n { (n) } span.l { (s.replace('_', " ")) }
                    }
                }
            }
            @if stats.due > 0 {
                span.count.c-due title="due and not claimed by any worker" {
                    span.n { (stats.due) } span.l { "due, unclaimed" }
                }
            }
        }
    }
}

/// Counts per block kind of the instances that need attention.
fn kind_counts(stats: &Stats, filters: &Filters) -> Markup {
    let workflow = filters.get("workflow");
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    for g in stats
        .groups
        .iter()
        .filter(|g| workflow.is_none_or(|w| g.workflow == w) && g.status == Status::Running)
    {
        if let Some(k) = g.blocked.filter(|k| k.needs_attention()) {
            *counts.entry(k.name()).or_default() += g.count;
        }
    }
    let total: u64 = counts.values().sum();
    let current = filters.get("blocked");
    html! {
        div.counts {
            a class=(count_class("needs_attention", current.is_none()))
                href={"attention" (filters.with(&["blocked", "after"], &[]))} {
                span.n { (total) } span.l { "need attention" }
            }
            @for (k, n) in &counts {
                a class=(count_class("needs_attention", current == Some(*k)))
                    href={"attention" (filters.with(&["blocked", "after"], &[("blocked", k)]))} {
                    span.n { (n) } span.l { (k.replace('_', " ")) }
                }
            }
        }
    }
}

fn count_class(status: &str, active: bool) -> String {
    if active {
        format!("count c-{status} active")
    } else {
        format!("count c-{status}")
    }
}

/// The status of `i` as the list shows it, and its block's reason.
pub(crate) fn status_of(i: &InstanceInfo) -> (&'static str, Option<&str>) {
    match &i.status {
        InstanceStatus::Running => ("running", None),
        InstanceStatus::Blocked { kind, reason } => (kind.name(), Some(reason.as_str())),
        InstanceStatus::Completed => ("completed", None),
        InstanceStatus::Failed => ("failed", None),
        InstanceStatus::Cancelled => ("cancelled", None),
        _ => ("unknown", None),
    }
}

/// A page of the store's keyset listing, and the links to the first and next pages.
async fn rows(engine: &Engine, filters: &Filters, mode: Mode) -> Result<Markup, ApiError> {
    let (q, limit) = list_query_of(filters.query_pairs(mode))?;
    let listing = engine.list(&q).await?;
    let page = match mode {
        Mode::All => "instances",
        Mode::Attention => "attention",
    };
    let next = (listing.instances.len() >= limit.get())
        .then(|| listing.instances.last().map(|i| i.id.to_string()))
        .flatten();
    Ok(html! {
        table.list #instances {
            thead { tr {
                th { "Instance" } th { "Workflow" } th { "Status" } th { "State" }
                th { "Updated" } th { "Due" }
            } }
            tbody {
                @for i in &listing.instances {
                    @let (status, reason) = status_of(i);
                    tr data-id=(i.id.as_str()) {
                        td { a.id href={"instances/" (segment(i.id.as_str()))} { (i.id.as_str()) } }
                        td {
                            a href={"workflows/" (segment(&i.workflow))} { (i.workflow) }
                            span.muted { " v" (i.version) }
                        }
                        td {
                            (badge(status))
                            @if i.no_live_worker { " " span.badge.b-warn title="no live worker runs its definition" { "no worker" } }
                            @if let Some(r) = reason {
                                div class=(if mode == Mode::Attention { "reason full" } else { "reason" }) title=(r) { (r) }
                            }
                        }
                        td { @if let Some(s) = &i.state { code { (s) } } }
                        td { (time(i.updated_at)) }
                        td { @if let Some(d) = i.due_at { (time(d)) } }
                    }
                }
                @if listing.instances.is_empty() {
                    tr { td.empty colspan="6" { "No instance matches." } }
                }
            }
        }
        @for d in &listing.damaged {
            div.card.error { "Damaged row " code { (d.id) } ": " (d.problem) }
        }
        div.pager {
            @if filters.get("after").is_some() {
                a.button href={(page) (filters.with(&["after"], &[]))} { "← First page" }
            }
            span.muted { (listing.instances.len()) " shown, " (limit) " per page" }
            @if let Some(after) = &next {
                a.button #next href={(page) (filters.with(&["after"], &[("after", after)]))} { "Next page →" }
            }
        }
    })
}
