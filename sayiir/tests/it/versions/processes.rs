//! The three ways instances of an old version finish, with real processes, on SQLite and on
//! PostgreSQL. Worker processes (this test binary, re-run with the ignored `versions_worker`
//! test selected, configured through environment variables) serve the versions of `checkout`
//! a deployment would; the test process signals and reads through engines that run no worker
//! (and creates the instances parked at `start` while no worker runs).
//!
//! In each phase a process serving version 1 (and 2) parks instances in every state of
//! `checkout` and is SIGKILLed while some of them are inside tasks (`process_kit::park`); then:
//! - drain: a process serving versions 1 and 2 runs the old instances on version 1 and the
//!   new starts it makes on version 2;
//! - complete in place: processes serving version 3 with migrations from 1 and 2 take them
//!   over, SIGKILLed at random moments and restarted, until all are done; each moved once
//!   (one `migrated` entry), lost nothing and finished on version 3;
//! - restart: a process serving version 2 alone finds them blocked as version mismatches and
//!   leaves them untouched; `restart_all` starts them again on version 2 from their input.

use std::time::{Duration, Instant};

use sayiir::store::BlockKind;
use sayiir::{Engine, InstanceStatus, ListQuery, RestartFilter};
use sayiir_store::pg_harness;
use serde::Deserialize;

use super::children;
use super::common::{Rng, env};
use super::flows::{v1, v2, v3};
use super::process_kit::{
    NOTE, Parked, Place, Serve, Spot, all_finished, expected, number, open_store, order, park,
    wait_for,
};

/// Kills that must land while instances are unfinished in the migration phase (their `ship`
/// gates stay shut until then, so they cannot finish earlier).
const MIN_KILLS: usize = 5;
/// After this many kills the migrating processes are left to finish.
const MAX_KILLS: usize = 8;
/// How long each task takes in the migration phase, so that kills land in the middle of work.
const TASK_MS: u64 = 15;

