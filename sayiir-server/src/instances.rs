//! Endpoints about instances: list, describe, history, signal and the operator's actions.

use std::num::NonZeroUsize;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::response::Response;
use sayiir::admin::{DecodedBy, TimelineEntry};
use sayiir::store::{BlockKind, DamagedRow, ListQuery, Status, Timestamp};
use sayiir::{Engine, InstanceId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::{self, Action};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::json::{self, Path};
use crate::views::{InstanceView, LeaseView, rfc3339, waiting_json};

/// Page size when `limit` is not given.
const DEFAULT_LIMIT: usize = 50;
/// The largest page a request may ask for.
const MAX_LIMIT: usize = 1_000;

/// `id` as an instance id; 400 when it is not a valid one.
pub(crate) fn parse_id(id: &str) -> Result<InstanceId, ApiError> {
    InstanceId::new(id).map_err(|reason| ApiError::invalid_id(id, &reason))
}

/// The store query and page size of `GET /api/v1/instances`'s query string.
fn list_query(query: Option<&str>) -> Result<(ListQuery, NonZeroUsize), ApiError> {
    list_query_of(json::query_pairs(query))
}

/// The store query and page size of the list's parameters (the API's query string, the
/// dashboard's filters).
pub(crate) fn list_query_of(
    pairs: impl IntoIterator<Item = (String, String)>,
) -> Result<(ListQuery, NonZeroUsize), ApiError> {
    let mut q = ListQuery::new();
    let mut limit = DEFAULT_LIMIT;
    let mut blocked: Vec<BlockKind> = Vec::new();
    let mut status: Option<String> = None;
    for (key, value) in pairs {
        match key.as_str() {
            "workflow" => q = q.workflow(value),
            "version" => {
                let v = value.parse().map_err(|_| {
                    ApiError::bad_request(format!("`version` must be a number, not `{value}`"))
                })?;
                q = q.version(v);
            }
            "state" => q = q.state_id(value),
            "id_prefix" if !value.is_empty() => q = q.id_prefix(value),
            "id_prefix" => {}
            "after" if value.is_empty() => {}
            "after" => q = q.after(Some(parse_id(&value)?)),
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "`limit` must be a number from 1 to {MAX_LIMIT}, not `{value}`"
                        ))
                    })?;
            }
            "blocked" => {
                for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let kind = BlockKind::from_name(name).ok_or_else(|| {
                        ApiError::bad_request(format!("`{name}` is not a kind of block"))
                    })?;
                    blocked.push(kind);
                }
            }
            "needs_attention" => match value.as_str() {
                "true" | "1" | "" => status = Some("needs_attention".into()),
                "false" | "0" => {}
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "`needs_attention` must be true or false, not `{value}`"
                    )));
                }
            },
            "status" => status = Some(value.replace('-', "_")),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter `{other}` (workflow, version, state, status, blocked, needs_attention, id_prefix, after, limit)"
                )));
            }
        }
    }
    if !blocked.is_empty() {
        q = q.status(Status::Running).blocked_by(blocked);
    }
    q = match status.as_deref() {
        None => q,
        Some("running") => q.status(Status::Running).blocked(false),
        Some("completed") => q.status(Status::Completed),
        Some("failed") => q.status(Status::Failed),
        Some("cancelled") => q.status(Status::Cancelled),
        Some("blocked") => q.status(Status::Running).blocked(true),
        Some("paused") => q.status(Status::Running).blocked_by([BlockKind::Paused]),
        Some("needs_attention") => q.status(Status::Running).needs_attention(),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`{other}` is not a status (running, blocked, paused, needs_attention, completed, failed, cancelled)"
            )));
        }
    };
    let limit = NonZeroUsize::new(limit).unwrap_or(NonZeroUsize::MIN);
    Ok((q.limit(limit), limit))
}

/// `sayiir list --json`.
#[derive(Serialize)]
struct ListView {
    instances: Vec<InstanceView>,
    damaged: Vec<DamagedView>,
    /// The cursor of the next page (`after`), when this page is full.
    next: Option<String>,
}

#[derive(Serialize)]
struct DamagedView {
    id: String,
    workflow: Option<String>,
    problem: String,
}

impl DamagedView {
    fn of(d: &DamagedRow) -> Self {
        Self {
            id: d.id.clone(),
            workflow: d.workflow.clone(),
            problem: d.problem.clone(),
        }
    }
}

/// `GET /api/v1/instances`.
pub(crate) async fn list(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    who.require(Role::Viewer)?;
    let (q, limit) = list_query(query.as_deref())?;
    let listing = engine.list(&q).await?;
    let next = if listing.instances.len() >= limit.get() {
        listing.instances.last().map(|i| i.id.to_string())
    } else {
        None
    };
    Ok(json::ok(&ListView {
        instances: listing.instances.iter().map(InstanceView::of).collect(),
        damaged: listing.damaged.iter().map(DamagedView::of).collect(),
        next,
    }))
}

/// `sayiir show --json`.
#[derive(Serialize)]
struct ShowView<'a> {
    instance: InstanceView,
    waiting: Vec<Value>,
    state: Option<&'a sayiir::inspect::StateView>,
    state_size: Option<usize>,
    output: Option<&'a Value>,
    output_size: Option<usize>,
    signals: Vec<SignalView<'a>>,
    lease: Option<LeaseView>,
    decoded_by: &'a DecodedBy,
    problems: &'a [String],
    allowed: Vec<&'static str>,
}

