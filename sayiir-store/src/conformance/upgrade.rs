//! What a backend's schema upgrade must leave behind: rows written before versions existed
//! read back as version 1 with the unknown fingerprint, and work with every versioned call;
//! leases taken before lease generations existed keep working until they expire.

use super::{
    claim_ids, claim_of, claim_req, commit, fingerprint, hash, id, key_fp, lease, load, running,
    worker,
};
use crate::{
    DefinitionRecord, DefinitionRef, Event, Fingerprint, ListQuery, Restart, Status, Store,
    Timestamp, WorkflowKey,
};

/// Checks a store opened on a database written before versions existed (SQLite schema 3,
/// PostgreSQL migration 2), whose backend test seeded, with that old schema:
///
/// - `old`: workflow `wf`, definition hash `[1; 32]`, running at `seq` 0, due at 100, leased
///   by `gone` until 150, history entry 0;
/// - `done`: the same workflow and hash, completed at `seq` 1, history entries 0 and 1.
///
/// Panics on a difference. Leaves `done` restarted as version 2 and one definition saved,
/// which it returns, so the caller can check that opening the database again keeps both.
pub async fn after_upgrade_from_unversioned<S: Store>(store: &S) -> DefinitionRecord {
    for i in ["old", "done"] {
        let head = load(store, i).await;
        assert_eq!(
            (head.version, head.fingerprint, head.state_id.as_deref()),
            (1, Fingerprint::UNKNOWN, None),
            "`{i}` after the upgrade"
        );
        assert_eq!(store.load_input(&id(i)).await.unwrap(), None, "`{i}` input");
    }
    let listed = store
        .list(&ListQuery::new().version(1))
        .await
        .unwrap()
        .instances;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let counts = store.version_counts().await.unwrap();
    assert_eq!(
        counts
            .iter()
            .map(|c| (c.version, c.fingerprint, c.status, c.count))
            .collect::<Vec<_>>(),
        [
            (1, Fingerprint::UNKNOWN, Status::Running, 1),
            (1, Fingerprint::UNKNOWN, Status::Completed, 1)
        ]
    );

    // Stored before fingerprints: a version mismatch for a binary that knows the real one,
    // claimable only by a key with the unknown fingerprint.
    let real = key_fp("wf", 1, 2);
    let found = store
        .find_version_mismatches(&["wf".to_owned()], std::slice::from_ref(&real))
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["old"]
    );
    let by_real = claim_req("w", 200, 9000, 10, std::slice::from_ref(&real));
    assert_eq!(claim_ids(store, by_real).await, Vec::<String>::new());
    let unknown = WorkflowKey {
        fingerprint: Fingerprint::UNKNOWN,
        ..real.clone()
    };
    let by_unknown = claim_req("w", 200, 9000, 10, &[unknown]);
    let claimed = store.claim(by_unknown).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|c| (c.record.id.as_str(), c.generation))
            .collect::<Vec<_>>(),
        [("old", 1)],
        "the first claim of a row stored before lease generations"
    );

    // Migrated in place to the real definition: claimable by it from then on.
    let mut t = running("old", 0, b"s1", Some(100), 300);
    t.release_lease = Some(lease("w", 1));
    t.redefine = Some(DefinitionRef {
        version: 1,
        hash: hash(1),
        fingerprint: fingerprint(2),
    });
    commit(store, t).await;
    let head = load(store, "old").await;
    assert_eq!(
        (head.fingerprint, head.state_id.as_deref()),
        (fingerprint(2), Some("step#1"))
    );
    let by_real = claim_req("w", 300, 9000, 10, &[real]);
    assert_eq!(claim_ids(store, by_real).await, ["old"]);

    // The finished one restarts; the definitions table exists.
    let to = DefinitionRef {
        version: 2,
        hash: hash(3),
        fingerprint: fingerprint(4),
    };
    store
        .restart(Restart {
            id: id("done"),
            expected_seq: 1,
            definition: to,
            input: b"in".to_vec(),
            state: b"st".to_vec(),
            state_id: "start".into(),
            due_at: Some(Timestamp(400)),
            event: Event {
                kind: "restarted".into(),
                payload: Vec::new(),
            },
            now: Timestamp(400),
            trace_context: None,
        })
        .await
        .unwrap();
    assert_eq!(
        store.load_input(&id("done")).await.unwrap(),
        Some(b"in".to_vec())
    );
    let history = store.history(&id("done"), None, None).await.unwrap();
    assert_eq!(history.iter().map(|h| h.seq).collect::<Vec<_>>(), [0, 1, 2]);
    let def = DefinitionRecord {
        workflow: "wf".into(),
        version: to.version,
        hash: to.hash,
        fingerprint: to.fingerprint,
        shape: b"shape".to_vec(),
        created_at: Timestamp(400),
    };
    store.save_definitions(vec![def.clone()]).await.unwrap();
    assert_eq!(
        store.definitions(None).await.unwrap(),
        std::slice::from_ref(&def)
    );
    def
}

/// Checks a store opened on a database written before lease generations existed (SQLite
/// schema 4, PostgreSQL migration 3), whose backend test seeded, with that old schema, two
/// running instances of workflow `wf`, definition hash `[1; 32]`, fingerprint `[2; 32]`, at
/// `seq` 0 and due at 100, with history entry 0:
///
/// - `held`: leased by `gone` until 150;
/// - `free`: not leased.
///
/// A lease taken before the upgrade has generation 0 and is honoured until it expires; the
/// first claim of each instance after it gets generation 1. Panics on a difference.
pub async fn after_upgrade_to_lease_generations<S: Store>(store: &S) {
    let known = [key_fp("wf", 1, 2)];
    let claimed = |c: Vec<crate::Claimed>| {
        c.into_iter()
            .map(|c| (c.record.id.as_str().to_owned(), c.generation))
            .collect::<Vec<_>>()
    };
    let early = store
        .claim(claim_req("w", 149, 1000, 10, &known))
        .await
        .unwrap();
    assert_eq!(
        claimed(early),
        [("free".to_owned(), 1)],
        "a lease taken before the upgrade is honoured until it expires"
    );
    let lost = store
        .renew(&worker("gone"), &[claim_of("held", 0)], Timestamp(160))
        .await
        .unwrap();
    assert!(
        lost.is_empty(),
        "a lease taken before the upgrade has generation 0: {lost:?}"
    );
    let late = store
        .claim(claim_req("w", 160, 1000, 10, &known))
        .await
        .unwrap();
    assert_eq!(claimed(late), [("held".to_owned(), 1)]);
    let lost = store
        .renew(&worker("gone"), &[claim_of("held", 0)], Timestamp(2000))
        .await
        .unwrap();
    assert_eq!(lost, [claim_of("held", 0)], "taken over by `w`");
    let mut park = running("held", 0, b"s1", Some(100), 170);
    park.release_lease = Some(lease("w", 1));
    commit(store, park).await;
    let again = store
        .claim(claim_req("w", 180, 1000, 10, &known))
        .await
        .unwrap();
    assert_eq!(claimed(again), [("held".to_owned(), 2)]);
}
