//! Firing schedules, in the worker: claim the due schedules under a lease, decide what each
//! one does now (`schedule::plan`), and write the decision and the runs it starts in one
//! store transaction ([`Store::write_schedule`], a compare-and-swap on the revision the claim
//! gave). A run's instance id is `<schedule>@<tick>`, so a tick fired twice (by a worker that
//! lost its lease and did not know) would find its instance and create nothing; the revision
//! makes even that write fail.
//!
//! [`Store::write_schedule`]: sayiir_store::Store::write_schedule

use sayiir_store::{
    InstanceId, NewInstance, ScheduleClaim, ScheduleRecord, ScheduleWrite, Status, StoreError,
    Timestamp, WorkerId,
};
use tracing::Instrument;

use crate::core::Inner;
use crate::error::EngineError;
use crate::registry::{Entry, decode_input};
use crate::schedule::plan::{self, Held};
use crate::schedule::{ScheduleError, StoredSpec, instance_id};
use crate::shape::Shape;
use crate::trace_context::store_span;

/// At most this many schedules per claim.
const CLAIM_LIMIT: usize = 16;

/// How long a schedule whose runs this binary cannot start waits before a worker looks again.
const RETRY: std::time::Duration = std::time::Duration::from_secs(30);

/// The fingerprint (hex) of the structure of a definition's inputs: the value of its one
/// input, or the tuple of its inputs.
pub(crate) fn input_fingerprint(entry: &Entry) -> String {
    let shape = match entry.shape.inputs.as_slice() {
        [one] => one.ty.shape.clone(),
        many => Shape::Tuple(many.iter().map(|f| f.ty.shape.clone()).collect()),
    };
    shape
        .fingerprint()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The registered version of `workflow` that the runs of a schedule start on: the newest one
/// whose inputs have the structure the schedule's input was made for.
pub(crate) fn target<'a>(inner: &'a Inner, workflow: &str, fingerprint: &str) -> Option<&'a Entry> {
    inner
        .registry
        .versions_of(workflow)
        .into_iter()
        .rev()
        .find(|e| e.runs && input_fingerprint(e) == fingerprint)
}

/// The new instance of schedule `schedule`'s run for `tick`.
pub(crate) fn new_run(
    inner: &Inner,
    schedule: &str,
    entry: &Entry,
    input: &[u8],
    tick: Timestamp,
) -> Result<NewInstance, EngineError> {
    let id = instance_id(schedule, tick)?;
    let parts = decode_input(input).map_err(|e| ScheduleError::Stored {
        id: schedule.to_owned(),
        reason: format!("its input does not decode: {e}"),
    })?;
    let (state, _) = entry
        .wf
        .start_from(parts)
        .map_err(|e| ScheduleError::Stored {
            id: schedule.to_owned(),
            reason: format!("its input does not fit `{}`: {e}", entry.shape.name),
        })?;
    inner.check_start_sizes(input, &state)?;
    Ok(inner.new_instance(id, entry.wf.name(), entry.def, input.to_vec(), state))
}

/// Claims the due schedules of the workflows this worker runs and handles each one. Returns
/// how many were claimed.
pub(crate) async fn run_due(inner: &Inner, owner: &WorkerId) -> Result<usize, StoreError> {
    let served = inner.registry.served();
    if served.is_empty() {
        return Ok(0);
    }
    let now = inner.now();
    let claim = ScheduleClaim {
        owner: owner.clone(),
        now,
        lease_until: now.add(inner.config.lease),
        limit: CLAIM_LIMIT,
        served,
    };
    let claimed = inner
        .store
        .claim_schedules(claim)
        .instrument(store_span!("claim_schedules"))
        .await?;
    let n = claimed.len();
    for record in claimed {
        let id = record.id.clone();
        match handle(inner, record, now).await {
            Ok(fired) => {
                if fired > 0 {
                    tracing::info!(schedule = %id, runs = fired, "schedule fired");
                    inner.wake.notify_one();
                }
            }
            Err(EngineError::Store(StoreError::ScheduleConflict { .. })) => {
                tracing::debug!(schedule = %id, "schedule written meanwhile; left as it is");
            }
            Err(EngineError::Store(e @ StoreError::File { .. })) => return Err(e),
            Err(EngineError::Store(e)) => {
                tracing::warn!(schedule = %id, error = %e, "could not fire the schedule; its lease expires and a worker tries again");
            }
            Err(e) => tracing::warn!(schedule = %id, error = %e, "could not fire the schedule"),
        }
    }
    Ok(n)
}

