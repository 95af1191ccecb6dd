//! Endpoints about the whole store: stats, versions, limits, workers and their leases,
//! schedules.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use axum::Extension;
use axum::extract::RawQuery;
use axum::response::Response;
use sayiir::Engine;
use sayiir::store::{BlockKind, Status};
use serde::Serialize;

use crate::audit::{self, Action};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::json::{self, Path};
use crate::views::{Limits, Rate, rfc3339};

#[derive(Serialize, Default, Clone, Copy)]
struct Counts {
    running: u64,
    paused: u64,
    needs_attention: u64,
    completed: u64,
    failed: u64,
    cancelled: u64,
    total: u64,
}

impl Counts {
    fn add(&mut self, status: Status, blocked: Option<BlockKind>, n: u64) {
        let slot = match (status, blocked) {
            (Status::Running, Some(BlockKind::Paused)) => &mut self.paused,
            (Status::Running, Some(k)) if k.needs_attention() => &mut self.needs_attention,
            (Status::Running, _) => &mut self.running,
            (Status::Completed, _) => &mut self.completed,
            (Status::Failed, _) => &mut self.failed,
            _ => &mut self.cancelled,
        };
        *slot += n;
        self.total += n;
    }
}

#[derive(Serialize)]
struct WorkflowCounts {
    workflow: String,
    #[serde(flatten)]
    counts: Counts,
}

#[derive(Serialize)]
struct Workers {
    alive: usize,
    stopped: usize,
}

/// `sayiir stats --json`.
#[derive(Serialize)]
struct StatsView {
    workflows: Vec<WorkflowCounts>,
    total: Counts,
    due: u64,
    oldest_due: Option<String>,
    workers: Workers,
    at: String,
}

/// `GET /api/v1/stats`.
pub(crate) async fn stats(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
) -> Result<Response, ApiError> {
    who.require(Role::Viewer)?;
    let stats = engine.stats().await?;
    let mut by_workflow: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    for g in &stats.groups {
        by_workflow
            .entry(g.workflow.clone())
            .or_default()
            .add(g.status, g.blocked, g.count);
        total.add(g.status, g.blocked, g.count);
    }
    let workers = engine.workers().await?;
    let alive = workers.iter().filter(|w| w.alive).count();
    Ok(json::ok(&StatsView {
        workflows: by_workflow
            .into_iter()
            .map(|(workflow, counts)| WorkflowCounts { workflow, counts })
            .collect(),
        total,
        due: stats.due,
        oldest_due: stats.oldest_due.map(rfc3339),
        workers: Workers {
            alive,
            stopped: workers.len() - alive,
        },
        at: rfc3339(stats.at),
    }))
}

/// `sayiir versions --json`'s items.
#[derive(Serialize)]
struct VersionView {
    workflow: String,
    version: u32,
    hash: String,
    fingerprint: String,
    running: u64,
    blocked: u64,
    completed: u64,
    failed: u64,
    cancelled: u64,
    drained: bool,
}

/// `GET /api/v1/versions`.
pub(crate) async fn versions(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
) -> Result<Response, ApiError> {
    who.require(Role::Viewer)?;
    let mut stats = engine.version_stats().await?;
    stats.sort_by(|a, b| (&a.workflow, a.version).cmp(&(&b.workflow, b.version)));
    let views: Vec<VersionView> = stats
        .iter()
        .map(|s| VersionView {
            workflow: s.workflow.clone(),
            version: s.version,
            hash: s.hash.to_string(),
            fingerprint: s.fingerprint.to_string(),
            running: s.running,
            blocked: s.blocked,
            completed: s.completed,
            failed: s.failed,
            cancelled: s.cancelled,
            drained: s.drained(),
        })
        .collect();
    Ok(json::ok(&views))
}

/// `GET /api/v1/limits`: `{concurrency, rates}`.
pub(crate) async fn limits(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
) -> Result<Response, ApiError> {
    who.require(Role::Viewer)?;
    let limits = engine.limits().await?;
    let rates = engine.rate_limits().await?;
    Ok(json::ok(&Limits {
        concurrency: &limits,
        rates: rates.iter().map(Rate::from).collect(),
    }))
}

/// `GET /api/v1/workers`: the workers recorded in the store.
pub(crate) async fn workers(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
) -> Result<Response, ApiError> {
    who.require(Role::Viewer)?;
    Ok(json::ok(&engine.workers().await?))
}

/// `limit` of `GET /api/v1/leases` when not given.
const DEFAULT_LEASES: usize = 500;
/// The largest `limit` it takes.
const MAX_LEASES: usize = 10_000;

/// `GET /api/v1/leases?limit=`: the running instances a worker holds a live lease on now, by
/// worker then instance id, at most `limit` (default 500, at most 10000).
pub(crate) async fn leases(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    who.require(Role::Viewer)?;
    let mut limit = DEFAULT_LEASES;
    for (key, value) in json::query_pairs(query.as_deref()) {
        match key.as_str() {
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LEASES).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "`limit` must be a number from 1 to {MAX_LEASES}, not `{value}`"
                        ))
                    })?;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter `{other}` (limit)"
                )));
            }
        }
    }
    let limit = NonZeroUsize::new(limit).unwrap_or(NonZeroUsize::MIN);
    Ok(json::ok(&engine.leases(limit).await?))
}

/// `GET /api/v1/schedules`.
pub(crate) async fn schedules(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
) -> Result<Response, ApiError> {
    who.require(Role::Viewer)?;
    Ok(json::ok(&engine.schedules().await?))
}

/// `GET /api/v1/schedules/{id}`.
pub(crate) async fn schedule(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    who.require(Role::Viewer)?;
    Ok(json::ok(&engine.describe_schedule(&id).await?))
}

/// `POST /api/v1/schedules/{id}/pause`: the schedule after.
pub(crate) async fn pause_schedule(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let result = async {
        who.require(Role::Operator)?;
        Ok(json::ok(&engine.pause_schedule(&id).await?))
    }
    .await;
    audit::record(&engine, &who, Action::new("pause_schedule", &id), result).await
}

/// `POST /api/v1/schedules/{id}/resume`: the schedule after.
pub(crate) async fn resume_schedule(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let result = async {
        who.require(Role::Operator)?;
        Ok(json::ok(&engine.resume_schedule(&id).await?))
    }
    .await;
    audit::record(&engine, &who, Action::new("resume_schedule", &id), result).await
}
