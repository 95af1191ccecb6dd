//! The store-wide pages: versions (and the instances whose version no worker runs), workers,
//! schedules, limits, the audit log (administrators).

use std::num::NonZeroUsize;

use axum::Extension;
use axum::response::Response;
use maud::html;
use sayiir::admin::LeaseInfo;
use sayiir::store::{Timestamp, WorkerId};
use sayiir::{Engine, InstanceStatus};
use serde_json::Value;

use super::{Frame, Nav, badge, duration, query_string, respond, segment, time};
use crate::auth::{Principal, Role};
use crate::instances::list_query_of;

fn frame<'a>(principal: &'a Principal, nav: Nav, title: &str) -> Frame<'a> {
    Frame {
        root: "../",
        principal,
        nav,
        title: title.into(),
        events: None,
    }
}

/// `GET /ui/versions`.
pub(crate) async fn versions(
    Extension(engine): Extension<Engine>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let body = async {
        let mut stats = engine.version_stats().await?;
        stats.sort_by(|a, b| (&a.workflow, a.version).cmp(&(&b.workflow, b.version)));
        // A read: the instances already marked (`Engine::check_versions` would mark more).
        let (q, limit) = list_query_of([("blocked".to_owned(), "version_mismatch".to_owned())])?;
        let mismatches = engine.list(&q).await?.instances;
        Ok(html! {
            div.heading { h1 { "Versions" }
                p.sub { "Instances per definition (workflow, version, hash). A drained definition has no \
                         unfinished instance left: its code may be removed." } }
            div.card {
                table.list {
                    thead { tr { th { "Workflow" } th { "Version" } th { "Hash" } th.num { "Running" }
                        th.num { "Blocked" } th.num { "Completed" } th.num { "Failed" } th.num { "Cancelled" } th { "" } } }
                    tbody {
                        @for s in &stats {
                            tr {
                                td { a href={"workflows/" (segment(&s.workflow))} { (s.workflow) } }
                                td { "v" (s.version) }
                                td { code { (s.hash.to_string().get(..12).unwrap_or_default()) } }
                                td.num { (s.running) } td.num { (s.blocked) } td.num { (s.completed) }
                                td.num { (s.failed) } td.num { (s.cancelled) }
                                td { @if s.drained() { span.badge.b-completed { "drained" } } }
                            }
                        }
                        @if stats.is_empty() { tr { td.empty colspan="9" { "No instance yet." } } }
                    }
                }
            }
            div.card {
                h2 { "Version mismatches" }
                @if mismatches.is_empty() {
                    p.muted { "None: no unfinished instance is blocked by a version mismatch." }
                } @else {
                    table.list {
                        thead { tr { th { "Instance" } th { "Workflow" } th { "Why" } } }
                        tbody { @for i in &mismatches {
                            tr { td { a.id href={"instances/" (segment(i.id.as_str()))} { (i.id.as_str()) } }
                                 td { (i.workflow) span.muted { " v" (i.version) } }
                                 td { @if let InstanceStatus::Blocked { reason, .. } = &i.status { div.reason.full { (reason) } } } }
                        } }
                    }
                    @if mismatches.len() >= limit.get() {
                        p.muted { "The first " (limit) " are shown." }
                    }
                }
                p { a href={"attention" (query_string([("blocked", "version_mismatch")]))} { "Instances blocked by a version mismatch →" } }
            }
        })
    }
    .await;
    respond(&frame(&principal, Nav::Versions, "Versions"), body)
}

/// How many leases `GET /ui/workers` shows at most.
const LEASES_SHOWN: usize = 500;