/// Whether the run of the last tick fired is still running (not finished).
async fn still_running(inner: &Inner, last: Option<&InstanceId>) -> Result<bool, EngineError> {
    let Some(id) = last else {
        return Ok(false);
    };
    match inner.load(id).await {
        Ok(r) => Ok(r.status == Status::Running),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Decides and writes; returns how many runs were started.
async fn handle(inner: &Inner, rec: ScheduleRecord, now: Timestamp) -> Result<usize, EngineError> {
    let mut write = ScheduleWrite::of(&rec, now);
    let (spec, ticks) = match StoredSpec::parse(&rec.id, &rec.spec) {
        Ok(parsed) => parsed,
        Err(e) => {
            // Kept as it is, for an operator to fix or a newer build to read.
            write.due_at = Some(now.add(RETRY));
            write.note = Some(e.to_string());
            store_write(inner, write).await?;
            return Err(e.into());
        }
    };
    let Some(entry) = target(inner, &rec.workflow, &spec.input_fingerprint) else {
        // No tick is handled: they wait for a worker that can start them.
        write.due_at = Some(now.add(RETRY));
        write.note = Some(format!(
            "no registered version of workflow `{}` takes this schedule's input; its ticks wait",
            rec.workflow
        ));
        store_write(inner, write).await?;
        return Ok(0);
    };
    let overlap_matters = spec.overlap() != crate::schedule::Overlap::AllowAll;
    let running = overlap_matters && still_running(inner, rec.last_instance.as_ref()).await?;
    let held = Held {
        next_tick: rec.next_tick,
        buffered: rec.buffered,
        running,
    };
    let decided = plan::plan(&spec, &ticks, held, now);
    let mut runs = Vec::with_capacity(decided.fire.len());
    for tick in &decided.fire {
        runs.push(new_run(inner, &rec.id, entry, &rec.input, *tick)?);
    }
    if let Some(last) = runs.last() {
        write.last_instance = Some(last.id.clone());
    }
    let fired = runs.len();
    write.fire = runs;
    write.next_tick = decided.next_tick;
    write.buffered = decided.buffered;
    write.due_at = decided.due_at;
    write.note = decided.note.or(if fired > 0 { None } else { rec.note });
    store_write(inner, write).await?;
    let metrics = inner.metrics.workflow(&rec.workflow);
    metrics.schedule_ticks.increment(fired as u64);
    metrics.schedule_skipped.increment(decided.skipped as u64);
    for tick in &decided.fire {
        let late = now.0.saturating_sub(tick.0).max(0);
        metrics.schedule_delay.record(late as f64 / 1000.0);
    }
    Ok(fired)
}

async fn store_write(inner: &Inner, write: ScheduleWrite) -> Result<ScheduleRecord, EngineError> {
    Ok(inner
        .store
        .write_schedule(write)
        .instrument(store_span!("write_schedule"))
        .await?)
}

/// A run that finished in this process: if its schedule holds a tick buffered behind it
/// ([`Overlap::BufferOne`](crate::schedule::Overlap)), the schedule is made due now (a
/// compare-and-swap; a conflict means a worker handles it anyway). Other ids are left alone.
pub(crate) async fn poke(inner: &Inner, run: &InstanceId) -> Result<(), StoreError> {
    let Some(schedule) = crate::schedule::cron::run_schedule(run.as_str()) else {
        return Ok(());
    };
    let rec = match inner
        .store
        .load_schedule(schedule)
        .instrument(store_span!("load_schedule"))
        .await
    {
        Ok(rec) => rec,
        Err(StoreError::ScheduleNotFound { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    let now = inner.now();
    let waits = rec.buffered.is_some() && rec.last_instance.as_ref() == Some(run);
    if !waits || rec.paused || rec.due_at.is_some_and(|d| d <= now) {
        return Ok(());
    }
    let mut write = ScheduleWrite::of(&rec, now);
    write.due_at = Some(now);
    match inner
        .store
        .write_schedule(write)
        .instrument(store_span!("write_schedule"))
        .await
    {
        Ok(_) | Err(StoreError::ScheduleConflict { .. } | StoreError::ScheduleNotFound { .. }) => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}
