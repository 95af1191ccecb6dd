//! Operators' listings: block kinds, needs attention, created and updated ranges, id
//! prefixes, each alone and combined with the other filters, the cursor and the limit.

use std::num::NonZeroUsize;
use std::sync::Arc;

use super::leases::block;
use super::{commit, create_with, finished, id, list_ids, new_instance, running};
use crate::{BlockKind, ListQuery, Status, Store, Timestamp};

/// One instance of the listing's store.
struct Row {
    id: &'static str,
    workflow: &'static str,
    version: u32,
    status: Status,
    block: Option<BlockKind>,
    created: i64,
    /// Its last write: its creation, its finish (500 later), or the running commit of
    /// [`RUNNING_COMMIT`].
    updated: i64,
}

/// The instance committed once more while running, and when.
const RUNNING_COMMIT: (&str, i64) = ("ord-1", 20_000);

/// The instances: ids whose byte order differs from a locale's (`B` < `a` < `{` < `é` <
/// `ê` < `z\u{10FFFF}…`; `ord-10` < `ord-2`; `ord.` and `ordx` follow `ord-` in byte order,
/// and `ord.` is what the prefix `ord-` ends before).
fn rows() -> Vec<Row> {
    use BlockKind::*;
    use Status::*;
    let table: [(&str, &str, u32, Status, Option<BlockKind>); 13] = [
        ("ord-1", "orders", 1, Running, None),
        ("ord-2", "orders", 2, Running, Some(Parked)),
        ("ord-10", "orders", 2, Completed, None),
        ("ord.x", "orders", 1, Failed, None),
        ("ordx", "mails", 1, Running, Some(Paused)),
        ("é1", "mails", 1, Running, Some(RetryRequested)),
        ("é2", "mails", 2, Cancelled, None),
        ("ê", "orders", 2, Running, Some(Panicked)),
        ("z\u{10FFFF}a", "mails", 1, Running, Some(CorruptState)),
        ("z\u{10FFFF}b", "orders", 1, Completed, None),
        ("{", "orders", 1, Running, Some(FailRequested)),
        ("B", "mails", 2, Failed, Some(Parked)),
        ("a", "orders", 1, Running, Some(VersionMismatch)),
    ];
    table
        .into_iter()
        .enumerate()
        .map(|(n, (id, workflow, version, status, block))| {
            let created = 1_000 * (i64::try_from(n).unwrap() + 1);
            let updated = if id == RUNNING_COMMIT.0 {
                RUNNING_COMMIT.1
            } else if status.is_terminal() {
                created + 500
            } else {
                created
            };
            Row {
                id,
                workflow,
                version,
                status,
                block,
                created,
                updated,
            }
        })
        .collect()
}

async fn populate<S: Store>(s: &S) {
    for r in rows() {
        let mut new = new_instance(r.id, r.workflow, 1, Some(r.created), r.created);
        new.version = r.version;
        create_with(s, new).await;
        if r.status.is_terminal() {
            let t = finished(r.id, 0, r.status, b"out", r.created + 500);
            commit(s, t).await;
        } else if r.id == RUNNING_COMMIT.0 {
            commit(s, running(r.id, 0, b"s1", None, RUNNING_COMMIT.1)).await;
        }
        if let Some(kind) = r.block {
            s.set_blocked(&id(r.id), Some(block(kind))).await.unwrap();
        }
    }
}

/// The ids of the rows for which `keep` holds, in byte order.
fn expected(keep: impl Fn(&Row) -> bool) -> Vec<String> {
    let mut ids: Vec<String> = rows()
        .iter()
        .filter(|r| keep(r))
        .map(|r| r.id.to_owned())
        .collect();
    ids.sort();
    ids
}

fn attention(r: &Row) -> bool {
    r.block.is_some_and(BlockKind::needs_attention)
}

