//! The audit log: appends get increasing ids, pages come newest first and continue below a
//! cursor, every field comes back as appended.

use std::num::NonZeroUsize;
use std::sync::Arc;

use crate::{AuditEntry, AuditQuery, AuditResult, Namespace, NewAuditEntry, Store, Timestamp};

fn entry(at: i64, who: &str, action: &str, targets: &[&str], result: AuditResult) -> NewAuditEntry {
    NewAuditEntry {
        at: Timestamp(at),
        who: who.into(),
        action: action.into(),
        targets: targets.iter().map(|t| (*t).to_owned()).collect(),
        detail: None,
        result,
    }
}

fn page(before: Option<u64>, limit: usize) -> AuditQuery {
    AuditQuery {
        before,
        limit: NonZeroUsize::new(limit).unwrap(),
    }
}

/// Appended entries come back newest first, as appended, paged by id.
pub(super) async fn audit_appends_and_pages<S: Store>(s: Arc<S>) {
    assert!(s.audit(page(None, 10)).await.unwrap().is_empty());
    let mut cancel = entry(100, "alice", "cancel", &["order-1"], AuditResult::Ok);
    cancel.detail = Some("customer asked \"now\"\nreally".into());
    let failed = entry(
        200,
        "bob",
        "pause",
        &["order-2", "ordér-3"],
        AuditResult::Failed {
            kind: "finished".into(),
            message: "order-2 is finished".into(),
        },
    );
    let none = entry(300, "carol", "resume_schedule", &[], AuditResult::Ok);
    let mut ids = Vec::new();
    for e in [&cancel, &failed, &none] {
        ids.push(s.append_audit(e.clone()).await.unwrap());
    }
    assert!(
        ids[0] < ids[1] && ids[1] < ids[2],
        "increasing ids: {ids:?}"
    );

    let all = s.audit(page(None, 10)).await.unwrap();
    let expected: Vec<AuditEntry> = [(&none, ids[2]), (&failed, ids[1]), (&cancel, ids[0])]
        .into_iter()
        .map(|(e, id)| AuditEntry {
            id,
            at: e.at,
            who: e.who.clone(),
            action: e.action.clone(),
            targets: e.targets.clone(),
            detail: e.detail.clone(),
            result: e.result.clone(),
        })
        .collect();
    assert_eq!(all, expected, "newest first, every field as appended");

    let first = s.audit(page(None, 2)).await.unwrap();
    assert_eq!(
        first.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[2], ids[1]]
    );
    let second = s.audit(page(Some(ids[1]), 2)).await.unwrap();
    assert_eq!(second.iter().map(|e| e.id).collect::<Vec<_>>(), [ids[0]]);
    assert!(s.audit(page(Some(ids[0]), 2)).await.unwrap().is_empty());

    // Each namespace has its own log: another namespace's handle neither sees these entries
    // nor shows its own to this one.
    let other = s.in_namespace(&Namespace::new("audit-b").unwrap()).unwrap();
    assert!(other.audit(page(None, 10)).await.unwrap().is_empty());
    let theirs = other
        .append_audit(entry(400, "bob", "pause", &["b-1"], AuditResult::Ok))
        .await
        .unwrap();
    let seen: Vec<u64> = other
        .audit(page(None, 10))
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(seen, [theirs]);
    let mine: Vec<u64> = s
        .audit(page(None, 10))
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        mine,
        [ids[2], ids[1], ids[0]],
        "the other namespace's entry stays out"
    );
}
