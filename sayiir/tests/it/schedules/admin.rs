//! The operator's API on every store: the listing with the next five fire times, idempotent
//! creation, typed errors for bad input (nothing stored), pause, resume, update, backfill
//! (never a tick twice), delete (the runs are kept).

use std::time::Duration;

use sayiir::EngineError;
use sayiir::schedule::{ScheduleError, ScheduleSpec, ScheduleState};
use sayiir::testing::TestEngine;

use super::{DAY, at, report, slow_report, ticks};

fn schedule_error(r: Result<impl std::fmt::Debug, EngineError>) -> ScheduleError {
    match r {
        Err(EngineError::Schedule(e)) => e,
        other => panic!("expected a schedule error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_pause_resume_update_backfill_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("sched_admin", dir.path()).await {
        // Monday 5 January 2026, midnight UTC.
        let t = TestEngine::builder_shared(store)
            .start_at(at("2026-01-05T00:00:00Z"))
            .register::<report>()
            .register::<slow_report>()
            .build()
            .unwrap();
        let spec =
            || ScheduleSpec::new("0 9 * * MON-FRI", "weekday".to_owned()).time_zone("Europe/Paris");
        let info = t.schedule::<report>("weekday", spec()).await.unwrap();
        assert_eq!(info.state, ScheduleState::Active);
        assert_eq!(
            info.next_fires_local,
            [
                "2026-01-05T09:00:00+01:00",
                "2026-01-06T09:00:00+01:00",
                "2026-01-07T09:00:00+01:00",
                "2026-01-08T09:00:00+01:00",
                "2026-01-09T09:00:00+01:00",
            ],
            "{backend}"
        );
        assert_eq!(info.cron, "0 9 * * MON-FRI");
        assert_eq!(info.catch_up, "latest");
        assert_eq!(
            info.next_fires[0],
            sayiir::store::Timestamp::from_system(at("2026-01-05T08:00:00Z"))
        );
        // The listing as JSON (what the CLI and a server print).
        let json = serde_json::to_value(t.schedules().await.unwrap()).unwrap();
        assert_eq!(json[0]["id"], "weekday");
        assert_eq!(json[0]["state"], "active");
        assert_eq!(json[0]["overlap"], "skip");

        // Idempotent with the same spec; anything else is refused and changes nothing.
        assert_eq!(
            t.schedule::<report>("weekday", spec())
                .await
                .unwrap()
                .revision,
            info.revision
        );
        let other = ScheduleSpec::new("0 10 * * *", "weekday".to_owned());
        assert_eq!(
            schedule_error(t.schedule::<report>("weekday", other).await),
            ScheduleError::Exists {
                id: "weekday".into()
            }
        );
        let bad_cron = ScheduleSpec::new("0 25 * * *", String::new());
        assert!(matches!(
            schedule_error(t.schedule::<report>("bad", bad_cron).await),
            ScheduleError::InvalidCron { .. }
        ));
        let bad_zone = ScheduleSpec::new("0 9 * * *", String::new()).time_zone("Europe/Pariss");
        let e = schedule_error(t.schedule::<report>("bad", bad_zone).await);
        assert_eq!(
            e.to_string(),
            "unknown time zone `Europe/Pariss`: give an IANA name such as `Europe/Paris` or `UTC`"
        );
        assert!(matches!(
            schedule_error(
                t.schedule::<report>("bad\nid", ScheduleSpec::new("* * * * *", String::new()))
                    .await
            ),
            ScheduleError::InvalidId { .. }
        ));
        let backwards = ScheduleSpec::new("* * * * *", String::new())
            .start_at(at("2026-02-01T00:00:00Z"))
            .end_at(at("2026-01-01T00:00:00Z"));
        assert_eq!(
            schedule_error(t.schedule::<report>("bad", backwards).await),
            ScheduleError::StartAfterEnd
        );
        assert_eq!(t.schedules().await.unwrap().len(), 1, "nothing stored");
        assert_eq!(
            schedule_error(t.describe_schedule("nope").await),
            ScheduleError::NotFound { id: "nope".into() }
        );
        assert!(matches!(
            schedule_error(t.pause_schedule("nope").await),
            ScheduleError::NotFound { .. }
        ));
        assert!(matches!(
            schedule_error(
                t.update_schedule::<slow_report>(
                    "weekday",
                    ScheduleSpec::new("* * * * *", String::new())
                )
                .await
            ),
            ScheduleError::WrongWorkflow { .. }
        ));

        // Monday's tick runs; then paused over Tuesday.
        t.advance(Duration::from_secs(10 * 3600)).await;
        assert_eq!(ticks(&t, "weekday").await, ["2026-01-05T08:00:00Z"]);
        let paused = t.pause_schedule("weekday").await.unwrap();
        assert_eq!(paused.state, ScheduleState::Paused);
        assert!(paused.next_fires.is_empty());
        t.advance(DAY).await; // Tuesday 10:00 UTC
        assert_eq!(ticks(&t, "weekday").await, ["2026-01-05T08:00:00Z"]);
        let resumed = t.resume_schedule("weekday").await.unwrap();
        assert_eq!(resumed.state, ScheduleState::Active);
        assert_eq!(
            resumed.next_fires_local[0], "2026-01-07T09:00:00+01:00",
            "Tuesday's tick passed while paused: not run"
        );
        t.advance(DAY).await; // Wednesday 10:00 UTC
        assert_eq!(
            ticks(&t, "weekday").await,
            ["2026-01-05T08:00:00Z", "2026-01-07T08:00:00Z"]
        );

        // Backfill Monday to Wednesday: only Tuesday had no run.
        let done = t
            .backfill(
                "weekday",
                at("2026-01-05T00:00:00Z"),
                at("2026-01-07T08:00:00Z"),
            )
            .await
            .unwrap();
        let ids = |v: &[sayiir::InstanceId]| v.iter().map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(&done.started), ["weekday@2026-01-06T08:00:00Z"]);
        assert_eq!(
            ids(&done.existing),
            [
                "weekday@2026-01-05T08:00:00Z",
                "weekday@2026-01-07T08:00:00Z"
            ]
        );
        let again = t
            .backfill(
                "weekday",
                at("2026-01-05T00:00:00Z"),
                at("2026-01-07T08:00:00Z"),
            )
            .await
            .unwrap();
        assert!(
            again.started.is_empty(),
            "a backfill never runs a tick twice"
        );
        assert_eq!(again.existing.len(), 3);
        t.settle().await;
        assert_eq!(
            t.try_result::<report>("weekday@2026-01-06T08:00:00Z")
                .await
                .unwrap()
                .as_deref(),
            Some("report weekday")
        );
        assert!(matches!(
            schedule_error(
                t.backfill(
                    "weekday",
                    at("2026-01-07T00:00:00Z"),
                    at("2026-01-05T00:00:00Z")
                )
                .await
            ),
            ScheduleError::Backfill { .. }
        ));

        // Update: another time, zone and input, from the next tick on.
        let updated = t
            .update_schedule::<report>(
                "weekday",
                ScheduleSpec::new("0 0 10 * * *", "updated".to_owned()),
            )
            .await
            .unwrap();
        assert_eq!(updated.time_zone, "UTC");
        assert_eq!(updated.next_fires_local[0], "2026-01-07T10:00:00+00:00");
        t.advance(DAY).await; // Thursday 10:00 UTC
        assert_eq!(
            t.try_result::<report>("weekday@2026-01-07T10:00:00Z")
                .await
                .unwrap()
                .as_deref(),
            Some("report updated")
        );

        t.delete_schedule("weekday").await.unwrap();
        assert!(t.schedules().await.unwrap().is_empty());
        assert!(matches!(
            schedule_error(t.delete_schedule("weekday").await),
            ScheduleError::NotFound { .. }
        ));
        assert_eq!(ticks(&t, "weekday").await.len(), 5, "{backend}: runs kept");
        t.shutdown().await.unwrap();
    }
}
