//! One instance (`/ui/instances/{id}`): its status and what it waits for, its timeline, its
//! decoded state and output, its errors in full, and the operator's actions; live.

use axum::Extension;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use sayiir::admin::{Description, Operation, Waiting};
use sayiir::describe::{WaitShape, WorkflowShape};
use sayiir::shape::{Shape, VariantFields};
use sayiir::store::Timestamp;
use sayiir::{Engine, InstanceStatus};
use serde_json::{Map, Value};

use super::list::status_of;
use super::live::{self, Regions, take};
use super::{Frame, Nav, badge, json_block, respond, segment, time, timeline};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::instances::parse_id;
use crate::json::Path;

/// `GET /ui/instances/{id}`.
pub(crate) async fn page(
    Extension(engine): Extension<Engine>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    let frame = Frame {
        root: "../../",
        principal: &principal,
        nav: Nav::Instances,
        title: id.clone(),
        events: Some(format!("ui/events/instances/{}", segment(&id))),
    };
    let body = async {
        let mut regions = regions(&engine, &id, principal.may(Role::Operator)).await?;
        Ok(html! {
            div.heading {
                a.back href="../instances" { "← Instances" }
                h1 { code { (id) } }
            }
            (take(&mut regions, "summary"))
            (take(&mut regions, "timeline"))
            div.grid {
                div.col {
                    (take(&mut regions, "waiting"))
                }
                div.col {
                    (take(&mut regions, "values"))
                }
            }
        })
    }
    .await;
    respond(&frame, body)
}

/// `GET /ui/events/instances/{id}`: the instance's regions, live.
pub(crate) async fn events(
    Extension(engine): Extension<Engine>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    let operator = principal.may(Role::Operator);
    live::stream(engine.store().wakeups(), move || {
        let (engine, id) = (engine.clone(), id.clone());
        async move { regions(&engine, &id, operator).await }
    })
    .into_response()
}

/// The definition `d`'s instance runs, if this engine registers it.
fn shape_of(engine: &Engine, d: &Description) -> Option<WorkflowShape> {
    let hash = d.info.hash.to_string();
    engine
        .definitions()
        .into_iter()
        .find(|s| s.name == d.info.workflow && s.version == d.info.version && s.hash == hash)
}

/// The payload type of signal `name` in wait `w`, recursively through joins.
fn signal_payload(w: &WaitShape, name_known: bool) -> Option<&sayiir::describe::TypeShape> {
    match w {
        WaitShape::Signal { payload, .. } if name_known => Some(payload),
        WaitShape::Join(ws) => ws.iter().find_map(|w| signal_payload(w, name_known)),
        WaitShape::JoinAll(w) => signal_payload(w, name_known),
        _ => None,
    }
}

/// An example JSON value of `shape` (the signal editor's starting text).
fn skeleton(shape: &Shape) -> Value {
    match shape {
        Shape::Unit => Value::Null,
        Shape::Bool => Value::Bool(false),
        Shape::I8 | Shape::I16 | Shape::I32 | Shape::I64 | Shape::I128 => Value::from(0),
        Shape::U8 | Shape::U16 | Shape::U32 | Shape::U64 | Shape::U128 => Value::from(0),
        Shape::F32 | Shape::F64 => Value::from(0.0),
        Shape::Char | Shape::Str => Value::String(String::new()),
        Shape::Bytes | Shape::Seq(_) | Shape::Tuple(_) | Shape::TupleStruct { .. } => {
            Value::Array(Vec::new())
        }
        Shape::Option(_) | Shape::UnitStruct { .. } | Shape::Recursive { .. } => Value::Null,
        Shape::Map { .. } => Value::Object(Map::new()),
        Shape::Newtype { inner, .. } => skeleton(inner),
        Shape::Struct { fields, .. } => Value::Object(
            fields
                .iter()
                .map(|f| (f.name.clone(), skeleton(&f.shape)))
                .collect(),
        ),
        Shape::Enum { variants, .. } => match variants.first() {
            Some(v) => match &v.fields {
                VariantFields::Unit => Value::String(v.name.clone()),
                VariantFields::Newtype(s) => {
                    Value::Object(Map::from_iter([(v.name.clone(), skeleton(s))]))
                }
                _ => Value::Object(Map::from_iter([(v.name.clone(), Value::Null)])),
            },
            None => Value::Null,
        },
        _ => Value::Null,
    }
}

