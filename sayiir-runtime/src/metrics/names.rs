//! The name of every metric sayiir records, and [`describe`], which tells the installed
//! recorder their units and meanings.
//!
//! Labels come from bounded sets only: `workflow` and `task` (registered names), `outcome`
//! (`ok`, `error`, `timeout`, `panic`), `store` ([`Store::backend`]), `kind` (a block kind's
//! stable name, or an operation), `trigger` (`tick`, `backfill`); never an instance id.
//!
//! [`Store::backend`]: sayiir_store::Store::backend

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

/// Histogram (`workflow`, `task`, `outcome`): how long a task attempt ran, from its start to
/// its value, error, timeout or panic.
pub const TASK_ATTEMPT_DURATION: &str = "sayiir_task_attempt_duration_seconds";
/// Histogram (`workflow`): from the event a transition feeds (a task's value, a timer, a
/// signal, the start) to that transition's commit acknowledged by the store.
pub const STEP_LATENCY: &str = "sayiir_step_latency_seconds";
/// Histogram (`store`): transitions written per commit transaction (group commit).
pub const COMMIT_BATCH_SIZE: &str = "sayiir_commit_batch_size";
/// Histogram (`store`): how long one commit transaction took.
pub const COMMIT_DURATION: &str = "sayiir_commit_duration_seconds";
/// Histogram (`store`): instances created per creation transaction (batched starts).
pub const START_BATCH_SIZE: &str = "sayiir_start_batch_size";
/// Histogram (`workflow`): from the time an instance was due to its driver starting, once
/// claimed (claim delay; grows when workers are saturated).
pub const CLAIM_TO_START_DELAY: &str = "sayiir_claim_to_start_delay_seconds";
/// Histogram (`workflow`): how late a timer (or a signal's deadline) fired: the transition's
/// time less the due time.
pub const TIMER_LATENESS: &str = "sayiir_timer_lateness_seconds";

/// Counter (`workflow`): committed transitions.
pub const TRANSITIONS: &str = "sayiir_transitions_total";
/// Counter (`workflow`, `task`): task attempts started.
pub const TASKS_STARTED: &str = "sayiir_tasks_started_total";
/// Counter (`workflow`, `task`): attempts that returned `Ok`.
pub const TASKS_SUCCEEDED: &str = "sayiir_tasks_succeeded_total";
/// Counter (`workflow`, `task`): attempts that returned `Err` (timeouts apart).
pub const TASKS_FAILED: &str = "sayiir_tasks_failed_total";
/// Counter (`workflow`, `task`): attempts cut off by their timeout.
pub const TASKS_TIMED_OUT: &str = "sayiir_tasks_timed_out_total";
/// Counter (`workflow`, `task`): failed attempts scheduled for a retry.
pub const TASKS_RETRIED: &str = "sayiir_tasks_retried_total";
/// Counter (`workflow`, `task`): attempts that panicked (the instance is blocked).
pub const TASKS_PANICKED: &str = "sayiir_tasks_panicked_total";
/// Counter (`workflow`): instances created by this process's starts (not found existing).
pub const INSTANCES_STARTED: &str = "sayiir_instances_started_total";
/// Counter (`workflow`): instances this process's workers finished with success.
pub const INSTANCES_COMPLETED: &str = "sayiir_instances_completed_total";
/// Counter (`workflow`): instances this process's workers finished with an error output.
pub const INSTANCES_FAILED: &str = "sayiir_instances_failed_total";
/// Counter (`workflow`): instances cancelled through this process.
pub const INSTANCES_CANCELLED: &str = "sayiir_instances_cancelled_total";
/// Counter (`workflow`, `kind`): instances this process blocked (`kind`: the block kind's
/// stable name: `parked`, `panicked`, `version_mismatch`…).
pub const INSTANCES_BLOCKED: &str = "sayiir_instances_blocked_total";
/// Counter (`workflow`): commits refused because another writer moved the instance on (the
/// sequence-number check), or found it cancelled.
pub const COMMIT_CONFLICTS: &str = "sayiir_commit_conflicts_total";
/// Counter (`workflow`): claims that took over a lease never given up (its holder died or
/// stalled past its expiry).
pub const LEASE_TAKEOVERS: &str = "sayiir_lease_takeovers_total";
/// Counter: leases a renewal found taken from a driver that still meant to drive (taken over
/// by another worker after expiry, or the instance cancelled or restarted meanwhile).
pub const LEASES_LOST: &str = "sayiir_leases_lost_total";
/// Counter (`workflow`): signals sent through this process.
pub const SIGNALS_SENT: &str = "sayiir_signals_sent_total";
/// Counter (`workflow`): signals consumed by committed transitions.
pub const SIGNALS_CONSUMED: &str = "sayiir_signals_consumed_total";
/// Counter (`kind`: `pause`, `resume`, `retry`, `fail`, `cancel`): operators' actions accepted.
pub const OPERATIONS: &str = "sayiir_operations_total";
/// Counter (`workflow`, `trigger`: `tick` or `backfill`): runs of schedules started by this
/// process (a backfilled tick that already had its run is not counted).
pub const SCHEDULE_RUNS: &str = "sayiir_schedule_runs_total";
/// Counter (`workflow`): ticks of schedules this process did not run because the previous run
/// was still running (overlap `skip`, or a second tick behind `buffer_one`).
pub const SCHEDULE_TICKS_SKIPPED: &str = "sayiir_schedule_ticks_skipped_total";
/// Histogram (`workflow`): from a tick to the write that started its run (catch-up runs
/// included, backfills not).
pub const SCHEDULE_FIRE_DELAY: &str = "sayiir_schedule_fire_delay_seconds";

