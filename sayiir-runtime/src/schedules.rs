//! The schedules API of the engine: create (`schedule`), update, list with the next fire
//! times, describe, pause, resume, delete, backfill. Each is a store operation (a
//! compare-and-swap on the schedule's revision where it changes one), so it works whatever
//! process fires the schedule; workers fire them (`scheduler.rs`). See `docs/schedules.md`.

use std::time::SystemTime;

use sayiir_store::{ScheduleRecord, ScheduleWrite, StoreError, Timestamp};
use tracing::Instrument;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::machine::Workflow;
use crate::registry::initial_state;
use crate::schedule::{
    Backfilled, MAX_BACKFILL, NEXT_FIRES, ScheduleError, ScheduleInfo, ScheduleSpec, ScheduleState,
    StoredSpec, instance_id,
};
use crate::scheduler::{input_fingerprint, new_run, target};
use crate::trace_context::store_span;

/// How many times an operator's change is tried again when a worker wrote the schedule
/// between the read and the write.
const TRIES: usize = 5;

impl Engine {
    /// Creates schedule `id`: from now on, a worker of this store that runs `W` starts an
    /// instance of `W` with `spec.input` at every tick of `spec` (instance id
    /// `<id>@<tick in RFC 3339, UTC>`: exactly one per tick, across workers and restarts).
    ///
    /// Idempotent: when schedule `id` exists with the same workflow, spec and input, it is
    /// returned as it is (call it at every start of your service); with anything else it is
    /// [`ScheduleError::Exists`] and nothing changes (see [`Engine::update_schedule`]). A bad
    /// cron expression, an unknown time zone, an id that cannot name instances or a start
    /// after the end is a [`ScheduleError`] and nothing is stored.
    pub async fn schedule<W: Workflow>(
        &self,
        id: &str,
        spec: ScheduleSpec<W::Input>,
    ) -> Result<ScheduleInfo, EngineError> {
        let now = self.inner.now();
        let (workflow, text, input, next) = self.prepare::<W>(id, spec, now)?;
        let record = ScheduleRecord {
            id: id.to_owned(),
            workflow: workflow.clone(),
            spec: text.clone(),
            input: input.clone(),
            paused: false,
            next_tick: next,
            buffered: None,
            due_at: next,
            last_instance: None,
            note: None,
            revision: 0,
            lease: None,
            created_at: now,
            updated_at: now,
        };
        let stored = self
            .inner
            .store
            .create_schedule(record)
            .instrument(store_span!("create_schedule"))
            .await?;
        if (&stored.workflow, &stored.spec, &stored.input) != (&workflow, &text, &input) {
            return Err(ScheduleError::Exists { id: id.to_owned() }.into());
        }
        self.inner.wake.notify_one();
        Ok(info(&stored))
    }

    /// Replaces the spec and input of schedule `id` (which starts `W`). Its ticks are counted
    /// again from now: the next one is the first tick of the new spec at or after now; a tick
    /// waiting for the previous run ([`Overlap::BufferOne`](crate::schedule::Overlap)) is
    /// dropped. Its paused state is kept.
    pub async fn update_schedule<W: Workflow>(
        &self,
        id: &str,
        spec: ScheduleSpec<W::Input>,
    ) -> Result<ScheduleInfo, EngineError> {
        let now = self.inner.now();
        let (workflow, text, input, next) = self.prepare::<W>(id, spec, now)?;
        self.change(id, |rec, w| {
            if rec.workflow != workflow {
                return Err(ScheduleError::WrongWorkflow {
                    id: id.to_owned(),
                    expected: workflow.clone(),
                    found: rec.workflow.clone(),
                });
            }
            w.spec = Some(text.clone());
            w.input = Some(input.clone());
            w.next_tick = next;
            w.buffered = None;
            w.due_at = next;
            w.note = None;
            Ok(())
        })
        .await
    }

    /// Every schedule, ordered by id, with its next fire times.
    pub async fn schedules(&self) -> Result<Vec<ScheduleInfo>, EngineError> {
        let all = self
            .inner
            .store
            .schedules()
            .instrument(store_span!("schedules"))
            .await?;
        Ok(all.iter().map(info).collect())
    }