/// `GET /ui/workers`: the workers, then the instances each holds a live lease on.
pub(crate) async fn workers(
    Extension(engine): Extension<Engine>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let body = async {
        let workers = engine.workers().await?;
        // One more than shown, to tell whether there are more.
        let mut leases = engine
            .leases(NonZeroUsize::new(LEASES_SHOWN + 1).unwrap_or(NonZeroUsize::MIN))
            .await?;
        let more = leases.len() > LEASES_SHOWN;
        leases.truncate(LEASES_SHOWN);
        let held: Vec<&[LeaseInfo]> = leases.chunk_by(|a, b| a.owner == b.owner).collect();
        let count = |w: &WorkerId| held.iter().find(|g| &g[0].owner == w).map_or(0, |g| g.len());
        let now = Timestamp::now();
        Ok(html! {
            div.heading { h1 { "Workers" }
                p.sub { "The workers recorded in the store. A worker records itself when it starts and every third of \
                         its lease; one that stopped or died no longer counts as alive after its lease. Each instance's \
                         page shows the worker holding its lease." } }
            div.card {
                table.list {
                    thead { tr { th { "Worker" } th { "Status" } th { "Started" } th { "Last seen" } th { "Runs" } th { "Leases" } } }
                    tbody {
                        @for w in &workers {
                            tr {
                                td { code { (w.id.to_string()) } }
                                td { @if w.alive { (badge("running")) } @else { span.badge.b-cancelled { "stopped" } } }
                                td { (time(w.started_at)) }
                                td { (time(w.seen_at)) span.muted { " (" (duration((now.as_millis() - w.seen_at.as_millis()).max(0) as u64)) " ago)" } }
                                td { @for k in &w.runs {
                                    span.chip { a href={"workflows/" (segment(&k.workflow))} { (k.workflow) } }
                                } }
                                td.num { (count(&w.id)) @if more { "+" } }
                            }
                        }
                        @if workers.is_empty() { tr { td.empty colspan="6" { "No worker has recorded itself." } } }
                    }
                }
            }
            div.heading { h1 { "Leases" }
                p.sub { "The instances each worker holds a live lease on now: it is running one of their steps (a task \
                         included). A sleeping or waiting instance is not leased." } }
            @if more {
                div.card.error.leases-limit { "Showing the first " (LEASES_SHOWN) " leases (by worker, then instance id); more are held." }
            }
            @if held.is_empty() { div.card { span.muted { "No worker holds a lease now." } } }
            @for group in &held {
                div.card.leases {
                    h2 { code { (group[0].owner.to_string()) } " "
                         span.muted.small { (group.len()) @if group.len() == 1 { " instance" } @else { " instances" } } }
                    table.list {
                        thead { tr { th { "Instance" } th { "Workflow" } th { "State" } th { "Lease until" } } }
                        tbody {
                            @for l in group.iter() {
                                tr {
                                    td { a href={"instances/" (segment(l.id.as_str()))} { code { (l.id.as_str()) } } }
                                    td { a href={"workflows/" (segment(&l.workflow))} { (l.workflow) } }
                                    td { @if let Some(state) = &l.state_id { code { (state) } } @else { span.muted { "-" } } }
                                    td { (time(l.until)) }
                                }
                            }
                        }
                    }
                }
            }
        })
    }
    .await;
    respond(&frame(&principal, Nav::Workers, "Workers"), body)
}

/// A JSON value as plain text (a string without its quotes).
fn text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// `GET /ui/schedules`.
pub(crate) async fn schedules(
    Extension(engine): Extension<Engine>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let operator = principal.may(Role::Operator);
    let body = async {
        let schedules = engine.schedules().await?;
        Ok(html! {
            div.heading { h1 { "Schedules" } }
            div.card {
                table.list {
                    thead { tr { th { "Schedule" } th { "Workflow" } th { "Cron" } th { "State" }
                        th { "Next fires" } th { "Last instance" } @if operator { th { "" } } } }
                    tbody {
                        @for s in &schedules {
                            @let state = text(serde_json::to_value(s.state).unwrap_or(Value::Null));
                            tr {
                                td { code { (s.id) } @if let Some(n) = &s.note { div.muted { (n) } } }
                                td { a href={"workflows/" (segment(&s.workflow))} { (s.workflow) } }
                                td { code { (s.cron) } span.muted { " " (s.time_zone) } }
                                td { (badge(&state)) }
                                td { @for f in s.next_fires_local.iter().take(3) { div { (f) } } }
                                td { @if let Some(i) = &s.last_instance {
                                    a.id href={"instances/" (segment(i.as_str()))} { (i.as_str()) } } }
                                @if operator {
                                    td.actions data-api={"../api/v1/schedules/" (segment(&s.id))} {
                                        @if state == "paused" {
                                            button data-action="resume" data-confirm="Resume this schedule?" { "Resume" }
                                        } @else {
                                            button data-action="pause" data-confirm="Pause this schedule? It starts no instance until resumed." { "Pause" }
                                        }
                                        div.result {}
                                    }
                                }
                            }
                        }
                        @if schedules.is_empty() { tr { td.empty colspan="7" { "No schedule." } } }
                    }
                }
            }
        })
    }
    .await;
    respond(&frame(&principal, Nav::Schedules, "Schedules"), body)
}