#[derive(Serialize)]
struct SignalView<'a> {
    id: u64,
    name: &'a str,
    sent_at: String,
    value: Option<&'a Value>,
    size: usize,
}

/// `GET /api/v1/instances/{id}`.
pub(crate) async fn describe(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    who.require(Role::Viewer)?;
    let id = parse_id(&id)?;
    let d = engine.describe(&id).await?;
    let now = Timestamp::now();
    Ok(json::ok(&ShowView {
        instance: InstanceView::of(&d.info),
        waiting: d.waiting.iter().map(waiting_json).collect(),
        state: d.state.as_ref(),
        state_size: d.state_size,
        output: d.output.as_ref(),
        output_size: d.output_size,
        signals: d
            .signals
            .iter()
            .map(|s| SignalView {
                id: s.id,
                name: &s.name,
                sent_at: rfc3339(s.sent_at),
                value: s.value.as_ref(),
                size: s.size,
            })
            .collect(),
        lease: d.lease.as_ref().map(|l| LeaseView::of(l, now)),
        decoded_by: &d.decoded_by,
        problems: &d.problems,
        allowed: d.allowed.iter().map(|o| o.name()).collect(),
    }))
}

/// `sayiir history --json`.
#[derive(Serialize)]
struct HistoryView<'a> {
    id: &'a str,
    entries: &'a [TimelineEntry],
}

/// `GET /api/v1/instances/{id}/history`: the committed transitions (`Engine::timeline`).
pub(crate) async fn history(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    who.require(Role::Viewer)?;
    let id = parse_id(&id)?;
    let entries = engine.timeline(&id).await?;
    Ok(json::ok(&HistoryView {
        id: id.as_str(),
        entries: &entries,
    }))
}

/// `sayiir signal --json`.
#[derive(Serialize)]
struct SentView<'a> {
    id: &'a str,
    signal: &'a str,
    sent: bool,
}

/// `POST /api/v1/instances/{id}/signal/{name}`: the body is the payload, as JSON.
pub(crate) async fn signal(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    Path((id, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let result = async {
        who.require(Role::Operator)?;
        let id = parse_id(&id)?;
        let payload: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("the payload is not valid JSON: {e}")))?;
        engine.signal_json(&id, &name, &payload).await?;
        Ok(json::ok(&SentView {
            id: id.as_str(),
            signal: &name,
            sent: true,
        }))
    }
    .await;
    let action = Action::new("signal", &id).detail(Some(name.clone()));
    audit::record(&engine, &who, action, result).await
}

/// What an action did.
#[derive(Serialize)]
struct DoneView<'a> {
    id: &'a str,
    action: &'static str,
    ok: bool,
}

fn done(id: &InstanceId, action: &'static str) -> Response {
    json::ok(&DoneView {
        id: id.as_str(),
        action,
        ok: true,
    })
}

/// The body of `cancel`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    reason: Option<String>,
}

/// `POST /api/v1/instances/{id}/cancel`, body `{"reason": "..."}` (optional).
pub(crate) async fn cancel(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut reason = None;
    let result = async {
        who.require(Role::Operator)?;
        let id = parse_id(&id)?;
        let body: CancelBody = json::body(&body)?;
        let text = body
            .reason
            .unwrap_or_else(|| "cancelled through the HTTP API".into());
        reason = Some(text.clone());
        engine.cancel(&id, &text).await?;
        Ok(done(&id, "cancel"))
    }
    .await;
    audit::record(
        &engine,
        &who,
        Action::new("cancel", &id).detail(reason),
        result,
    )
    .await
}

/// The operator's actions that take nothing but the instance.
#[derive(Clone, Copy)]
enum Simple {
    Pause,
    Resume,
    Retry,
    Fail,
}

impl Simple {
    fn name(self) -> &'static str {
        match self {
            Simple::Pause => "pause",
            Simple::Resume => "resume",
            Simple::Retry => "retry",
            Simple::Fail => "fail",
        }
    }
}

async fn simple(
    engine: Engine,
    who: Principal,
    id: String,
    what: Simple,
) -> Result<Response, ApiError> {
    let result = async {
        who.require(Role::Operator)?;
        let id = parse_id(&id)?;
        match what {
            Simple::Pause => engine.pause(&id).await?,
            Simple::Resume => engine.resume(&id).await?,
            Simple::Retry => engine.retry(&id).await?,
            Simple::Fail => engine.fail(&id).await?,
        }
        Ok(done(&id, what.name()))
    }
    .await;
    audit::record(&engine, &who, Action::new(what.name(), &id), result).await
}

/// `POST /api/v1/instances/{id}/pause`.
pub(crate) async fn pause(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    simple(engine, who, id, Simple::Pause).await
}

/// `POST /api/v1/instances/{id}/resume`.
pub(crate) async fn resume(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    simple(engine, who, id, Simple::Resume).await
}

/// `POST /api/v1/instances/{id}/retry`.
pub(crate) async fn retry(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    simple(engine, who, id, Simple::Retry).await
}

/// `POST /api/v1/instances/{id}/fail`.
pub(crate) async fn fail(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    simple(engine, who, id, Simple::Fail).await
}