/// The queries and what each one lists.
fn cases() -> Vec<(ListQuery, Vec<String>)> {
    use BlockKind::*;
    let q = ListQuery::new;
    let kinds = |ks: &'static [BlockKind]| move |r: &Row| r.block.is_some_and(|b| ks.contains(&b));
    let attention_kinds: Vec<BlockKind> = BlockKind::ALL
        .iter()
        .rev()
        .copied()
        .filter(|k| k.needs_attention())
        .chain([Parked, Panicked])
        .collect();
    vec![
        (q().blocked_by([Parked]), expected(kinds(&[Parked]))),
        (
            q().blocked_by([Panicked, Parked]),
            expected(kinds(&[Parked, Panicked])),
        ),
        (q().blocked_by([]), Vec::new()),
        (
            q().blocked_by([RetryRequested, FailRequested]),
            expected(kinds(&[RetryRequested, FailRequested])),
        ),
        (
            q().blocked_by(BlockKind::ALL.iter().copied()),
            expected(|r| r.block.is_some()),
        ),
        (q().needs_attention(), expected(attention)),
        // The same set, given in another order and with repetitions.
        (q().blocked_by(attention_kinds), expected(attention)),
        // All attention kinds but one.
        (
            q().blocked_by(
                BlockKind::ALL
                    .iter()
                    .copied()
                    .filter(|k| k.needs_attention() && *k != VersionMismatch),
            ),
            expected(|r| attention(r) && r.block != Some(VersionMismatch)),
        ),
        (
            q().needs_attention().status(Status::Running),
            expected(|r| attention(r) && r.status == Status::Running),
        ),
        (
            q().workflow("mails").needs_attention(),
            expected(|r| attention(r) && r.workflow == "mails"),
        ),
        (
            q().created_from(Timestamp(5_000)),
            expected(|r| r.created >= 5_000),
        ),
        (
            q().created_until(Timestamp(5_000)),
            expected(|r| r.created < 5_000),
        ),
        (
            q().created_from(Timestamp(3_000))
                .created_until(Timestamp(9_000)),
            expected(|r| (3_000..9_000).contains(&r.created)),
        ),
        (
            q().created_from(Timestamp(9_000))
                .created_until(Timestamp(9_000)),
            Vec::new(),
        ),
        (
            q().updated_from(Timestamp(10_000)),
            expected(|r| r.updated >= 10_000),
        ),
        (
            q().updated_from(Timestamp(2_500))
                .updated_until(Timestamp(12_500)),
            expected(|r| (2_500..12_500).contains(&r.updated)),
        ),
        (
            q().id_prefix("ord-"),
            expected(|r| r.id.starts_with("ord-")),
        ),
        (q().id_prefix("ord"), expected(|r| r.id.starts_with("ord"))),
        (q().id_prefix("é"), expected(|r| r.id.starts_with('é'))),
        (
            q().id_prefix("z\u{10FFFF}"),
            expected(|r| r.id.starts_with("z\u{10FFFF}")),
        ),
        (q().id_prefix(""), expected(|_| true)),
        (q().id_prefix("zz"), Vec::new()),
        (q().id_prefix("ord-10"), vec!["ord-10".to_owned()]),
        (
            q().id_prefix("ord").status(Status::Running),
            expected(|r| r.id.starts_with("ord") && r.status == Status::Running),
        ),
        (
            q().workflow("orders")
                .status(Status::Running)
                .created_from(Timestamp(2_000)),
            expected(|r| {
                r.workflow == "orders" && r.status == Status::Running && r.created >= 2_000
            }),
        ),
        (
            q().workflow("orders").version(2).status(Status::Running),
            expected(|r| r.workflow == "orders" && r.version == 2 && r.status == Status::Running),
        ),
        (
            q().workflow("orders").status(Status::Completed),
            expected(|r| r.workflow == "orders" && r.status == Status::Completed),
        ),
        (
            q().status(Status::Failed),
            expected(|r| r.status == Status::Failed),
        ),
        (
            q().blocked_by([Parked]).status(Status::Failed),
            vec!["B".to_owned()],
        ),
        (
            q().id_prefix("ord-").after(id("ord-1")),
            vec!["ord-10".to_owned(), "ord-2".to_owned()],
        ),
        (
            q().created_until(Timestamp(8_000))
                .id_prefix("o")
                .blocked(false)
                .after(id("ord-10")),
            vec!["ord.x".to_owned()],
        ),
    ]
}

pub(super) async fn list_admin_filters<S: Store>(s: Arc<S>) {
    populate(&*s).await;
    for (query, want) in cases() {
        let what = format!("{query:?}");
        assert_eq!(list_ids(&*s, query).await, want, "list {what}");
    }
}

pub(super) async fn list_admin_pages<S: Store>(s: Arc<S>) {
    populate(&*s).await;
    for (query, want) in cases() {
        for limit in [1, 2, 5] {
            let mut pages = Vec::new();
            let mut after = query.after.clone();
            loop {
                let q = query
                    .clone()
                    .after(after.clone())
                    .limit(NonZeroUsize::new(limit));
                let page = list_ids(&*s, q).await;
                assert!(page.len() <= limit);
                let Some(last) = page.last() else { break };
                after = Some(id(last));
                pages.extend(page);
                assert!(pages.len() <= want.len(), "paging {query:?} does not end");
            }
            assert_eq!(pages, want, "pages of {limit} of {query:?}, concatenated");
        }
    }
}