/// `GET /ui/limits`.
pub(crate) async fn limits(
    Extension(engine): Extension<Engine>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let body = async {
        let limits = engine.limits().await?;
        let rates = engine.rate_limits().await?;
        Ok(html! {
            div.heading { h1 { "Limits" }
                p.sub { "Concurrency limits (slots held and waited for, across every worker of the store) and rate limits." } }
            div.card {
                h2 { "Concurrency" }
                table.list {
                    thead { tr { th { "Key" } th.num { "Limit" } th.num { "In use" } th.num { "Waiting" } th { "" } } }
                    tbody {
                        @for l in &limits {
                            tr {
                                td { code { (l.key) } }
                                td.num { (l.limit) } td.num { (l.in_use) } td.num { (l.waiting) }
                                td { div.meter { div style=(format!("width:{:.0}%", (l.in_use as f64 / f64::from(l.limit.max(1)) * 100.0).min(100.0))) {} } }
                            }
                        }
                        @if limits.is_empty() { tr { td.empty colspan="5" { "No concurrency limit in use." } } }
                    }
                }
            }
            div.card {
                h2 { "Rates" }
                table.list {
                    thead { tr { th { "Key" } th.num { "Interval" } th.num { "Burst" } th.num { "In use" } th.num { "Waiting" } } }
                    tbody {
                        @for r in &rates {
                            tr {
                                td { code { (r.key) } }
                                td.num { (duration(r.interval.as_millis() as u64)) }
                                td.num { (r.burst) } td.num { (r.in_use) } td.num { (r.waiting) }
                            }
                        }
                        @if rates.is_empty() { tr { td.empty colspan="5" { "No rate limit in use." } } }
                    }
                }
            }
        })
    }
    .await;
    respond(&frame(&principal, Nav::Limits, "Limits"), body)
}

/// `GET /ui/audit` (administrators): the audit log, newest first, a page at a time.
pub(crate) async fn audit(
    Extension(engine): Extension<Engine>,
    Extension(principal): Extension<Principal>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let body = async {
        principal.require(Role::Admin)?;
        let (entries, next) = crate::audit::page_of(&engine, query.as_deref()).await?;
        Ok(html! {
            div.heading { h1 { "Audit log" }
                p.sub { "Every action asked of the API or of this dashboard, newest first: who, what, on which \
                         instances, and how it ended (refusals included)." } }
            div.card {
                table.list.audit {
                    thead { tr { th { "When" } th { "Who" } th { "Action" } th { "On" } th { "Detail" } th { "Result" } } }
                    tbody {
                        @for e in &entries {
                            tr data-audit=(e.id) {
                                td { (time(e.at)) }
                                td { (e.who) }
                                td { code { (e.action) } }
                                td { @for t in &e.targets {
                                    @if e.action.ends_with("_schedule") { code { (t) } " " }
                                    @else { a.id href={"instances/" (segment(t))} { (t) } " " }
                                } }
                                td { @if let Some(d) = &e.detail { (d) } }
                                td { @match &e.result {
                                    sayiir::admin::AuditResult::Failed { kind, message } => {
                                        span.badge.b-failed { (kind) } div.reason.full { (message) }
                                    }
                                    _ => { span.badge.b-completed { "ok" } }
                                } }
                            }
                        }
                        @if entries.is_empty() { tr { td.empty colspan="6" { "No action yet." } } }
                    }
                }
                @if let Some(n) = next {
                    p { a.more href={"audit" (query_string([("after", n.to_string().as_str())]))} { "Older entries →" } }
                }
            }
        })
    }
    .await;
    respond(&frame(&principal, Nav::Audit, "Audit log"), body)
}
