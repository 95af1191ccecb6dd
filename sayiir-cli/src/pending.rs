//! The engine and store API that is being added beside this crate (issue 15), and what the
//! command line does until it is merged. Everything here goes away at the merge:
//!
//! - `ListQuery::blocked_by`, `needs_attention`, `created_from`, `created_until`, `id_prefix`:
//!   [`Selection`] applies those filters here, on the pages the store returns, until then;
//!   after it, [`Selection::of`] sets them on the query and [`Selection::page`] is one
//!   `Engine::list`.
//! - `BlockKind::name` / `needs_attention`: [`block_name`], [`needs_attention`].
//! - `Engine::retry`, `Engine::fail`, `Engine::signal_json`: [`Upcoming`], whose methods have
//!   the engine's names, so the engine's own (inherent) methods take over at the call sites;
//!   until then they fail with [`CliError::Failed`].
//! - `Engine::describe`, `Engine::timeline`, `Engine::stats`: `show`, `history` and `stats`
//!   render what today's API gives (`cmd/show.rs`, `cmd/history.rs`, `cmd/stats.rs`).

use std::num::NonZeroUsize;

use sayiir::store::{BlockKind, DamagedRow, ListQuery, Status, Timestamp};
use sayiir::{Engine, InstanceId, InstanceInfo, InstanceStatus};

use crate::args::{Filter, StatusFilter};
use crate::error::CliError;

/// One page of a listing: at most `limit` instances, and the cursor of the next page when the
/// page is full.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) instances: Vec<InstanceInfo>,
    pub(crate) damaged: Vec<DamagedRow>,
    pub(crate) next: Option<InstanceId>,
}

/// Which blocks `--status` keeps, beyond what today's `ListQuery::blocked` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kinds {
    Paused,
    NeedsAttention,
}

/// A [`Filter`] as a store query, and the filters today's query cannot express.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    query: ListQuery,
    kinds: Option<Kinds>,
    id_prefix: Option<String>,
    created_from: Option<Timestamp>,
    created_until: Option<Timestamp>,
}

impl Selection {
    pub(crate) fn of(f: &Filter) -> Self {
        let mut query = ListQuery::new();
        if let Some(w) = &f.workflow {
            query = query.workflow(w.clone());
        }
        if let Some(v) = f.version {
            query = query.version(v);
        }
        if let Some(s) = &f.state {
            query = query.state_id(s.clone());
        }
        let mut kinds = None;
        if let Some(status) = f.status {
            query = match status {
                StatusFilter::Running => query.status(Status::Running).blocked(false),
                StatusFilter::Completed => query.status(Status::Completed),
                StatusFilter::Failed => query.status(Status::Failed),
                StatusFilter::Cancelled => query.status(Status::Cancelled),
                StatusFilter::Blocked => query.status(Status::Running).blocked(true),
                // After the merge: `.blocked_by([BlockKind::Paused])`, `.needs_attention()`.
                StatusFilter::Paused => {
                    kinds = Some(Kinds::Paused);
                    query.status(Status::Running).blocked(true)
                }
                StatusFilter::NeedsAttention => {
                    kinds = Some(Kinds::NeedsAttention);
                    query.status(Status::Running).blocked(true)
                }
            };
        }
        Self {
            query,
            kinds,
            id_prefix: f.id_prefix.clone().filter(|p| !p.is_empty()),
            created_from: f.created_after,
            created_until: f.created_before,
        }
    }

    /// Whether `i` passes the filters applied here.
    fn admits(&self, i: &InstanceInfo) -> bool {
        let kind = match &i.status {
            InstanceStatus::Blocked { kind, .. } => Some(*kind),
            _ => None,
        };
        let kinds_ok = match self.kinds {
            None => true,
            Some(Kinds::Paused) => kind == Some(BlockKind::Paused),
            Some(Kinds::NeedsAttention) => kind.is_some_and(needs_attention),
        };
        kinds_ok
            && self
                .id_prefix
                .as_ref()
                .is_none_or(|p| i.id.as_str().starts_with(p.as_str()))
            && self.created_from.is_none_or(|t| i.created_at >= t)
            && self.created_until.is_none_or(|t| i.created_at < t)
    }

    fn filters_here(&self) -> bool {
        self.kinds.is_some()
            || self.id_prefix.is_some()
            || self.created_from.is_some()
            || self.created_until.is_some()
    }