/// What `w` waits for, in words.
fn waiting_text(w: &Waiting) -> Markup {
    match w {
        Waiting::Runnable { .. } => html! { "runs its next transition now" },
        Waiting::Task {
            task,
            attempt,
            attempts,
            not_before,
            deadline,
            ..
        } => html! {
            "task " code { (task) } ", attempt " (attempt) " of " (attempts)
            @if let Some(t) = not_before { ", not before " (time(*t)) }
            @if let Some(t) = deadline { ", deadline " (time(*t)) }
        },
        Waiting::Timer { due, .. } => html! { "a timer, due " (time(*due)) },
        Waiting::Signal { name, deadline, .. } => html! {
            "signal " code { (name) }
            @if let Some(t) = deadline { ", until " (time(*t)) }
        },
        Waiting::ContinueAsNew { .. } => html! { "continue as new" },
        _ => html! { "something this dashboard does not know" },
    }
}

/// The open span of the timeline: what the instance waits for now.
fn open_span(d: &Description) -> Option<String> {
    match &d.info.status {
        InstanceStatus::Running => Some(match d.waiting.first() {
            Some(Waiting::Signal { name, .. }) => format!("waiting for signal {name}"),
            Some(Waiting::Timer { .. }) => "sleeping".into(),
            Some(Waiting::Task { task, attempt, .. }) => format!("task {task} #{attempt}"),
            _ => "running".into(),
        }),
        InstanceStatus::Blocked { kind, .. } => Some(format!("blocked: {}", kind.name())),
        _ => None,
    }
}

