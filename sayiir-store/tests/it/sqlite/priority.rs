//! Claim priorities on SQLite: the plans of the claim and of the probe of head starts, and a
//! store full of prioritized sleepers.

use super::*;

/// A store without priorities claims with the query it had before them: one walk of the due
/// index in claim order, plus, in the same statement, a probe of the (empty) index of head
/// starts. The probe of the head starts (run when there are some) reads only that index.
#[tokio::test]
async fn without_priorities_the_claim_is_one_walk_of_the_due_index() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(db(&dir)).unwrap();
    let (plan, probe) = store
        .ranked_claim_plan_for_tests(vec![key()], Vec::new())
        .await
        .unwrap();
    println!("claim without head starts: {plan:#?}\nprobe of head starts: {probe:#?}");
    // One bounded walk of the namespace's part of the due index (migration 0013 leads it
    // with the namespace).
    assert!(
        plan.iter().any(|l| l
            .contains("USING INDEX sayiir_instances_due (namespace=? AND due_at>? AND due_at<?)")),
        "{plan:#?}"
    );
    assert!(
        plan.iter()
            .any(|l| l.contains("USING INDEX sayiir_instances_due")),
        "{plan:#?}"
    );
    assert!(
        !plan.iter().any(|l| l.contains("TEMP B-TREE")
            || l.contains("UNION")
            || l.starts_with("SCAN sayiir_instances")),
        "{plan:#?}"
    );
    // In the same statement, the probe: two searches of the index of head starts (above 0,
    // below 0), one row at most each.
    let probes: Vec<&String> = plan
        .iter()
        .filter(|l| l.contains("sayiir_instances_ahead"))
        .collect();
    assert_eq!(
        probes,
        [
            "SEARCH sayiir_instances USING INDEX sayiir_instances_ahead (namespace=? AND head_start_ms>?)",
            "SEARCH sayiir_instances USING INDEX sayiir_instances_ahead (namespace=? AND head_start_ms<?)"
        ],
        "{plan:#?}"
    );
    // One step per distinct head start, each the first entry of the index past the last.
    assert!(
        probe
            .iter()
            .any(|l| l
                .contains("USING INDEX sayiir_instances_ahead (namespace=? AND head_start_ms>?)")),
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
    println!("claim with three head starts: {plan:#?}");
    let due = plan
        .iter()
        .filter(|l| l.contains("USING INDEX sayiir_instances_due"))
        .count();
    let ahead = plan
        .iter()
        .filter(|l| {
            l.contains(
                "USING INDEX sayiir_instances_ahead (namespace=? AND head_start_ms=? AND due_at>? AND due_at<?)",
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
            .all(|l| l.contains("(namespace=? AND head_start_ms=? AND due_at>? AND due_at<?)")),
        "{plan:#?}"
    );
}

/// A damaged head start (not an integer) or priority (out of an `i8`) blocks its own row
/// ([`BlockKind::CorruptRow`](sayiir_store::BlockKind), naming the column) and the claim
/// returns the others, in rank order; it does not fail every claim.
#[tokio::test]
async fn damaged_priority_columns_block_their_row_only() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let store = SqliteStore::open(&path).unwrap();
    create(&store, "a").await; // priority 0, due at 100
    store
        .create(new_instance("p", 150).priority(1, 60_000))
        .await
        .unwrap();
    for (i, damage) in [
        (
            "x-head",
            "UPDATE sayiir_instances SET head_start_ms = 'early', due_at = 0 WHERE id = 'x-head'",
        ),
        (
            "y-prio",
            "UPDATE sayiir_instances SET priority = 300, head_start_ms = 5, due_at = 0 WHERE id = 'y-prio'",
        ),
    ] {
        store
            .create(new_instance(i, 100).priority(2, 120_000))
            .await
            .unwrap();
        raw(&path).execute(damage, []).unwrap();
    }
    let claimed = store.claim(claim("w", 1_000)).await.unwrap();
    let ids: Vec<&str> = claimed.iter().map(|c| c.record.id.as_str()).collect();
    assert_eq!(ids, ["p", "a"]);
    for (i, column) in [("x-head", "head_start_ms"), ("y-prio", "priority")] {
        let (kind, reason): (Option<i64>, Option<String>) = raw(&path)
            .query_row(
                "SELECT blocked_kind, blocked_reason FROM sayiir_instances WHERE id = ?1",
                [i],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            kind,
            Some(sayiir_store::BlockKind::CorruptRow.code()),
            "{i}"
        );
        let reason = reason.unwrap();
        assert!(
            reason.contains(&format!("column `{column}`")),
            "{i}: {reason}"
        );
    }
    assert_eq!(store.claim(claim("other", 2_000)).await.unwrap(), []);
}

/// More distinct head starts than one claim merges walks for: the claim reads the due
/// instances and sorts them by rank, and still takes them in rank order, due ones only.
#[tokio::test]
async fn many_distinct_head_starts_are_still_claimed_by_rank() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(db(&dir)).unwrap();
    let mut expected = Vec::new();
    for n in 0..90i64 {
        let p = i8::try_from(n % 9).unwrap() - 4;
        // 90 distinct head starts (several steps), due times spread around 50 000.
        let head = i64::from(p) * 1_000 + n;
        let due = 40_000 + (n * 7_919) % 20_000;
        let i = format!("i{n:02}");
        store
            .create(new_instance(&i, due).priority(p, head))
            .await
            .unwrap();
        if due <= 50_000 {
            expected.push((due - head, i));
        }
    }
    expected.sort();
    let expected: Vec<String> = expected.into_iter().map(|(_, i)| i).collect();
    let mut got = Vec::new();
    loop {
        let mut req = claim("w", 50_000);
        req.limit = 4;
        req.lease_until = Timestamp(1_000_000);
        let batch = store.claim(req).await.unwrap();
        if batch.is_empty() {
            break;
        }
        got.extend(batch.into_iter().map(|c| c.record.id.as_str().to_owned()));
    }
    assert_eq!(got, expected);
}
