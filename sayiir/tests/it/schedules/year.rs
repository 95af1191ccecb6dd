//! A year of a daily schedule in virtual time, on every store: exactly one run per day, each
//! at its tick, all completed.

use std::time::Instant;

use sayiir::schedule::ScheduleSpec;
use sayiir::testing::TestEngine;

use super::{DAY, at, report, runs, utc};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_of_a_daily_schedule_runs_each_day_once() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("sched_year", dir.path()).await {
        let start = at("2026-01-01T00:00:00Z");
        let t = TestEngine::builder_shared(store)
            .start_at(start)
            .register::<report>()
            .build()
            .unwrap();
        let info = t
            .schedule::<report>("daily", ScheduleSpec::new("0 9 * * *", "daily".into()))
            .await
            .unwrap();
        assert_eq!(info.next_fires.len(), 5);
        let real = Instant::now();
        t.advance(365 * DAY).await;
        let got = runs(&t, "daily").await;
        let expected: Vec<String> = (0..365)
            .map(|d| utc(at("2026-01-01T09:00:00Z") + d * DAY))
            .collect();
        assert_eq!(
            got.iter().map(|(tick, _)| tick.clone()).collect::<Vec<_>>(),
            expected,
            "{backend}: one run per day at 09:00"
        );
        assert!(
            got.iter().all(|(_, done)| *done),
            "{backend}: every run completed"
        );
        let info = t.describe_schedule("daily").await.unwrap();
        assert_eq!(
            info.last_instance.unwrap().as_str(),
            "daily@2026-12-31T09:00:00Z"
        );
        assert_eq!(info.note, None, "{backend}: no tick missed or skipped");
        println!(
            "{backend}: 365 daily runs in {:?} of real time",
            real.elapsed()
        );
        t.shutdown().await.unwrap();
    }
}
