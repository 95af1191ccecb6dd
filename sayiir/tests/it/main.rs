//! The facade's integration tests, in one binary (one link instead of one per file). Each
//! module is one area; `common` holds the helpers they share. Tests that need other processes
//! (kills, several workers) re-run this binary with one ignored test selected by its full name
//! (`common::test_name!`).

mod common;

mod admin;
mod bad_input;
mod cancel;
mod context;
mod continue_as_new;
mod control_flow;
mod control_flow_more;
mod crash;
mod crash_events;
mod engine;
mod fanout;
mod flow_control;
mod format;
mod hash;
mod idle;
mod namespaces;
#[cfg(feature = "otel")]
mod otel;
mod pg_chaos;
mod pg_faults;
mod pg_fencing;
#[cfg(feature = "prometheus")]
mod priority;
mod prometheus;
mod renewal;
mod retries;
mod schedules;
mod signal_wakeups;
mod signals;
mod sleepers;
mod sqlite_one_worker;
mod start_batch;
mod start_many;
mod tracing_spans;
mod versions;
mod virtual_time;
