//! The catch-up policies after downtime (a second engine starting later on the same store)
//! and the overlap policies with runs longer than the interval, in virtual time.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sayiir::schedule::{CatchUp, Overlap, ScheduleSpec};
use sayiir::store::Store;
use sayiir::testing::TestEngine;
use sayiir::{Engine, ListQuery};

use super::{HOUR, at, report, ticks};

/// A run that takes 70 minutes (of virtual time).
#[sayiir::workflow]
async fn long_report(what: String) -> String {
    sayiir::sleep(Duration::from_secs(70 * 60)).await;
    super::stamp(what).await
}

/// An hourly schedule from 00:30 runs three ticks; the engine stops for six hours (ticks
/// 04:00 to 09:00 missed); a new engine starts at 09:30 on the same store. Returns the ticks
/// run by 10:30 and the note left by the catch-up.
async fn after_downtime(
    store: Arc<dyn Store>,
    id: &str,
    overlap: Overlap,
    catch_up: CatchUp,
) -> (Vec<String>, Option<String>) {
    let first = TestEngine::builder_shared(store.clone())
        .start_at(at("2026-01-01T00:30:00Z"))
        .register::<report>()
        .build()
        .unwrap();
    let spec = ScheduleSpec::new("0 * * * *", id.to_owned())
        .overlap(overlap)
        .catch_up(catch_up);
    first.schedule::<report>(id, spec).await.unwrap();
    first.advance(3 * HOUR).await;
    assert_eq!(
        ticks(&first, id).await,
        [
            "2026-01-01T01:00:00Z",
            "2026-01-01T02:00:00Z",
            "2026-01-01T03:00:00Z"
        ]
    );
    first.shutdown().await.unwrap();
    let second = TestEngine::builder_shared(store)
        .start_at(at("2026-01-01T09:30:00Z"))
        .register::<report>()
        .build()
        .unwrap();
    second.settle().await;
    let note = second.describe_schedule(id).await.unwrap().note;
    second.advance(HOUR).await;
    let got = ticks(&second, id).await;
    second.shutdown().await.unwrap();
    (got, note)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_policies_after_downtime() {
    let dir = tempfile::tempdir().unwrap();
    let before = [
        "2026-01-01T01:00:00Z",
        "2026-01-01T02:00:00Z",
        "2026-01-01T03:00:00Z",
    ];
    let with = |more: &[&str]| -> Vec<String> {
        before.iter().chain(more).map(|s| (*s).to_owned()).collect()
    };
    for (backend, store) in crate::common::stores::all("sched_catchup", dir.path()).await {
        let (got, note) = after_downtime(store.clone(), "none", Overlap::Skip, CatchUp::None).await;
        assert_eq!(got, with(&["2026-01-01T10:00:00Z"]), "{backend}: none");
        assert_eq!(
            note.as_deref(),
            Some("missed ticks from 2026-01-01T04:00:00Z to 2026-01-01T09:00:00Z dropped"),
            "{backend}"
        );

        let (got, note) =
            after_downtime(store.clone(), "latest", Overlap::Skip, CatchUp::Latest).await;
        assert_eq!(
            got,
            with(&["2026-01-01T09:00:00Z", "2026-01-01T10:00:00Z"]),
            "{backend}: latest"
        );
        assert_eq!(
            note.as_deref(),
            Some("missed ticks from 2026-01-01T04:00:00Z to 2026-01-01T08:00:00Z dropped")
        );

        let within = CatchUp::All { within: 3 * HOUR };
        let (got, note) = after_downtime(store.clone(), "all", Overlap::AllowAll, within).await;
        assert_eq!(
            got,
            with(&[
                "2026-01-01T07:00:00Z",
                "2026-01-01T08:00:00Z",
                "2026-01-01T09:00:00Z",
                "2026-01-01T10:00:00Z"
            ]),
            "{backend}: all within 3h"
        );
        assert_eq!(
            note.as_deref(),
            Some("missed ticks from 2026-01-01T04:00:00Z to 2026-01-01T06:00:00Z dropped")
        );
    }
}

/// The runs of schedule `id`, with when each was created and last updated (its end, once
/// finished).
async fn spans(engine: &Engine, id: &str) -> Vec<(String, i64, i64, bool)> {
    engine
        .list(&ListQuery::new().id_prefix(format!("{id}@")))
        .await
        .unwrap()
        .instances
        .iter()
        .map(|i| {
            (
                i.id.as_str().split_once('@').unwrap().1.to_owned(),
                i.created_at.0,
                i.updated_at.0,
                i.status == sayiir::InstanceStatus::Completed,
            )
        })
        .collect()
}

fn ms(t: SystemTime) -> i64 {
    i64::try_from(
        t.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// Hourly ticks, runs of 70 minutes, four hours: `skip` drops the ticks that come while a run
/// runs, `allow_all` runs them beside it, `buffer_one` starts them when it ends, never two at
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlap_policies_with_runs_longer_than_the_interval() {
    let run = |overlap: Overlap, id: &'static str| async move {
        let t = TestEngine::builder()
            .start_at(at("2026-01-01T00:30:00Z"))
            .register::<long_report>()
            .build()
            .unwrap();
        let spec = ScheduleSpec::new("0 * * * *", id.to_owned()).overlap(overlap);
        t.schedule::<long_report>(id, spec).await.unwrap();
        t.advance(4 * HOUR).await;
        let got = spans(&t, id).await;
        t.shutdown().await.unwrap();
        got
    };
    let ticks_of =
        |s: &[(String, i64, i64, bool)]| -> Vec<String> { s.iter().map(|r| r.0.clone()).collect() };

    let skip = run(Overlap::Skip, "skip").await;
    assert_eq!(
        ticks_of(&skip),
        ["2026-01-01T01:00:00Z", "2026-01-01T03:00:00Z"]
    );
    let all = run(Overlap::AllowAll, "all").await;
    assert_eq!(
        ticks_of(&all),
        [
            "2026-01-01T01:00:00Z",
            "2026-01-01T02:00:00Z",
            "2026-01-01T03:00:00Z",
            "2026-01-01T04:00:00Z"
        ]
    );
    // Runs overlap: the 02:00 run starts before the 01:00 run ends.
    assert!(all[1].1 < all[0].2);

    // 02:00 waits for the 01:00 run (until 02:10), 03:00 for that one (until 03:20), 04:00
    // for that one (until 04:30): each starts the moment the run before it ends.
    let buffer = run(Overlap::BufferOne, "buffer").await;
    assert_eq!(
        ticks_of(&buffer),
        [
            "2026-01-01T01:00:00Z",
            "2026-01-01T02:00:00Z",
            "2026-01-01T03:00:00Z",
            "2026-01-01T04:00:00Z"
        ],
        "{buffer:?}"
    );
    assert_eq!(buffer[0].1, ms(at("2026-01-01T01:00:00Z")), "on time");
    for pair in buffer.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        assert!(prev.3, "{prev:?} finished");
        assert_eq!(next.1, prev.2, "{next:?} started when {prev:?} ended");
    }
    println!("buffer_one runs (tick, created, updated, completed): {buffer:?}");
}
