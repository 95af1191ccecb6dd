//! list: filters, ordering, keyset cursor, limit.

use std::num::NonZeroUsize;
use std::sync::Arc;

use super::{commit, create_with, finished, id, list_ids, new_instance};
use crate::{BlockKind, Blocked, ListQuery, Listing, Status, Store, Timestamp};

/// Ids in an order that differs from both insertion order and a locale's collation: bytewise,
/// `B` < `a`, `a-10` < `a-9`, and `é` comes after `z`.
const IDS: [(&str, &str, Status, bool); 8] = [
    ("b-2", "orders", Status::Running, false),
    ("é-accent", "mails", Status::Running, true),
    ("a-9", "orders", Status::Completed, false),
    ("B-upper", "mails", Status::Failed, false),
    ("z", "orders", Status::Running, true),
    ("a-10", "orders", Status::Running, false),
    ("a-1", "mails", Status::Running, false),
    ("a 2", "orders", Status::Cancelled, false),
];

/// The ids of [`IDS`] in byte order.
const SORTED: [&str; 8] = [
    "B-upper",
    "a 2",
    "a-1",
    "a-10",
    "a-9",
    "b-2",
    "z",
    "é-accent",
];

async fn populate<S: Store>(s: &S) {
    for (i, workflow, status, blocked) in IDS {
        create_with(s, new_instance(i, workflow, 1, Some(100), 100)).await;
        if status.is_terminal() {
            commit(s, finished(i, 0, status, b"out", 110)).await;
        }
        if blocked {
            let b = Blocked {
                kind: BlockKind::Panicked,
                reason: "x".into(),
                at: Timestamp(120),
            };
            s.set_blocked(&id(i), Some(b)).await.unwrap();
        }
    }
}

/// The ids of [`SORTED`] whose entry in [`IDS`] satisfies `keep`.
fn expected(keep: impl Fn(&str, Status, bool) -> bool) -> Vec<String> {
    SORTED
        .iter()
        .filter(|i| {
            let (_, workflow, status, blocked) = IDS
                .iter()
                .find(|(j, ..)| j == *i)
                .copied()
                .expect("id in IDS");
            keep(workflow, status, blocked)
        })
        .map(|i| (*i).to_owned())
        .collect()
}

pub(super) async fn list_filters<S: Store>(s: Arc<S>) {
    assert!(
        s.list(&ListQuery::default()).await.unwrap() == Listing::default(),
        "list of an empty store"
    );
    populate(&*s).await;
    let all = list_ids(&*s, ListQuery::default()).await;
    assert_eq!(all, SORTED, "list orders by id, bytewise");

    let q = ListQuery::new().workflow("mails");
    assert_eq!(
        list_ids(&*s, q).await,
        expected(|w, _, _| w == "mails"),
        "workflow filter"
    );
    let q = ListQuery::new().workflow("nothing");
    assert!(
        list_ids(&*s, q).await.is_empty(),
        "filter on an unknown workflow"
    );
    for status in [
        Status::Running,
        Status::Completed,
        Status::Failed,
        Status::Cancelled,
    ] {
        let q = ListQuery::new().status(status);
        let want = expected(|_, st, _| st == status);
        assert_eq!(list_ids(&*s, q).await, want, "status filter {status}");
    }
    for blocked in [true, false] {
        let q = ListQuery::new().blocked(blocked);
        let want = expected(|_, _, b| b == blocked);
        assert_eq!(list_ids(&*s, q).await, want, "blocked filter {blocked}");
    }
    let q = ListQuery::new()
        .workflow("orders")
        .status(Status::Running)
        .blocked(false);
    let want = expected(|w, st, b| w == "orders" && st == Status::Running && !b);
    assert_eq!(list_ids(&*s, q).await, want, "combined filters");
}

pub(super) async fn list_cursor<S: Store>(s: Arc<S>) {
    populate(&*s).await;
    for limit in [1, 2, 3, 8, 100] {
        let mut pages = Vec::new();
        let mut after = None;
        loop {
            let q = ListQuery::new()
                .after(after.clone())
                .limit(NonZeroUsize::new(limit));
            let page = list_ids(&*s, q).await;
            assert!(
                page.len() <= limit,
                "page of {} with limit {limit}",
                page.len()
            );
            let Some(last) = page.last() else { break };
            after = Some(id(last));
            pages.extend(page);
            assert!(
                pages.len() <= SORTED.len(),
                "paging with limit {limit} does not end: {pages:?}"
            );
        }
        assert_eq!(pages, SORTED, "pages with limit {limit}, concatenated");
    }
    let q = ListQuery::new().limit(None);
    assert_eq!(list_ids(&*s, q).await, SORTED, "no limit");
    let q = ListQuery::new().after(id("é-accent"));
    assert!(list_ids(&*s, q).await.is_empty(), "list after the last id");
    // The cursor need not be an existing id.
    let q = ListQuery::new().after(id("a"));
    assert_eq!(list_ids(&*s, q).await, SORTED[1..], "list after `a`");
    // Cursor and filters together.
    let q = ListQuery::new()
        .workflow("orders")
        .after(id("a-10"))
        .limit(NonZeroUsize::new(2));
    assert_eq!(
        list_ids(&*s, q).await,
        ["a-9", "b-2"],
        "cursor with a filter and a limit"
    );
}
