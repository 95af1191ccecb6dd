//! Schedules: what users write ([`ScheduleSpec`], [`Overlap`], [`CatchUp`]), the typed errors
//! ([`ScheduleError`]), what operators read ([`ScheduleInfo`]), and the pure parts below the
//! engine: the cron ticks in a time zone (`cron.rs`), the stored description (`stored.rs`)
//! and what a worker does with a due schedule (`plan.rs`). See `docs/schedules.md`.

use std::time::{Duration, SystemTime};

use sayiir_store::{InstanceId, ScheduleLease, Timestamp};
use serde::Serialize;

pub(crate) mod cron;
pub(crate) mod plan;
mod stored;

pub(crate) use cron::Ticks;
pub(crate) use stored::StoredSpec;

/// How many fire times [`ScheduleInfo::next_fires`] lists.
pub const NEXT_FIRES: usize = 5;

/// At most this many ticks per [`Engine::backfill`](crate::Engine::backfill).
pub const MAX_BACKFILL: usize = 10_000;

/// What [`Engine::backfill`](crate::Engine::backfill) did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backfilled {
    /// The instances started, one per tick of the range that had none, oldest first.
    pub started: Vec<InstanceId>,
    /// The ticks of the range that already had their instance (fired or backfilled before).
    pub existing: Vec<InstanceId>,
}

/// When and how a schedule starts its workflow: a cron expression evaluated in an IANA time
/// zone, the input of every run, and the policies for overlapping runs and for ticks missed
/// while no worker ran. Given to [`Engine::schedule`](crate::Engine::schedule).
///
/// The cron expression has five fields (minute, hour, day of month, month, day of week) or
/// six with seconds first; `L`, `W`, `#`, ranges, steps, names (`MON`, `JAN`) and `@daily`
/// style aliases are understood (the [croner](https://docs.rs/croner) grammar).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ScheduleSpec<I> {
    /// The cron expression.
    pub cron: String,
    /// The IANA time zone the expression is read in (default `UTC`).
    pub time_zone: String,
    /// The input of every run.
    pub input: I,
    /// What a tick does while the previous run is still running (default [`Overlap::Skip`]).
    pub overlap: Overlap,
    /// What happens to ticks missed while no worker ran (default [`CatchUp::Latest`]).
    pub catch_up: CatchUp,
    /// No tick before this time.
    pub start: Option<SystemTime>,
    /// No tick after this time.
    pub end: Option<SystemTime>,
    /// How late a tick may be handled and still count as on time (default one minute): a
    /// tick later than that was missed, and the catch-up policy decides.
    pub grace: Duration,
}

impl<I> ScheduleSpec<I> {
    /// Runs with `input` at the ticks of `cron`, in UTC, skipping a tick while the previous run
    /// is still running, and running the latest missed tick after downtime.
    pub fn new(cron: impl Into<String>, input: I) -> Self {
        Self {
            cron: cron.into(),
            time_zone: "UTC".to_owned(),
            input,
            overlap: Overlap::Skip,
            catch_up: CatchUp::Latest,
            start: None,
            end: None,
            grace: DEFAULT_GRACE,
        }
    }

    /// Reads the cron expression in the IANA time zone `name` (e.g. `Europe/Paris`).
    #[must_use]
    pub fn time_zone(mut self, name: impl Into<String>) -> Self {
        self.time_zone = name.into();
        self
    }

    /// Sets the overlap policy.
    #[must_use]
    pub fn overlap(mut self, overlap: Overlap) -> Self {
        self.overlap = overlap;
        self
    }

    /// Sets the catch-up policy.
    #[must_use]
    pub fn catch_up(mut self, catch_up: CatchUp) -> Self {
        self.catch_up = catch_up;
        self
    }

    /// No tick before `at`.
    #[must_use]
    pub fn start_at(mut self, at: SystemTime) -> Self {
        self.start = Some(at);
        self
    }

    /// No tick after `at`.
    #[must_use]
    pub fn end_at(mut self, at: SystemTime) -> Self {
        self.end = Some(at);
        self
    }

    /// How late a tick may be handled and still count as on time.
    #[must_use]
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }
}

/// The default [`ScheduleSpec::grace`].
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);

/// What a tick does while the run of an earlier tick is still running (not finished: running,
/// waiting, blocked or paused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Overlap {
    /// The tick is dropped.
    Skip,
    /// The tick waits until the earlier run finishes, then starts; a later tick that comes
    /// while one is waiting replaces it (one waits at most).
    BufferOne,
    /// The tick starts another run beside the earlier one.
    AllowAll,
}

/// What happens to ticks missed while no worker ran (handled later than the grace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CatchUp {
    /// Missed ticks are dropped; the schedule goes on with the next tick.
    None,
    /// Of the missed ticks, only the latest runs.
    Latest,
    /// Every missed tick of the last `within` runs, oldest first (each under the overlap
    /// policy); older ones are dropped.
    All {
        /// How far back.
        within: Duration,
    },
}

/// Whether a schedule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ScheduleState {
    /// It fires at its ticks.
    Active,
    /// Paused by an operator: it fires nothing until resumed.
    Paused,
    /// No tick is left (past its end).
    Ended,
}