/// Gauge: workers running in this process.
pub const WORKERS: &str = "sayiir_workers";
/// Gauge: instances this process's workers drive now.
pub const INSTANCES_IN_FLIGHT: &str = "sayiir_instances_in_flight";
/// Gauge: the most instances this process's workers may drive at once (the sum of their
/// `max_instances`; utilization is in flight / limit).
pub const INSTANCES_LIMIT: &str = "sayiir_instances_limit";
/// Gauge: instances due but not claimed, in the whole store (sampled by workers).
pub const DUE_BACKLOG: &str = "sayiir_due_backlog";
/// Gauge: age of the oldest due but unclaimed instance, in the whole store (sampled).
pub const DUE_BACKLOG_AGE: &str = "sayiir_due_backlog_age_seconds";
/// Gauge: instances that need an operator (parked, panicked, version mismatch…), in the
/// whole store (sampled).
pub const NEEDING_ATTENTION: &str = "sayiir_instances_needing_attention";
/// Gauge: of those, the instances parked after their retries ran out (the dead letters), in
/// the whole store (sampled).
pub const PARKED: &str = "sayiir_instances_parked";

/// Describes every metric (unit and meaning) to the installed recorder. The engine does so
/// when it is built; call it again after installing a recorder later.
pub fn describe() {
    use Unit::{Count, Seconds};
    let histograms = [
        (
            TASK_ATTEMPT_DURATION,
            Seconds,
            "duration of task attempts, by outcome",
        ),
        (
            STEP_LATENCY,
            Seconds,
            "from the event a transition feeds to its commit acknowledged",
        ),
        (
            COMMIT_BATCH_SIZE,
            Count,
            "transitions written per commit transaction",
        ),
        (COMMIT_DURATION, Seconds, "duration of commit transactions"),
        (
            START_BATCH_SIZE,
            Count,
            "instances created per creation transaction",
        ),
        (
            CLAIM_TO_START_DELAY,
            Seconds,
            "from an instance's due time to its driver starting",
        ),
        (
            TIMER_LATENESS,
            Seconds,
            "how late timers and signal deadlines fired",
        ),
        (
            SCHEDULE_FIRE_DELAY,
            Seconds,
            "from a schedule's tick to the write that started its run",
        ),
    ];
    for (name, unit, help) in histograms {
        describe_histogram!(name, unit, help);
    }
    let counters = [
        (TRANSITIONS, "committed transitions"),
        (TASKS_STARTED, "task attempts started"),
        (TASKS_SUCCEEDED, "task attempts that returned Ok"),
        (
            TASKS_FAILED,
            "task attempts that returned Err (timeouts apart)",
        ),
        (TASKS_TIMED_OUT, "task attempts cut off by their timeout"),
        (TASKS_RETRIED, "failed task attempts scheduled for a retry"),
        (TASKS_PANICKED, "task attempts that panicked"),
        (INSTANCES_STARTED, "instances created"),
        (INSTANCES_COMPLETED, "instances finished with success"),
        (INSTANCES_FAILED, "instances finished with an error output"),
        (INSTANCES_CANCELLED, "instances cancelled"),
        (INSTANCES_BLOCKED, "instances blocked, by block kind"),
        (
            COMMIT_CONFLICTS,
            "commits refused: another writer moved the instance on",
        ),
        (LEASE_TAKEOVERS, "claims that took over an expired lease"),
        (
            LEASES_LOST,
            "leases found lost by a driver that still meant to drive",
        ),
        (SIGNALS_SENT, "signals sent"),
        (
            SIGNALS_CONSUMED,
            "signals consumed by committed transitions",
        ),
        (OPERATIONS, "operators' actions accepted, by kind"),
        (SCHEDULE_RUNS, "runs of schedules started, by trigger"),
        (
            SCHEDULE_TICKS_SKIPPED,
            "ticks of schedules not run: the previous run was still running",
        ),
    ];
    for (name, help) in counters {
        describe_counter!(name, Count, help);
    }
    let gauges = [
        (WORKERS, Count, "workers running in this process"),
        (
            INSTANCES_IN_FLIGHT,
            Count,
            "instances driven now by this process's workers",
        ),
        (
            INSTANCES_LIMIT,
            Count,
            "most instances this process's workers may drive at once",
        ),
        (
            DUE_BACKLOG,
            Count,
            "instances due but not claimed (sampled from the store)",
        ),
        (
            DUE_BACKLOG_AGE,
            Seconds,
            "age of the oldest due, unclaimed instance (sampled)",
        ),
        (
            NEEDING_ATTENTION,
            Count,
            "instances that need an operator (sampled from the store)",
        ),
        (
            PARKED,
            Count,
            "instances parked after their retries ran out (sampled from the store)",
        ),
    ];
    for (name, unit, help) in gauges {
        describe_gauge!(name, unit, help);
    }
}