    /// Whether no instance after `id` can pass the id prefix (ids are listed in order).
    fn past_prefix(&self, id: &InstanceId) -> bool {
        self.id_prefix
            .as_ref()
            .is_some_and(|p| id.as_str() > p.as_str() && !id.as_str().starts_with(p.as_str()))
    }

    /// The page of at most `limit` instances after `after`.
    pub(crate) async fn page(
        &self,
        engine: &Engine,
        after: Option<InstanceId>,
        limit: NonZeroUsize,
    ) -> Result<Page, CliError> {
        if !self.filters_here() {
            let query = self.query.clone().after(after).limit(limit);
            let listing = engine.list(&query).await?;
            let next = full_page_cursor(&listing.instances, limit);
            return Ok(Page {
                instances: listing.instances,
                damaged: listing.damaged,
                next,
            });
        }
        // Reads pages of the store and keeps the instances that pass, until `limit` pass or
        // the store has no more.
        let chunk = NonZeroUsize::new(limit.get().max(200)).unwrap_or(limit);
        let mut page = Page {
            instances: Vec::new(),
            damaged: Vec::new(),
            next: None,
        };
        let mut cursor = after;
        loop {
            let query = self.query.clone().after(cursor.clone()).limit(chunk);
            let listing = engine.list(&query).await?;
            page.damaged.extend(listing.damaged);
            let read = listing.instances.len();
            for i in listing.instances {
                cursor = Some(i.id.clone());
                if self.past_prefix(&i.id) {
                    return Ok(page);
                }
                if self.admits(&i) {
                    page.instances.push(i);
                    if page.instances.len() == limit.get() {
                        page.next = cursor;
                        return Ok(page);
                    }
                }
            }
            if read < chunk.get() {
                return Ok(page);
            }
        }
    }
}

/// The cursor after a page: its last id when the page is full (there may be more).
fn full_page_cursor(instances: &[InstanceInfo], limit: NonZeroUsize) -> Option<InstanceId> {
    (instances.len() >= limit.get())
        .then(|| instances.last().map(|i| i.id.clone()))
        .flatten()
}

/// `BlockKind::name` (after the merge).
pub(crate) fn block_name(kind: BlockKind) -> &'static str {
    match kind {
        BlockKind::VersionMismatch => "version_mismatch",
        BlockKind::CorruptState => "corrupt_state",
        BlockKind::Panicked => "panicked",
        BlockKind::IterationLimit => "iteration_limit",
        BlockKind::Paused => "paused",
        BlockKind::MigrationFailed => "migration_failed",
        BlockKind::CorruptRow => "corrupt_row",
        BlockKind::PayloadTooLarge => "payload_too_large",
        _ => "blocked",
    }
}

/// `BlockKind::needs_attention` (after the merge): every kind but a pause.
pub(crate) fn needs_attention(kind: BlockKind) -> bool {
    kind != BlockKind::Paused
}

/// The engine's operator actions that are being added, under the engine's names: once the
/// engine has them, its inherent methods are the ones called and this trait goes.
pub(crate) trait Upcoming {
    /// `Engine::retry`: run the call an instance needs attention for again.
    async fn retry(&self, id: InstanceId) -> Result<(), CliError>;
    /// `Engine::fail`: let the call's error flow into the workflow.
    async fn fail(&self, id: InstanceId) -> Result<(), CliError>;
    /// `Engine::signal_json`: send a JSON payload, checked against the signal's type.
    async fn signal_json(
        &self,
        id: InstanceId,
        name: &str,
        payload: &serde_json::Value,
    ) -> Result<(), CliError>;
}

fn not_yet(what: &str) -> CliError {
    CliError::Failed(format!(
        "{what} needs a newer sayiir engine than this build has"
    ))
}

impl Upcoming for Engine {
    async fn retry(&self, _id: InstanceId) -> Result<(), CliError> {
        Err(not_yet("`retry`"))
    }

    async fn fail(&self, _id: InstanceId) -> Result<(), CliError> {
        Err(not_yet("`fail`"))
    }

    async fn signal_json(
        &self,
        _id: InstanceId,
        _name: &str,
        _payload: &serde_json::Value,
    ) -> Result<(), CliError> {
        Err(not_yet("sending a JSON signal"))
    }
}