    /// Schedule `id`, with its next fire times.
    pub async fn describe_schedule(&self, id: &str) -> Result<ScheduleInfo, EngineError> {
        Ok(info(&self.load_schedule(id).await?))
    }

    /// Pauses schedule `id`: it fires nothing until resumed. Pausing a paused schedule
    /// changes nothing.
    pub async fn pause_schedule(&self, id: &str) -> Result<ScheduleInfo, EngineError> {
        self.change(id, |_, w| {
            w.paused = true;
            Ok(())
        })
        .await
    }

    /// Resumes schedule `id`. The ticks that passed while it was paused do not run (start them
    /// with [`Engine::backfill`]): its next tick is the first at or after now.
    pub async fn resume_schedule(&self, id: &str) -> Result<ScheduleInfo, EngineError> {
        let now = self.inner.now();
        self.change(id, |rec, w| {
            if !rec.paused {
                return Ok(());
            }
            let (spec, ticks) = StoredSpec::parse(id, &rec.spec)?;
            let next = spec.first_tick(&ticks, now);
            w.paused = false;
            w.next_tick = next;
            w.due_at = match (next, rec.buffered) {
                (Some(n), Some(_)) => Some(n.min(now)),
                (n, b) => n.or(b.map(|_| now)),
            };
            Ok(())
        })
        .await
    }

    /// Deletes schedule `id`. The instances it started are kept.
    pub async fn delete_schedule(&self, id: &str) -> Result<(), EngineError> {
        self.inner
            .store
            .delete_schedule(id)
            .instrument(store_span!("delete_schedule"))
            .await?;
        Ok(())
    }

    /// Starts the runs of the ticks of schedule `id` from `from` to `to` (both included, within
    /// the schedule's start and end) that have none: a tick that already ran, from the
    /// schedule or an earlier backfill, is not run again (its instance id is the same). The
    /// runs start at once, whatever the overlap policy. At most [`MAX_BACKFILL`] ticks.
    /// Works on a paused schedule too. This engine must run the schedule's workflow.
    pub async fn backfill(
        &self,
        id: &str,
        from: SystemTime,
        to: SystemTime,
    ) -> Result<Backfilled, EngineError> {
        let (from, to) = (Timestamp::from_system(from), Timestamp::from_system(to));
        let bad = |reason: String| ScheduleError::Backfill {
            id: id.to_owned(),
            reason,
        };
        if from > to {
            return Err(bad("the range starts after it ends".into()).into());
        }
        let rec = self.load_schedule(id).await?;
        let (spec, ticks) = StoredSpec::parse(id, &rec.spec)?;
        let Some(entry) = target(&self.inner, &rec.workflow, &spec.input_fingerprint) else {
            return Err(bad(format!(
                "no version of workflow `{}` registered with this engine takes its input",
                rec.workflow
            ))
            .into());
        };
        let due = spec.ticks_from(&ticks, from, MAX_BACKFILL + 1);
        let due: Vec<Timestamp> = due.into_iter().take_while(|t| *t <= to).collect();
        if due.len() > MAX_BACKFILL {
            return Err(bad(format!("the range has more than {MAX_BACKFILL} ticks")).into());
        }
        self.inner.save_definitions().await?;
        let mut news = Vec::with_capacity(due.len());
        for tick in due {
            news.push(new_run(&self.inner, id, entry, &rec.input, tick)?);
        }
        let mut out = Backfilled {
            started: Vec::new(),
            existing: Vec::new(),
        };
        for chunk in news.chunks(self.inner.config.max_start_batch.max(1)) {
            let results = self
                .inner
                .store
                .create_batch(chunk.to_vec())
                .instrument(store_span!("create_batch"))
                .await?;
            for r in results {
                match r? {
                    sayiir_store::Created::New(r) => out.started.push(r.id),
                    sayiir_store::Created::Existing(r) => out.existing.push(r.id),
                }
            }
        }
        if !out.started.is_empty() {
            let metrics = self.inner.metrics.workflow(&rec.workflow);
            metrics
                .schedule_backfills
                .increment(out.started.len() as u64);
            self.inner.wake.notify_one();
        }
        Ok(out)
    }