/// A schedule as operators see it ([`Engine::schedules`](crate::Engine::schedules),
/// [`Engine::describe_schedule`](crate::Engine::describe_schedule)). Times are milliseconds
/// since the Unix epoch; `next_fires` are also given in the schedule's time zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ScheduleInfo {
    /// The schedule's id.
    pub id: String,
    /// The workflow it starts.
    pub workflow: String,
    /// Its cron expression.
    pub cron: String,
    /// Its time zone.
    pub time_zone: String,
    /// Its overlap policy.
    pub overlap: Overlap,
    /// Its catch-up policy, in words (`none`, `latest`, `all within 1h`).
    pub catch_up: String,
    /// No tick before.
    pub start: Option<Timestamp>,
    /// No tick after.
    pub end: Option<Timestamp>,
    /// Active, paused or ended.
    pub state: ScheduleState,
    /// The next tick not handled yet.
    pub next_tick: Option<Timestamp>,
    /// The next fire times (at most [`NEXT_FIRES`]), from the next tick on; none while paused.
    pub next_fires: Vec<Timestamp>,
    /// The same times, RFC 3339 in the schedule's time zone.
    pub next_fires_local: Vec<String>,
    /// A tick waiting for the previous run to finish ([`Overlap::BufferOne`]).
    pub buffered: Option<Timestamp>,
    /// The instance of the last tick fired.
    pub last_instance: Option<InstanceId>,
    /// The last problem met firing it (a skipped tick, a workflow no worker can start).
    pub note: Option<String>,
    /// The store's revision of it.
    pub revision: u64,
    /// The lease of a worker handling it right now.
    pub lease: Option<ScheduleLease>,
}

/// Errors of schedule operations (in [`EngineError::Schedule`](crate::EngineError::Schedule)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The cron expression does not parse.
    #[error("invalid cron expression `{cron}`: {reason}")]
    InvalidCron {
        /// The expression.
        cron: String,
        /// What is wrong.
        reason: String,
    },
    /// The time zone is not in the tz database.
    #[error("unknown time zone `{name}`: give an IANA name such as `Europe/Paris` or `UTC`")]
    UnknownTimeZone {
        /// The name given.
        name: String,
    },
    /// The schedule id cannot name its instances (`<id>@<tick>` must be a valid instance id).
    #[error("invalid schedule id `{id}`: {reason}")]
    InvalidId {
        /// The id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// The start is after the end.
    #[error("the schedule starts after it ends")]
    StartAfterEnd,
    /// No schedule has this id.
    #[error("no schedule with id `{id}`")]
    NotFound {
        /// The id.
        id: String,
    },
    /// A schedule with this id exists with another workflow, spec or input.
    #[error(
        "schedule `{id}` exists with another workflow, spec or input; change it with `update_schedule` or delete it first"
    )]
    Exists {
        /// The id.
        id: String,
    },
    /// The schedule starts another workflow than the call names.
    #[error("schedule `{id}` starts workflow `{found}`, not `{expected}`")]
    WrongWorkflow {
        /// The id.
        id: String,
        /// The workflow the call names.
        expected: String,
        /// The schedule's.
        found: String,
    },
    /// A backfill range whose start is after its end, or with more ticks than the limit.
    #[error("cannot backfill schedule `{id}`: {reason}")]
    Backfill {
        /// The id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// The stored description of the schedule does not decode (written by a newer build, or
    /// damaged).
    #[error("the stored description of schedule `{id}` is invalid: {reason}")]
    Stored {
        /// The id.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

/// The id of the instance a schedule starts for `tick`: `<schedule>@<tick in RFC 3339, UTC>`,
/// e.g. `nightly@2026-03-29T01:00:00Z`. One tick, one id: a tick fired twice finds its
/// instance and creates nothing.
pub fn instance_id(schedule: &str, tick: Timestamp) -> Result<InstanceId, ScheduleError> {
    let at = cron::rfc3339_utc(tick);
    InstanceId::new(format!("{schedule}@{at}")).map_err(|e| ScheduleError::InvalidId {
        id: schedule.to_owned(),
        reason: format!("its instances' ids would be invalid: {e}"),
    })
}

/// The fire times of `cron` read in `time_zone`, from `from` on (inclusive), at most `n`:
/// what a spec would do, before anything is stored.
///
/// ```
/// use std::time::{Duration, SystemTime};
///
/// // 2026-03-28T12:00:00Z, the day before clocks go forward in Paris.
/// let from = SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_699_200);
/// let fires = sayiir::schedule::preview("30 2 * * *", "Europe/Paris", from, 2)?;
/// let secs: Vec<u64> = fires
///     .iter()
///     .map(|t| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs())
///     .collect();
/// // 02:30 CET on the 29th does not exist: that tick runs at 03:00 CEST (01:00Z), once.
/// assert_eq!(secs, [1_774_746_000, 1_774_830_600]);
/// # Ok::<(), sayiir::schedule::ScheduleError>(())
/// ```
pub fn preview(
    cron: &str,
    time_zone: &str,
    from: SystemTime,
    n: usize,
) -> Result<Vec<SystemTime>, ScheduleError> {
    let ticks = Ticks::new(cron, time_zone)?;
    let mut out = Vec::with_capacity(n);
    let mut t = ticks.at_or_after(Timestamp::from_system(from));
    while let Some(x) = t {
        if out.len() == n {
            break;
        }
        out.push(to_system(x));
        t = ticks.after(x);
    }
    Ok(out)
}

/// A stored time as a `SystemTime`.
pub fn to_system(t: Timestamp) -> SystemTime {
    let magnitude = Duration::from_millis(t.0.unsigned_abs());
    if t.0 >= 0 {
        SystemTime::UNIX_EPOCH + magnitude
    } else {
        SystemTime::UNIX_EPOCH - magnitude
    }
}