/// Every metric's name (tests check that each is described and rendered).
pub const ALL: [&str; 35] = [
    TASK_ATTEMPT_DURATION,
    STEP_LATENCY,
    COMMIT_BATCH_SIZE,
    COMMIT_DURATION,
    START_BATCH_SIZE,
    CLAIM_TO_START_DELAY,
    TIMER_LATENESS,
    TRANSITIONS,
    TASKS_STARTED,
    TASKS_SUCCEEDED,
    TASKS_FAILED,
    TASKS_TIMED_OUT,
    TASKS_RETRIED,
    TASKS_PANICKED,
    INSTANCES_STARTED,
    INSTANCES_COMPLETED,
    INSTANCES_FAILED,
    INSTANCES_CANCELLED,
    INSTANCES_BLOCKED,
    COMMIT_CONFLICTS,
    LEASE_TAKEOVERS,
    LEASES_LOST,
    SIGNALS_SENT,
    SIGNALS_CONSUMED,
    OPERATIONS,
    WORKERS,
    INSTANCES_IN_FLIGHT,
    INSTANCES_LIMIT,
    DUE_BACKLOG,
    DUE_BACKLOG_AGE,
    NEEDING_ATTENTION,
    PARKED,
    SCHEDULE_RUNS,
    SCHEDULE_TICKS_SKIPPED,
    SCHEDULE_FIRE_DELAY,
];
