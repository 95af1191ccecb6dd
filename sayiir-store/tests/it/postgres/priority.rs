//! Claim priorities on PostgreSQL: the claim's plan with many prioritized sleepers (they are
//! never read), and two stores claiming prioritized instances at once.

use std::collections::HashSet;
use std::sync::Arc;

use sayiir_store::pg_harness::fresh_database;
use sayiir_store::{ClaimRequest, NewInstance, PgOptions, PgStore, Store, Timestamp, WorkerId};

use super::{claim, key, new_instance, raw};

fn prioritized(i: &str, p: i8, due: i64) -> NewInstance {
    new_instance(i, Some(due)).priority(p, i64::from(p) * 60_000)
}

/// The number in "rows=N" of the actual figures of a plan line ("actual time=… rows=N …").
fn actual_rows(line: &str) -> Option<u64> {
    let actual = &line[line.find("actual ")?..];
    let rows = &actual[actual.find("rows=")? + 5..];
    rows.split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// 3000 sleepers with head starts of both signs (many of them with a rank far before now) and
/// 3000 without; four due instances. The claim reads the due ones only: the walks of
/// `sayiir_instances_ahead` start at `(h, -inf)` and stop at `(h, now)`.
#[tokio::test]
async fn prioritized_sleepers_are_not_read_by_claims() {
    let Some(db) = fresh_database("pg priority sleepers").await else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    let priorities = [-3i8, -1, 1, 2, 5, 100];
    let mut news = Vec::new();
    for n in 0..3000usize {
        let p = priorities[n % priorities.len()];
        // Due from 1000 s on: with a head start of 100 minutes, ranks from -5000 s.
        news.push(prioritized(
            &format!("sleeper-p-{n:04}"),
            p,
            1_000_000 + n as i64,
        ));
        news.push(new_instance(
            &format!("sleeper-0-{n:04}"),
            Some(2_000_000 + n as i64),
        ));
    }
    for chunk in news.chunks(500) {
        for r in store.create_batch(chunk.to_vec()).await.unwrap() {
            r.unwrap();
        }
    }
    for (i, p, due) in [
        ("due-a", 2, 500),
        ("due-b", -1, 400),
        ("due-c", 0, 300),
        ("due-d", 5, 900),
    ] {
        store.create(prioritized(i, p, due)).await.unwrap();
    }
    sqlx::query("ANALYZE sayiir_instances")
        .execute(&mut raw(&db).await)
        .await
        .unwrap();
    // The plan of a real claim (limit 2, a lease over at once) at 1000.
    let req = ClaimRequest {
        owner: WorkerId("explain".into()),
        now: Timestamp(1_000),
        lease_until: Timestamp(1_000),
        limit: 2,
        known: vec![key()],
    };
    let plan = store.claim_plan_for_tests(&req).await.unwrap();
    let text = plan.join("\n");
    println!("{text}");
    assert!(!text.contains("Seq Scan"), "{text}");
    assert!(text.contains("sayiir_instances_ahead"), "{text}");
    assert!(text.contains("sayiir_instances_due"), "{text}");
    for line in &plan {
        if line.contains("Rows Removed by Filter") {
            let removed: u64 = line.rsplit(' ').next().unwrap().trim().parse().unwrap();
            assert!(removed <= 4, "{line}\n{text}");
        }
        if line.contains("Index") && line.contains("sayiir_instances_") {
            let rows = actual_rows(line).unwrap_or(0);
            assert!(
                rows <= 4,
                "an index walk returned {rows} rows: {line}\n{text}"
            );
        }
    }
    // And the claim itself: by rank, due-d (900 - 300 000), due-a (500 - 120 000), due-c
    // (300), due-b (400 + 60 000); no sleeper.
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
}

/// Two stores claiming prioritized instances at once never claim one twice and, between
/// them, claim them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_claiming_prioritized_instances_never_claim_twice() {
    let Some(db) = fresh_database("pg priority two stores").await else {
        return;
    };
    const INSTANCES: usize = 150;
    let options = PgOptions::default().max_connections(4);
    let a = Arc::new(
        PgStore::connect_with(db.url(), options.clone())
            .await
            .unwrap(),
    );
    let b = Arc::new(PgStore::connect_with(db.url(), options).await.unwrap());
    for n in 0..INSTANCES {
        let p = i8::try_from(n % 5).unwrap() - 2;
        a.create(prioritized(&format!("job-{n:03}"), p, 100 + (n % 7) as i64))
            .await
            .unwrap();
    }
    let run = |store: Arc<PgStore>, owner: &'static str| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = store
                    .claim(claim(owner, 1_000, 1_000_000, 7))
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return got;
                }
                got.extend(batch.into_iter().map(|c| c.record.id.as_str().to_owned()));
            }
        })
    };
    let (ga, gb) = (run(a.clone(), "a"), run(b.clone(), "b"));
    let (ga, gb) = (ga.await.unwrap(), gb.await.unwrap());
    let mut all: Vec<String> = ga.iter().chain(&gb).cloned().collect();
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(
        distinct.len(),
        all.len(),
        "claimed twice: a {ga:?} b {gb:?}"
    );
    all.sort();
    assert_eq!(all.len(), INSTANCES, "a {} b {}", ga.len(), gb.len());
}

/// A store without priorities: the claim is the due index's walk of before, plus one probe of
/// the empty index of head starts (which finds nothing; the walks per head start never run).
#[tokio::test]
async fn without_priorities_the_claim_probes_an_empty_index_once() {
    let Some(db) = fresh_database("pg priority none").await else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    let news: Vec<NewInstance> = (0..2000usize)
        .map(|n| {
            new_instance(
                &format!("i-{n:04}"),
                Some(if n % 10 == 0 { 500 } else { 1_000_000 }),
            )
        })
        .collect();
    for chunk in news.chunks(500) {
        for r in store.create_batch(chunk.to_vec()).await.unwrap() {
            r.unwrap();
        }
    }
    sqlx::query("ANALYZE sayiir_instances")
        .execute(&mut raw(&db).await)
        .await
        .unwrap();
    let req = ClaimRequest {
        owner: WorkerId("explain".into()),
        now: Timestamp(1_000),
        lease_until: Timestamp(1_000),
        limit: 5,
        known: vec![key()],
    };
    let plan = store.claim_plan_for_tests(&req).await.unwrap();
    let text = plan.join("\n");
    println!("{text}");
    assert!(!text.contains("Seq Scan"), "{text}");
    let due_walks: Vec<&String> = plan
        .iter()
        .filter(|l| l.contains("Index Scan using sayiir_instances_due"))
        .collect();
    assert_eq!(due_walks.len(), 1, "{text}");
    assert_eq!(actual_rows(due_walks[0]), Some(5), "{text}");
    for line in plan.iter().filter(|l| l.contains("sayiir_instances_ahead")) {
        assert!(
            line.contains("(never executed)") || actual_rows(line) == Some(0),
            "the index of head starts is empty: {line}\n{text}"
        );
    }
}
