//! Table tests of the decisions: each policy on time, after downtime, while a run is running.

#![allow(clippy::unwrap_used)]

use super::*;

const H: i64 = 3_600_000;
const DAY: i64 = 24 * H;

fn at(s: &str) -> Timestamp {
    Timestamp(s.parse::<jiff::Timestamp>().unwrap().as_millisecond())
}

fn spec(cron: &str, overlap: Overlap, catch_up: CatchUp) -> (StoredSpec, Ticks) {
    StoredSpec::new(
        cron,
        "UTC",
        overlap,
        catch_up,
        None,
        None,
        Duration::from_secs(60),
        String::new(),
    )
    .unwrap()
}

fn held(next: Timestamp) -> Held {
    Held {
        next_tick: Some(next),
        buffered: None,
        running: false,
    }
}

#[test]
fn an_on_time_tick_fires_under_every_policy() {
    let noon = at("2026-01-10T12:00:00Z");
    for catch_up in [
        CatchUp::None,
        CatchUp::Latest,
        CatchUp::All {
            within: Duration::from_secs(3600),
        },
    ] {
        let (s, t) = spec("0 12 * * *", Overlap::Skip, catch_up);
        let p = plan(&s, &t, held(noon), Timestamp(noon.0 + 30_000));
        assert_eq!(p.fire, [noon], "{catch_up:?}");
        assert_eq!(p.next_tick, Some(Timestamp(noon.0 + DAY)));
        assert_eq!(p.due_at, p.next_tick);
        assert_eq!(p.note, None);
    }
}

#[test]
fn after_downtime_each_catch_up_policy() {
    let first = at("2026-01-10T12:00:00Z");
    // Back three days and one hour later: ticks of the 10th, 11th, 12th, 13th were missed.
    let now = Timestamp(first.0 + 3 * DAY + H);
    let (s, t) = spec("0 12 * * *", Overlap::AllowAll, CatchUp::None);
    let p = plan(&s, &t, held(first), now);
    assert_eq!(p.fire, []);
    assert_eq!(p.next_tick, Some(Timestamp(first.0 + 4 * DAY)));
    assert_eq!(
        p.note.as_deref(),
        Some("missed ticks from 2026-01-10T12:00:00Z to 2026-01-13T12:00:00Z dropped")
    );

    let (s, t) = spec("0 12 * * *", Overlap::AllowAll, CatchUp::Latest);
    let p = plan(&s, &t, held(first), now);
    assert_eq!(p.fire, [Timestamp(first.0 + 3 * DAY)]);
    assert_eq!(p.next_tick, Some(Timestamp(first.0 + 4 * DAY)));
    assert_eq!(
        p.note.as_deref(),
        Some("missed ticks from 2026-01-10T12:00:00Z to 2026-01-12T12:00:00Z dropped")
    );

    let within = Duration::from_millis(u64::try_from(2 * DAY).unwrap());
    let (s, t) = spec("0 12 * * *", Overlap::AllowAll, CatchUp::All { within });
    let p = plan(&s, &t, held(first), now);
    assert_eq!(
        p.fire,
        [Timestamp(first.0 + 2 * DAY), Timestamp(first.0 + 3 * DAY)],
        "the ticks of the last two days"
    );
    assert_eq!(
        p.note.as_deref(),
        Some("missed ticks from 2026-01-10T12:00:00Z to 2026-01-11T12:00:00Z dropped")
    );
    // Under `skip`, the catch-up runs one at a time: the first, the others overlap it.
    let (s, t) = spec("0 12 * * *", Overlap::Skip, CatchUp::All { within });
    let p = plan(&s, &t, held(first), now);
    assert_eq!(p.fire, [Timestamp(first.0 + 2 * DAY)]);
    assert!(
        p.note
            .unwrap()
            .contains("1 tick(s) skipped while the previous run")
    );
}

#[test]
fn overlap_policies_while_the_previous_run_runs() {
    let noon = at("2026-01-10T12:00:00Z");
    let now = Timestamp(noon.0 + 10);
    let busy = Held {
        running: true,
        ..held(noon)
    };
    let (s, t) = spec("0 12 * * *", Overlap::Skip, CatchUp::Latest);
    let p = plan(&s, &t, busy, now);
    assert_eq!((p.fire.len(), p.buffered), (0, None));
    assert_eq!(p.due_at, Some(Timestamp(noon.0 + DAY)));
    assert!(p.note.is_some());

    let (s, t) = spec("0 12 * * *", Overlap::AllowAll, CatchUp::Latest);
    assert_eq!(plan(&s, &t, busy, now).fire, [noon]);

    let (s, t) = spec("0 12 * * *", Overlap::BufferOne, CatchUp::Latest);
    let p = plan(&s, &t, busy, now);
    assert_eq!((p.fire.len(), p.buffered), (0, Some(noon)));
    assert_eq!(p.due_at, Some(now.add(RECHECK)), "looks again soon");
    assert_eq!(p.note, None, "buffered, not dropped");
    // Still running a second later: nothing changes.
    let later = Timestamp(now.0 + 1_000);
    let still = Held {
        next_tick: p.next_tick,
        buffered: p.buffered,
        running: true,
    };
    let p2 = plan(&s, &t, still, later);
    assert_eq!((p2.fire.len(), p2.buffered), (0, Some(noon)));
    // Waited 2 minutes: looks again in 30 s; after two hours, every minute.
    let p2m = plan(&s, &t, still, Timestamp(noon.0 + 2 * 60_000));
    assert_eq!(p2m.due_at, Some(Timestamp(noon.0 + 150_000)));
    let p2h = plan(&s, &t, still, Timestamp(noon.0 + 2 * H));
    assert_eq!(p2h.due_at, Some(Timestamp(noon.0 + 2 * H + 60_000)));
    // Finished: the buffered tick starts.
    let done = Held {
        running: false,
        ..still
    };
    let p3 = plan(&s, &t, done, later);
    assert_eq!((p3.fire, p3.buffered), (vec![noon], None));
    assert_eq!(p3.due_at, Some(Timestamp(noon.0 + DAY)));
}

#[test]
fn a_long_catch_up_is_written_in_parts() {
    let first = at("2026-01-10T00:00:00Z");
    let now = Timestamp(first.0 + 3 * H);
    let within = Duration::from_secs(4 * 3600);
    let (s, t) = spec("* * * * *", Overlap::AllowAll, CatchUp::All { within });
    let p = plan(&s, &t, held(first), now);
    assert_eq!(p.fire.len(), MAX_FIRES);
    assert_eq!(p.due_at, Some(now), "the rest at once");
    assert_eq!(p.next_tick, Some(Timestamp(first.0 + 100 * 60_000)));
}

#[test]
fn no_tick_after_the_end() {
    let noon = at("2026-01-10T12:00:00Z");
    let (s, t) = StoredSpec::new(
        "0 12 * * *",
        "UTC",
        Overlap::Skip,
        CatchUp::Latest,
        None,
        Some(Timestamp(noon.0 + DAY)),
        Duration::from_secs(60),
        String::new(),
    )
    .unwrap();
    let p = plan(&s, &t, held(noon), noon);
    assert_eq!(p.next_tick, Some(Timestamp(noon.0 + DAY)));
    let p = plan(
        &s,
        &t,
        held(Timestamp(noon.0 + DAY)),
        Timestamp(noon.0 + 5 * DAY),
    );
    assert_eq!(
        p.fire,
        [Timestamp(noon.0 + DAY)],
        "the last tick, caught up"
    );
    assert_eq!((p.next_tick, p.due_at), (None, None), "ended");
}
