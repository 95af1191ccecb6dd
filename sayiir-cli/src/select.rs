//! Which instances a command looks at: a [`Filter`] as a store query, read a page at a time.

use std::num::NonZeroUsize;

use sayiir::store::{BlockKind, DamagedRow, ListQuery, Status};
use sayiir::{Engine, InstanceId, InstanceInfo};

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

/// `f` as a store query (every filter set on it: the store selects, by its indexes).
pub(crate) fn query(f: &Filter) -> ListQuery {
    let mut q = ListQuery::new();
    if let Some(w) = &f.workflow {
        q = q.workflow(w.clone());
    }
    if let Some(v) = f.version {
        q = q.version(v);
    }
    if let Some(s) = &f.state {
        q = q.state_id(s.clone());
    }
    if let Some(p) = f.id_prefix.as_ref().filter(|p| !p.is_empty()) {
        q = q.id_prefix(p.clone());
    }
    if let Some(t) = f.created_after {
        q = q.created_from(t);
    }
    if let Some(t) = f.created_before {
        q = q.created_until(t);
    }
    if let Some(t) = f.updated_after {
        q = q.updated_from(t);
    }
    if let Some(t) = f.updated_before {
        q = q.updated_until(t);
    }
    if !f.blocked.is_empty() {
        q = q
            .status(Status::Running)
            .blocked_by(f.blocked.iter().copied());
    }
    match f.status {
        None => q,
        Some(StatusFilter::Running) => q.status(Status::Running).blocked(false),
        Some(StatusFilter::Completed) => q.status(Status::Completed),
        Some(StatusFilter::Failed) => q.status(Status::Failed),
        Some(StatusFilter::Cancelled) => q.status(Status::Cancelled),
        Some(StatusFilter::Blocked) => q.status(Status::Running).blocked(true),
        Some(StatusFilter::Paused) => q.status(Status::Running).blocked_by([BlockKind::Paused]),
        Some(StatusFilter::NeedsAttention) => q.status(Status::Running).needs_attention(),
    }
}

/// The page of at most `limit` instances `filter` selects after `after`.
pub(crate) async fn page(
    engine: &Engine,
    filter: &Filter,
    after: Option<InstanceId>,
    limit: NonZeroUsize,
) -> Result<Page, CliError> {
    let listing = engine
        .list(&query(filter).after(after).limit(limit))
        .await?;
    let next = if listing.instances.len() >= limit.get() {
        listing.instances.last().map(|i| i.id.clone())
    } else {
        None
    };
    Ok(Page {
        instances: listing.instances,
        damaged: listing.damaged,
        next,
    })
}

/// Every instance `filter` selects, page by page.
pub(crate) async fn all(engine: &Engine, filter: &Filter) -> Result<Vec<InstanceInfo>, CliError> {
    let page_size = NonZeroUsize::new(500).unwrap_or(NonZeroUsize::MIN);
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = page(engine, filter, after, page_size).await?;
        all.extend(page.instances);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}