    /// The stored schedule `id`.
    async fn load_schedule(&self, id: &str) -> Result<ScheduleRecord, EngineError> {
        Ok(self
            .inner
            .store
            .load_schedule(id)
            .instrument(store_span!("load_schedule"))
            .await?)
    }

    /// Validates a spec of `W` for schedule `id`: the stored workflow name, description and
    /// input, and the first tick at or after `now`.
    fn prepare<W: Workflow>(
        &self,
        id: &str,
        spec: ScheduleSpec<W::Input>,
        now: Timestamp,
    ) -> Result<(String, String, Vec<u8>, Option<Timestamp>), EngineError> {
        instance_id(id, now)?;
        let entry = self.inner.registered::<W>()?;
        let start = spec.start.map(Timestamp::from_system);
        let end = spec.end.map(Timestamp::from_system);
        let (stored, ticks) = StoredSpec::new(
            &spec.cron,
            &spec.time_zone,
            spec.overlap,
            spec.catch_up,
            start,
            end,
            spec.grace,
            input_fingerprint(entry),
        )?;
        let (state, input) = initial_state::<W>(spec.input)
            .map_err(|e| crate::limits::encode_error("input", e, self.inner.config.max_payload))?;
        self.inner.check_start_sizes(&input, &state)?;
        let next = stored.first_tick(&ticks, now);
        Ok((W::NAME.to_owned(), stored.to_text(), input, next))
    }

    /// Reads schedule `id`, lets `edit` change the write, and writes it; tried again when a
    /// worker wrote the schedule in between.
    async fn change<F>(&self, id: &str, mut edit: F) -> Result<ScheduleInfo, EngineError>
    where
        F: FnMut(&ScheduleRecord, &mut ScheduleWrite) -> Result<(), ScheduleError>,
    {
        let mut tries = 0;
        loop {
            let rec = self.load_schedule(id).await?;
            let mut w = ScheduleWrite::of(&rec, self.inner.now());
            edit(&rec, &mut w)?;
            match self
                .inner
                .store
                .write_schedule(w)
                .instrument(store_span!("write_schedule"))
                .await
            {
                Ok(written) => {
                    self.inner.wake.notify_one();
                    return Ok(info(&written));
                }
                Err(StoreError::ScheduleConflict { .. }) if tries + 1 < TRIES => tries += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// What operators see of a stored schedule. A description this build cannot read is shown
/// with its problem in `note`.
pub(crate) fn info(rec: &ScheduleRecord) -> ScheduleInfo {
    let parsed = StoredSpec::parse(&rec.id, &rec.spec);
    let state = if rec.paused {
        ScheduleState::Paused
    } else if rec.next_tick.is_none() && rec.buffered.is_none() {
        ScheduleState::Ended
    } else {
        ScheduleState::Active
    };
    let (next_fires, next_fires_local) = match (&parsed, rec.next_tick) {
        (Ok((spec, ticks)), Some(next)) if !rec.paused => {
            let times = spec.ticks_from(ticks, next, NEXT_FIRES);
            let local = times.iter().map(|t| ticks.local(*t)).collect();
            (times, local)
        }
        _ => (Vec::new(), Vec::new()),
    };
    let (cron, time_zone, overlap, catch_up, start, end, note) = match &parsed {
        Ok((spec, _)) => (
            spec.cron.clone(),
            spec.time_zone.clone(),
            spec.overlap(),
            spec.catch_up_words(),
            spec.start(),
            spec.end(),
            rec.note.clone(),
        ),
        Err(e) => (
            String::new(),
            String::new(),
            crate::schedule::Overlap::Skip,
            String::new(),
            None,
            None,
            Some(e.to_string()),
        ),
    };
    ScheduleInfo {
        id: rec.id.clone(),
        workflow: rec.workflow.clone(),
        cron,
        time_zone,
        overlap,
        catch_up,
        start,
        end,
        state,
        next_tick: rec.next_tick,
        next_fires,
        next_fires_local,
        buffered: rec.buffered,
        last_instance: rec.last_instance.clone(),
        note,
        revision: rec.revision,
        lease: rec.lease.clone(),
    }
}