async fn regions(engine: &Engine, id: &str, operator: bool) -> Result<Regions, ApiError> {
    let iid = parse_id(id)?;
    let d = engine.describe(&iid).await?;
    let entries = engine.timeline(&iid).await?;
    let shape = shape_of(engine, &d);
    let now = Timestamp::now();
    let i = &d.info;
    let (status, reason) = status_of(i);
    let api = format!("../../api/v1/instances/{}", segment(id));
    let allowed = |op: Operation| operator && d.allowed.contains(&op);
    let summary = html! {
        div.card.summary {
            div.facts {
                div { span.k { "Status" } (badge(status))
                    @if i.no_live_worker { " " span.badge.b-warn { "no live worker" } } }
                div { span.k { "Workflow" } a href={"../workflows/" (segment(&i.workflow))} { (i.workflow) } span.muted { " v" (i.version) } }
                div { span.k { "State" } @if let Some(s) = &i.state { code { (s) } } @else { span.muted { "—" } } }
                div { span.k { "Transitions" } (i.seq) }
                div { span.k { "Created" } (time(i.created_at)) }
                div { span.k { "Updated" } (time(i.updated_at)) }
                @if let Some(due) = i.due_at { div { span.k { "Due" } (time(due)) } }
                @if let Some(l) = &d.lease {
                    div { span.k { "Lease" } code { (l.owner.to_string()) }
                        span.muted { @if l.live_at(now) { " until " } @else { " expired " } } (time(l.until)) }
                }
            }
            @if let Some(r) = reason {
                div.blocked { strong { "Blocked: " } pre.errortext { (r) } }
            }
            @if operator && !d.allowed.is_empty() {
                div.actions data-api=(api) {
                    @if allowed(Operation::Pause) { button data-action="pause" data-confirm="Pause this instance? Workers stop running it until it is resumed." { "Pause" } }
                    @if allowed(Operation::Resume) { button data-action="resume" data-confirm="Resume this instance?" { "Resume" } }
                    @if allowed(Operation::Retry) { button data-action="retry" data-confirm="Retry: run the failed call again from its first attempt?" { "Retry" } }
                    @if allowed(Operation::Fail) { button.danger data-action="fail" data-confirm="Fail: let the call's error flow into the workflow?" { "Fail" } }
                    @if allowed(Operation::Cancel) {
                        span.cancel {
                            input type="text" name="reason" placeholder="reason for cancelling";
                            button.danger data-action="cancel" data-confirm="Cancel this instance? It cannot be undone." { "Cancel" }
                        }
                    }
                    div.result {}
                }
            }
        }
    };
    let signals: Vec<&str> = d
        .waiting
        .iter()
        .filter_map(|w| match w {
            Waiting::Signal { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let payload = shape.as_ref().and_then(|s| {
        let state = s.state_by_id(i.state.as_deref()?)?;
        signal_payload(state.wait.as_ref()?, !signals.is_empty())
    });
    let waiting = html! {
        div.card {
            h2 { "Waiting for" }
            @if d.waiting.is_empty() {
                @if let Some(w) = d.state.as_ref().and_then(|s| s.wait.as_ref()) {
                    (json_block(&serde_json::to_value(w).unwrap_or(Value::Null)))
                } @else if i.status == InstanceStatus::Running {
                    p.muted { "This server does not register the workflow: it cannot say more." }
                } @else {
                    p.muted { "Nothing: the instance is not running." }
                }
            }
            ul.waits { @for w in &d.waiting { li { (waiting_text(w)) } } }
            @if operator && !signals.is_empty() {
                form.signal #signal-form data-keep data-api=(api) {
                    div.row {
                        label { "Signal "
                            select name="name" { @for s in &signals { option value=(s) { (s) } } }
                        }
                        @if let Some(p) = payload {
                            span.type { "payload type " code { (p.rust) } }
                        }
                    }
                    textarea name="payload" rows="6" spellcheck="false" {
                        (payload.map(|p| serde_json::to_string_pretty(&skeleton(&p.shape)).unwrap_or_default()).unwrap_or_else(|| "null".into()))
                    }
                    div.row {
                        button.primary type="submit" data-confirm="Send this signal?" { "Send signal" }
                        div.result {}
                    }
                }
            }
        }
    };
    let tl = html! {
        div.card {
            h2 { "Timeline" }
            (timeline::render(&entries, open_span(&d).as_deref(), now))
        }
    };
    let values = html! {
        @if let Some(out) = &d.output {
            div.card {
                h2 { @if i.status == InstanceStatus::Cancelled { "Cancel reason" } @else { "Output" } }
                (json_block(out))
            }
        }
        @if let Some(s) = &d.state {
            div.card {
                h2 { "Current state " code { (s.state_id) } }
                @if s.fields.is_empty() { p.muted { "It carries no values." } }
                @for (name, v) in &s.fields {
                    div.field { div.k { (name) } (json_block(v)) }
                }
                @for c in &s.context {
                    div.field { div.k { "context " (c.key) } span.muted { (c.size) " bytes" } }
                }
            }
        }
        @if !d.signals.is_empty() {
            div.card {
                h2 { "Signals not consumed yet" }
                @for s in &d.signals {
                    div.field { div.k { "#" (s.id) " " code { (s.name) } " " (time(s.sent_at)) }
                        @if let Some(v) = &s.value { (json_block(v)) } @else { span.muted { (s.size) " bytes" } } }
                }
            }
        }
        @if !d.problems.is_empty() {
            div.card.error {
                h2 { "Problems" }
                @for p in &d.problems { pre.errortext { (p) } }
            }
        }
        div.card.meta {
            h2 { "Definition" }
            div.field { div.k { "hash" } code.wrap { (i.hash.to_string()) } }
            div.field { div.k { "fingerprint" } code.wrap { (i.fingerprint.to_string()) } }
            div.field { div.k { "decoded by" } code { (serde_json::to_string(&d.decoded_by).unwrap_or_default()) } }
        }
    };
    Ok(vec![
        ("summary", summary),
        ("waiting", waiting),
        ("timeline", tl),
        ("values", values),
    ])
}