/// Worker mode: serve the versions `VERSIONS_SERVE` names on `VERSIONS_DB`, start the
/// instances `VERSIONS_START` lists (`id@version`, idempotent), and work until killed.
#[test]
#[ignore = "run by the process tests of `versions` as a child process"]
pub(crate) fn versions_worker() {
    let db = env("VERSIONS_DB");
    if db.is_empty() {
        return;
    }
    children::runtime().block_on(async {
        let engine = Serve::parse(&env("VERSIONS_SERVE")).worker_engine(open_store(&db).await);
        let worker = engine.spawn_worker();
        for item in env("VERSIONS_START").split(',').filter(|s| !s.is_empty()) {
            let (id, version) = item.split_once('@').unwrap();
            let input = order(number(id));
            match version {
                "1" => drop(engine.start::<v1::checkout>(id, input).await.unwrap()),
                _ => drop(engine.start::<v2::checkout>(id, input).await.unwrap()),
            }
        }
        let outcome = worker.join().await;
        panic!("the worker stopped by itself: {outcome:?}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_versions_finish_across_processes_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("versions.db").display().to_string();
    every_strategy("sqlite", db, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_versions_finish_across_processes_on_postgres() {
    let Some(db) = pg_harness::fresh_database("versions_processes").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    every_strategy("postgres", db.url().to_owned(), dir.path()).await;
}

/// The phases one after the other on one database, as successive deployments would: each
/// finishes every instance it parks, so the next one starts from finished instances only.
async fn every_strategy(label: &'static str, db: String, dir: &std::path::Path) {
    let seed = crate::common::seed("VERSIONS_SEED");
    eprintln!("versions across processes ({label}): seed {seed} (rerun with VERSIONS_SEED={seed})");
    let began = Instant::now();
    let mut place = Place::new(label, db, dir.join("gates")).await;
    drain(&mut place).await;
    let drained = began.elapsed();
    let kills = migrate(&mut place, &mut Rng(seed)).await;
    let migrated = began.elapsed();
    restart(&mut place).await;
    let all = began.elapsed();
    eprintln!(
        "versions across processes ({label}): drain {:.1} s, complete in place {:.1} s ({} kills, {} of them before every instance was taken over), restart {:.1} s; {} worker processes, {:.1} s in all",
        drained.as_secs_f64(),
        (migrated - drained).as_secs_f64(),
        kills.landed,
        kills.mid_takeover,
        (all - migrated).as_secs_f64(),
        place.generations(),
        all.as_secs_f64(),
    );
}

fn ids(parked: &[Parked]) -> Vec<String> {
    parked.iter().map(|p| p.id.clone()).collect()
}

/// Sends each parked instance the signals it still needs.
async fn send_rest(engine: &Engine, parked: &[Parked]) {
    for p in parked {
        if p.spot.needs_go() {
            engine.signal(&p.id, "go", &true).await.unwrap();
        }
        if p.spot.needs_note() {
            engine
                .signal(&p.id, "note", &NOTE.to_string())
                .await
                .unwrap();
        }
    }
}

/// Drain: versions 1 and 2 side by side; the old instances finish on version 1 and new starts
/// run version 2.
async fn drain(place: &mut Place) {
    let parked = park(place, "d", 2, 0).await;
    let news: Vec<(String, u32)> = (100..103).map(|n| (format!("d-{n}"), 2)).collect();
    let engine = place.engine(Serve::V1V2);
    let mut worker = place.worker(Serve::V1V2, &news, None);
    for (id, _) in &news {
        wait_for(&format!("{id} to be started"), async || {
            engine.status(id).await.map(drop).map_err(|e| e.to_string())
        })
        .await;
        engine.signal(id, "go", &true).await.unwrap();
        engine.signal(id, "note", &NOTE.to_string()).await.unwrap();
    }
    send_rest(&engine, &parked).await;
    let mut all = ids(&parked);
    all.extend(news.iter().map(|(id, _)| id.clone()));
    all_finished(&engine, &all).await;
    worker.assert_alive();
    for p in &parked {
        let out = engine.try_result::<v1::checkout>(&p.id).await.unwrap();
        assert_eq!(out, Some(expected(1, p.n, NOTE, "")), "{}", p.id);
        let s = engine.status(&p.id).await.unwrap();
        assert_eq!(s.version, 1, "{}", p.id);
        let later = p.later_history(&engine.history(&p.id).await.unwrap(), s.seq);
        assert!(
            !later.iter().any(|k| k == "migrated" || k == "restarted"),
            "{}: {later:?}",
            p.id
        );
    }
    for (id, _) in &news {
        let out = engine.try_result::<v2::checkout>(id).await.unwrap();
        assert_eq!(out, Some(expected(2, number(id), NOTE, "")), "{id}");
        assert_eq!(engine.status(id).await.unwrap().version, 2, "{id}");
    }
    // Version 1 has drained (the first phase on this database: its instances are all here).
    let stats = engine.version_stats().await.unwrap();
    let of = |v: u32| stats.iter().find(|s| s.version == v).unwrap();
    assert_eq!(of(1).completed, parked.len() as u64, "{stats:?}");
    assert!(of(1).drained(), "{stats:?}");
    assert_eq!(of(2).completed, news.len() as u64, "{stats:?}");
    for v in &stats {
        eprintln!(
            "versions across processes ({}): drain: {} version {}: {} running, {} blocked, {} completed, drained: {}",
            place.label,
            v.workflow,
            v.version,
            v.running,
            v.blocked,
            v.completed,
            v.drained()
        );
    }
    worker.kill();
}

/// The payload of a `migrated` history entry (field order as the runtime writes it).
#[derive(Deserialize, Debug)]
#[allow(dead_code)] // hashes and fingerprints are read for the layout, not compared
struct MigratedEntry {
    from_version: u32,
    from_hash: [u8; 32],
    from_fingerprint: [u8; 32],
    from_state: String,
    to_version: u32,
    to_hash: [u8; 32],
    to_fingerprint: [u8; 32],
    to_state: String,
}

/// Complete in place: processes serving version 3 (with migrations from 1 and 2) take the
/// parked instances over while they are SIGKILLed at random moments and restarted; the
/// signals arrive meanwhile, at random moments too, so instances waiting at a signal are
/// taken over (once one wakes them) throughout.
async fn migrate(place: &mut Place, rng: &mut Rng) -> Kills {
    let parked = park(place, "m", 2, 1).await;
    // No instance can finish before `MIN_KILLS` kills have landed.
    for p in &parked {
        place.shut(&p.id, "ship");
    }
    let engine = place.engine(Serve::V3);
    let mut sends: Vec<(String, &'static str)> = Vec::new();
    for p in &parked {
        if p.spot.needs_go() {
            sends.push((p.id.clone(), "go"));
        }
        if p.spot.needs_note() {
            sends.push((p.id.clone(), "note"));
        }
    }
    for i in (1..sends.len()).rev() {
        sends.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    let sender = tokio::spawn(send_slowly(engine.clone(), sends, Rng(rng.next() | 1)));

    // On PostgreSQL two processes share the work (a killed one's instances are taken over by
    // the other once their leases expire); SQLite allows one worker process per file.
    let at_once = if place.label == "postgres" { 2 } else { 1 };
    let mut workers: Vec<_> = (0..at_once)
        .map(|_| place.worker(Serve::V3, &[], Some(TASK_MS)))
        .collect();
    let (mut kills, mut mid_takeover) = (0, 0);
    while kills < MAX_KILLS {
        let life = Duration::from_millis(rng.between(30, 400));
        tokio::time::sleep(life).await;
        workers.iter_mut().for_each(|w| w.assert_alive());
        if kills >= MIN_KILLS && progress(&engine, &parked).await.1 == 0 {
            break;
        }
        let slot = (rng.next() % at_once as u64) as usize;
        workers[slot].kill();
        let (old, open) = progress(&engine, &parked).await;
        kills += 1;
        mid_takeover += usize::from(old > 0);
        eprintln!(
            "versions across processes ({}): kill {kills} after {} ms: {old} of {} instances not taken over yet, {open} unfinished",
            place.label,
            life.as_millis(),
            parked.len()
        );
        if kills == MIN_KILLS {
            for p in &parked {
                place.open(&p.id, "ship");
            }
        }
        workers[slot] = place.worker(Serve::V3, &[], Some(TASK_MS));
    }
    sender.await.unwrap();
    all_finished(&engine, &ids(&parked)).await;
    for mut w in workers {
        w.assert_alive();
        w.kill();
    }

    for p in &parked {
        // Started under version 3, the coupon is the workflow's own; in any later state it is
        // the one the migration function set.
        let coupon = if p.spot == Spot::Start {
            "none"
        } else {
            "MIGRATED"
        };
        let out = engine.try_result::<v3::checkout>(&p.id).await.unwrap();
        assert_eq!(out, Some(expected(3, p.n, NOTE, coupon)), "{}", p.id);
        let s = engine.status(&p.id).await.unwrap();
        assert_eq!(
            (s.version, &s.status),
            (3, &InstanceStatus::Completed),
            "{}",
            p.id
        );
        let history = engine.history(&p.id).await.unwrap();
        let later = p.later_history(&history, s.seq);
        // Taken over first thing, once: nothing ran on the old version after it was parked.
        assert_eq!(later[0], "migrated", "{}: {later:?}", p.id);
        assert_eq!(
            later.iter().filter(|k| *k == "migrated").count(),
            1,
            "{}: {later:?}",
            p.id
        );
        assert!(
            !later.iter().any(|k| k == "restarted"),
            "{}: {later:?}",
            p.id
        );
        let m: MigratedEntry =
            sayiir::__private::codec::decode(&history[p.history.len()].payload).unwrap();
        assert_eq!(
            (
                m.from_version,
                m.from_state.as_str(),
                m.to_version,
                m.to_state.as_str()
            ),
            (p.version, p.spot.state(), 3, p.spot.state()),
            "{}: {m:?}",
            p.id
        );
        if p.spot != Spot::Start && p.version == 1 {
            eprintln!(
                "versions across processes ({}): complete in place: {} parked at `{}` under version {}, then {} -> {:?}",
                place.label,
                p.id,
                p.spot.state(),
                p.version,
                later.join(", "),
                out,
            );
        }
    }
    Kills {
        landed: kills,
        mid_takeover,
    }
}

/// The kills of the migration phase: how many landed (the first `MIN_KILLS` while no instance
/// could finish), and how many of those while some instance was still on its old version.
struct Kills {
    landed: usize,
    mid_takeover: usize,
}

/// Sends `sends` one by one, 10 to 60 ms apart, whether or not a worker process is alive.
async fn send_slowly(engine: Engine, sends: Vec<(String, &'static str)>, mut rng: Rng) {
    for (id, name) in sends {
        loop {
            let sent = match name {
                "go" => engine.signal(&id, "go", &true).await,
                _ => engine.signal(&id, "note", &NOTE.to_string()).await,
            };
            match sent {
                Ok(()) => break,
                Err(e) if e.is_retryable() => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(e) => panic!("sending {name} to {id}: {e}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.between(10, 60))).await;
    }
}

/// Instances of `parked` not on version 3 yet, and not finished.
async fn progress(engine: &Engine, parked: &[Parked]) -> (usize, usize) {
    let (mut old, mut open) = (0, 0);
    for p in parked {
        let s = engine.status(&p.id).await.unwrap();
        old += usize::from(s.version != 3);
        open += usize::from(!matches!(s.status, InstanceStatus::Completed));
    }
    (old, open)
}

/// Restart: a process serving version 2 alone blocks the instances of version 1 as version
/// mismatches and leaves them as they are; `restart_all` runs them again on version 2.
async fn restart(place: &mut Place) {
    let parked = park(place, "r", 2, 0).await;
    let engine = place.engine(Serve::V2);
    let mut worker = place.worker(Serve::V2, &[], None);
    for p in &parked {
        wait_for(&format!("{} to be blocked", p.id), async || {
            let r = place
                .store
                .load(&p.iid())
                .await
                .map_err(|e| e.to_string())?;
            match &r.blocked {
                Some(b) if b.kind == BlockKind::VersionMismatch => Ok(()),
                b => Err(format!("blocked: {b:?}")),
            }
        })
        .await;
    }
    // Give the worker time to do anything it would (it must not).
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.assert_alive();
    for p in &parked {
        let r = place.store.load(&p.iid()).await.unwrap();
        assert_eq!(
            (&r.state, &r.state_id, r.seq, r.version, r.status, r.due_at),
            (
                &p.record.state,
                &p.record.state_id,
                p.record.seq,
                1,
                p.record.status,
                p.record.due_at
            ),
            "{}: the blocked instance changed",
            p.id
        );
        assert_eq!(engine.history(&p.id).await.unwrap(), p.history, "{}", p.id);
        match engine.status(&p.id).await.unwrap().status {
            InstanceStatus::Blocked {
                kind: BlockKind::VersionMismatch,
                ..
            } => {}
            s => panic!("{}: {s:?}", p.id),
        }
    }
    let mut expected_ids = ids(&parked);
    expected_ids.sort();
    // The worker process reported them: a later check finds nothing new, and a listing of the
    // blocked instances shows exactly them.
    assert_eq!(engine.check_versions().await.unwrap(), Vec::new());
    let query = ListQuery::new().blocked(true);
    let blocked: Vec<String> = engine
        .list(&query)
        .await
        .unwrap()
        .instances
        .into_iter()
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(blocked, expected_ids);

    let restarted = engine
        .restart_all(
            &RestartFilter::workflow("checkout").version(1),
            "move to version 2",
        )
        .await
        .unwrap();
    let mut done: Vec<String> = Vec::new();
    for (id, r) in restarted {
        let r = r.unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!((r.from.version, r.to.version), (1, 2), "{id}");
        done.push(id.to_string());
    }
    done.sort();
    assert_eq!(done, expected_ids);
    // The new runs start from `start`: each needs both signals again.
    for p in &parked {
        engine.signal(&p.id, "go", &true).await.unwrap();
        engine
            .signal(&p.id, "note", &"again".to_string())
            .await
            .unwrap();
    }
    all_finished(&engine, &ids(&parked)).await;
    worker.assert_alive();
    worker.kill();
    for p in &parked {
        let out = engine.try_result::<v2::checkout>(&p.id).await.unwrap();
        assert_eq!(out, Some(expected(2, p.n, "again", "")), "{}", p.id);
        let s = engine.status(&p.id).await.unwrap();
        assert_eq!(s.version, 2, "{}", p.id);
        let later = p.later_history(&engine.history(&p.id).await.unwrap(), s.seq);
        // The first run's entries, then the restart, then the new run.
        assert_eq!(later[0], "restarted", "{}: {later:?}", p.id);
        assert!(later.len() > 3, "{}: {later:?}", p.id);
        if p.id == expected_ids[0] {
            eprintln!(
                "versions across processes ({}): restart: {} (version 1, blocked as a mismatch) -> {} -> {:?}",
                place.label,
                p.id,
                later.join(", "),
                out,
            );
        }
        assert!(
            !later[1..]
                .iter()
                .any(|k| k == "migrated" || k == "restarted"),
            "{}: {later:?}",
            p.id
        );
    }
}
