//! Claim priorities on SQLite: the plans of the claim and of the probe of head starts, and a
//! store full of prioritized sleepers.

use super::*;

/// A store without priorities claims with the query it had before them: one walk of the due
/// index in claim order. The probe of head starts reads only `sayiir_instances_ahead`.
#[tokio::test]
async fn without_priorities_the_claim_is_one_walk_of_the_due_index() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(db(&dir)).unwrap();
    let (plan, probe) = store
        .ranked_claim_plan_for_tests(vec![key()], Vec::new())
        .await
        .unwrap();
    assert!(
        plan.iter()
            .any(|l| l.contains("USING INDEX sayiir_instances_due")),
        "{plan:#?}"
    );
    assert!(
        !plan.iter().any(|l| l.contains("TEMP B-TREE")
            || l.contains("sayiir_instances_ahead")
            || l.contains("UNION")
            || l.starts_with("SCAN sayiir_instances")),
        "{plan:#?}"
    );
    // One step per distinct head start, each the first entry of the index past the last.
    assert!(
        probe
            .iter()
            .any(|l| l.contains("USING INDEX sayiir_instances_ahead (head_start_ms>?)")),
        "{probe:#?}"
    );
    assert!(
        probe
            .iter()
            .filter(|l| l.contains("sayiir_instances"))
            .all(|l| l.contains("USING INDEX sayiir_instances_ahead")),
        "{probe:#?}"
    );
}

/// With head starts, each walk uses its index in its order (no sort inside a walk, no scan);
/// only each walk's first rows are sorted by rank, for the merge.
#[tokio::test]
async fn with_priorities_the_claim_walks_each_index_in_order() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(db(&dir)).unwrap();
    let (plan, _) = store
        .ranked_claim_plan_for_tests(vec![key(), key()], vec![-60_000, 60_000, 300_000])
        .await
        .unwrap();
    let due = plan
        .iter()
        .filter(|l| l.contains("USING INDEX sayiir_instances_due"))
        .count();
    let ahead = plan
        .iter()
        .filter(|l| {
            l.contains(
                "USING INDEX sayiir_instances_ahead (head_start_ms=? AND due_at>? AND due_at<?)",
            )
        })
        .count();
    assert_eq!((due, ahead), (1, 3), "{plan:#?}");
    assert!(
        !plan
            .iter()
            .any(|l| l.contains("sayiir_instances_workflow")
                || l.starts_with("SCAN sayiir_instances")),
        "{plan:#?}"
    );
    // The walks are not sorted: a sort is only of a walk's first rows (at most the limit),
    // by rank, for the merge of the union.
    for (i, line) in plan.iter().enumerate() {
        if line.contains("TEMP B-TREE") {
            assert!(
                i > 0 && plan[i - 1].starts_with("SCAN (subquery-"),
                "{plan:#?}"
            );
        }
    }
    assert!(
        plan.iter().any(|l| l.contains("MERGE (UNION ALL)")),
        "{plan:#?}"
    );
}

/// 3000 prioritized sleepers (head starts of both signs, many with a rank far before now) and
/// four due instances: a claim takes the due ones, by rank, and no sleeper.
#[tokio::test]
async fn prioritized_sleepers_are_not_claimed() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(db(&dir)).unwrap();
    let priorities = [-3i8, -1, 1, 2, 5, 100];
    let news: Vec<NewInstance> = (0..3000usize)
        .map(|n| {
            let p = priorities[n % priorities.len()];
            new_instance(&format!("sleeper-{n:04}"), 1_000_000 + n as i64)
                .priority(p, i64::from(p) * 60_000)
        })
        .collect();
    for r in store.create_batch(news).await.unwrap() {
        r.unwrap();
    }
    for (i, p, due) in [
        ("due-a", 2i8, 500),
        ("due-b", -1, 400),
        ("due-c", 0, 300),
        ("due-d", 5, 900),
    ] {
        store
            .create(new_instance(i, due).priority(p, i64::from(p) * 60_000))
            .await
            .unwrap();
    }
    let got = store
        .claim(ClaimRequest {
            owner: WorkerId("w".into()),
            now: Timestamp(1_000),
            lease_until: Timestamp(100_000),
            limit: 10,
            known: vec![key()],
        })
        .await
        .unwrap();
    let ids: Vec<&str> = got.iter().map(|c| c.record.id.as_str()).collect();
    assert_eq!(ids, ["due-d", "due-a", "due-c", "due-b"]);
    let (plan, _) = store
        .ranked_claim_plan_for_tests(vec![key()], vec![-180_000, 120_000])
        .await
        .unwrap();
    // Each walk of the index of head starts is bounded by the due time on both sides.
    assert!(
        plan.iter()
            .filter(|l| l.contains("sayiir_instances_ahead"))
            .all(|l| l.contains("(head_start_ms=? AND due_at>? AND due_at<?)")),
        "{plan:#?}"
    );
}
