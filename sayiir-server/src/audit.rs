//! The audit log: every action asked of the API (an authenticated request that reached its
//! endpoint) is recorded, done or not, refused for its role included; and `GET
//! /api/v1/audit` (admin) reads it back.

use std::num::NonZeroUsize;

use axum::Extension;
use axum::extract::RawQuery;
use axum::response::Response;
use sayiir::Engine;
use sayiir::admin::{AuditEntry, AuditResult, NewAuditEntry};
use sayiir::store::Timestamp;
use serde::Serialize;

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::json;
use crate::views::rfc3339;

/// Page size of `GET /api/v1/audit` when `limit` is not given.
const DEFAULT_LIMIT: usize = 50;
/// The largest page it gives.
const MAX_LIMIT: usize = 1_000;

/// What one action was asked: its name, targets and detail.
pub(crate) struct Action {
    pub(crate) name: &'static str,
    pub(crate) targets: Vec<String>,
    pub(crate) detail: Option<String>,
}

impl Action {
    pub(crate) fn new(name: &'static str, target: &str) -> Self {
        Self {
            name,
            targets: vec![target.to_owned()],
            detail: None,
        }
    }

    pub(crate) fn detail(mut self, detail: Option<String>) -> Self {
        self.detail = detail;
        self
    }
}

/// Records `action` by `who` and how it ended, then returns `result`. When the store refuses
/// the entry the action's answer stands (it was done, or not, either way) and the failure
/// is logged at error level.
pub(crate) async fn record(
    engine: &Engine,
    who: &Principal,
    action: Action,
    result: Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    let entry = NewAuditEntry {
        at: Timestamp::now(),
        who: who.name.clone(),
        action: action.name.to_owned(),
        targets: action.targets,
        detail: action.detail,
        result: match &result {
            Ok(_) => AuditResult::Ok,
            Err(e) => AuditResult::Failed {
                kind: e.kind.to_owned(),
                message: e.message.clone(),
            },
        },
    };
    if let Err(e) = engine.record_audit(entry.clone()).await {
        tracing::error!(
            who = %entry.who,
            action = %entry.action,
            targets = ?entry.targets,
            error = %e,
            "cannot write the audit log entry of an action"
        );
    }
    result
}

#[derive(Serialize)]
struct EntryView<'a> {
    id: u64,
    at: String,
    who: &'a str,
    action: &'a str,
    targets: &'a [String],
    detail: Option<&'a str>,
    #[serde(flatten)]
    result: &'a AuditResult,
}

impl<'a> EntryView<'a> {
    fn of(e: &'a AuditEntry) -> Self {
        Self {
            id: e.id,
            at: rfc3339(e.at),
            who: &e.who,
            action: &e.action,
            targets: &e.targets,
            detail: e.detail.as_deref(),
            result: &e.result,
        }
    }
}

#[derive(Serialize)]
struct PageView<'a> {
    entries: Vec<EntryView<'a>>,
    /// The cursor of the next (older) page, when this one is full.
    next: Option<u64>,
}

/// The page of the audit log that `query` asks for (`after`: the `next` of the page before,
/// `limit`), and the cursor of the next page when this one is full.
pub(crate) async fn page_of(
    engine: &Engine,
    query: Option<&str>,
) -> Result<(Vec<AuditEntry>, Option<u64>), ApiError> {
    let mut before = None;
    let mut limit = DEFAULT_LIMIT;
    for (key, value) in json::query_pairs(query) {
        match key.as_str() {
            "after" if value.is_empty() => {}
            "after" => {
                before = Some(value.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("`after` must be an entry id, not `{value}`"))
                })?);
            }
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
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter `{other}` (after, limit)"
                )));
            }
        }
    }
    let limit = NonZeroUsize::new(limit).unwrap_or(NonZeroUsize::MIN);
    let entries = engine.audit(before, limit).await?;
    let next = if entries.len() >= limit.get() {
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok((entries, next))
}

/// `GET /api/v1/audit?after=&limit=` (admin): newest first; `after` is the `next` of the page
/// before (entries older than it).
pub(crate) async fn list(
    Extension(engine): Extension<Engine>,
    Extension(who): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    who.require(Role::Admin)?;
    let (entries, next) = page_of(&engine, query.as_deref()).await?;
    Ok(json::ok(&PageView {
        entries: entries.iter().map(EntryView::of).collect(),
        next,
    }))
}
