//! `#[task(per_key = true)]`: a task's concurrency and rate limits split by the calling
//! instance's concurrency key, on memory, SQLite and PostgreSQL.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sayiir::{Engine, StartOptions};

use crate::common::within;

/// Per key (`""` for instances without one): attempts of `keyed` running now, most at once.
static RUNNING: Mutex<BTreeMap<String, (usize, usize)>> = Mutex::new(BTreeMap::new());
/// Attempts of `keyed` running now over all keys, and the most at once.
static OVERALL: Mutex<(usize, usize)> = Mutex::new((0, 0));

#[sayiir::task(concurrency = 1, per_key = true)]
async fn keyed(key: String) -> String {
    {
        let mut running = RUNNING.lock().unwrap();
        let e = running.entry(key.clone()).or_default();
        e.0 += 1;
        e.1 = e.1.max(e.0);
        let mut all = OVERALL.lock().unwrap();
        all.0 += 1;
        all.1 = all.1.max(all.0);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    RUNNING.lock().unwrap().get_mut(&key).unwrap().0 -= 1;
    OVERALL.lock().unwrap().0 -= 1;
    key
}

#[sayiir::task(rate = "20/s", per_key = true)]
async fn keyed_tick(key: String) -> String {
    format!("{key}!")
}

#[sayiir::workflow]
async fn per_customer(key: String) -> String {
    let key = keyed(key).await;
    keyed_tick(key).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_key_limits_split_by_the_instance_key() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("per_key", dir.path()).await {
        RUNNING.lock().unwrap().clear();
        *OVERALL.lock().unwrap() = (0, 0);
        let engine = Engine::builder_shared(Arc::clone(&store))
            .register::<per_customer>()
            .build()
            .unwrap();
        let mut ids = HashMap::new();
        for i in 0..3 {
            for key in ["a", "b"] {
                // The key's own admission limit lets all of them run: the task's limit alone
                // keeps each key's attempts one at a time.
                let options = StartOptions::new().concurrency_key(key).key_limit(10);
                let id = format!("{key}{i}");
                engine
                    .start_with::<per_customer>(&id, key.to_owned(), options)
                    .await
                    .unwrap();
                ids.insert(id, format!("{key}!"));
            }
            let id = format!("none{i}");
            engine
                .start::<per_customer>(&id, String::new())
                .await
                .unwrap();
            ids.insert(id, "!".to_owned());
        }
        let worker = engine.spawn_worker();
        for (id, want) in &ids {
            let out = within(
                &format!("{backend}: {id}"),
                engine.result::<per_customer>(id.as_str()),
            )
            .await
            .unwrap();
            assert_eq!(&out, want, "{backend}: {id}");
        }
        worker.shutdown().await.unwrap();
        let most: BTreeMap<String, usize> = RUNNING
            .lock()
            .unwrap()
            .iter()
            .map(|(k, (_, most))| (k.clone(), *most))
            .collect();
        let overall = OVERALL.lock().unwrap().1;
        eprintln!(
            "flow_control: {backend}: per_key: most at once by key {most:?}, overall {overall}"
        );
        assert_eq!(
            most.values().copied().collect::<Vec<_>>(),
            [1, 1, 1],
            "{backend}: one attempt at a time per key: {most:?}"
        );
        assert!(overall >= 2, "{backend}: keys ran side by side: {overall}");
        let limits: Vec<String> = engine
            .limits()
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.key)
            .filter(|k| k.starts_with("task:"))
            .collect();
        assert_eq!(
            limits,
            ["task:keyed", "task:keyed/key:a", "task:keyed/key:b"],
            "{backend}"
        );
        let rates: Vec<String> = engine
            .rate_limits()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.key)
            .collect();
        assert_eq!(
            rates,
            [
                "task:keyed_tick",
                "task:keyed_tick/key:a",
                "task:keyed_tick/key:b"
            ],
            "{backend}"
        );
    }
}
