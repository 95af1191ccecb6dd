//! The backend-independent conformance suite: every backend must pass it unchanged.
//!
//! [`run_all`] runs each check on a fresh, empty store and panics naming the first check that
//! failed and what differed. Time never comes from the wall clock: every check passes explicit
//! [`Timestamp`]s, so the results do not depend on how fast the backend is.
//!
//! ```no_run
//! # async fn example() {
//! // In a backend's tests, under `#[tokio::test(flavor = "multi_thread")]`:
//! sayiir_store::conformance::run_all(|| async { sayiir_store::MemoryStore::new() }).await;
//! # }
//! ```
//!
//! The suite pins the behaviour of [`MemoryStore`](crate::MemoryStore), the reference
//! implementation, wherever the trait's documentation leaves a choice open:
//!
//! - a commit with a stale `expected_seq` on a finished instance fails with
//!   [`StoreError::Conflict`], not [`StoreError::Finished`] (the sequence number is checked
//!   first);
//! - [`Store::claim`] orders by rank (due time less [`InstanceRecord::head_start_ms`]), then
//!   by id;
//! - [`Store::list`] and [`Store::find_version_mismatches`] order ids by their bytes (UTF-8, as
//!   [`InstanceId`]'s `Ord`), not by a locale's collation;
//! - a worker cannot claim an instance it already holds a live lease on;
//! - a commit checks, in this order: the instance exists, the sequence number
//!   ([`StoreError::Conflict`]), finished ([`StoreError::Finished`]), paused
//!   ([`StoreError::Paused`], not for a finishing transition), then the consumed signals
//!   ([`StoreError::Conflict`] with `actual == expected`);
//! - an id listed twice in [`Transition::consume_signals`] is consumed once;
//! - an instance listed more than once in [`Store::commit_batch`] (which the trait does not
//!   ask for) gets its transitions applied in batch order, each checked against the head the
//!   ones before it left;
//! - a finishing transition leaves the instance's block as it was;
//! - signal ids are never reused, even after the newest signal was consumed;
//! - an id repeated in one [`Store::create_batch`] is created (or found) by its first
//!   occurrence; the later ones return that instance as [`Created::Existing`];
//! - a finishing transition may carry [`Transition::redefine`] too, and applies it;
//! - a restart checks the instance exists, then the sequence number; it does not make the
//!   instance due for its buffered signals (its `due_at` is stored as given);
//! - [`Store::load_input`] returns `Some(vec![])` for an instance created with an empty input;
//! - a key repeated in one [`Store::save_definitions`] call is stored by its first occurrence;
//! - a finishing transition applies its [`Transition::block`] as a running one does;
//! - [`Store::update_block`] checks, in this order: the instance exists, it is not finished
//!   ([`StoreError::Finished`]), then its block ([`StoreError::BlockState`]);
//! - a schedule's write checks the schedule exists, then its revision, before creating
//!   anything; schedule ids order by their bytes;
//! - a create that finds the instance keeps its stored trace context; a restart without a trace
//!   context keeps the stored one;
//! - [`Store::acquire_slot`] by a holder that already holds a slot grants it again (and leaves
//!   the waiting report as it was); a released slot is asked for again like any other; the
//!   limit reported is the last one asked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod admin_list;
mod audit;
mod batches;
mod commits;
mod concurrency;
mod counts;
mod creates;
mod folds;
mod gates;
mod generations;
mod leases;
mod limits;
mod listing;
mod namespaces;
mod priority;
mod restarts;
mod schedules;
mod signals;
mod trace;
mod upgrade;
mod versions;
mod workers;

pub use upgrade::{after_upgrade_from_unversioned, after_upgrade_to_lease_generations};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{
    Claim, ClaimRequest, Created, DefinitionHash, DefinitionRef, Event, Fingerprint, InstanceId,
    InstanceRecord, InstanceSummary, Lease, ListQuery, NewInstance, Next, Status, Store,
    StoreError, Timestamp, Transition, WorkerId, WorkflowKey,
};

/// One check: takes a fresh store and panics on a difference.
type Check<S> = fn(Arc<S>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

fn boxed(f: impl Future<Output = ()> + Send + 'static) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(f)
}

macro_rules! check {
    ($module:ident :: $name:ident) => {
        (
            stringify!($name),
            (|s| boxed($module::$name(s))) as Check<S>,
        )
    };
}

/// Every check, with its name.
fn checks<S: Store>() -> Vec<(&'static str, Check<S>)> {
    vec![
        check!(commits::create_new_and_existing),
        check!(creates::create_batch_new),
        check!(creates::create_batch_existing),
        check!(creates::create_batch_repeated_id),
        check!(creates::create_batch_concurrent),
        check!(commits::load_not_found),
        check!(commits::commit_compare_and_swap),
        check!(commits::commit_finished),
        check!(commits::commit_release_lease),
        check!(commits::commit_batch_mixed),
        check!(batches::commit_batch_large_mixed),
        check!(commits::history_gapless_and_paged),
        check!(folds::extra_events_numbered_in_order),
        check!(folds::extra_events_truncate_history),
        check!(folds::extra_events_in_batches),
        check!(commits::set_blocked_touches_nothing_else),
        check!(leases::claim_due_order_limit),
        check!(leases::claim_known_filter),
        check!(leases::claim_lease_exclusion),
        check!(leases::claim_blocked),
        check!(leases::renew_and_release),
        check!(generations::reclaim_gets_a_new_generation),
        check!(generations::claims_report_takeovers),
        check!(generations::stale_generation_is_fenced),
        check!(leases::next_due),
        check!(leases::find_version_mismatches),
        check!(leases::register_unregister),
        check!(listing::list_filters),
        check!(listing::list_cursor),
        check!(concurrency::concurrent_same_seq),
        check!(concurrency::concurrent_distinct_instances),
        check!(concurrency::concurrent_claims),
        check!(signals::signal_send_not_found_and_finished),
        check!(signals::signal_send_makes_due),
        check!(signals::signal_order_preserved),
        check!(signals::signal_consume_in_commit),
        check!(signals::signal_consume_race),
        check!(signals::signal_finish_deletes_pending),
        check!(signals::paused_refuses_running_commits),
        check!(signals::truncate_history_keeps_new_entry),
        check!(signals::listened_signal_keeps_instance_due),
        check!(versions::claim_filter_by_fingerprint),
        check!(versions::create_stores_version_and_input),
        check!(versions::commit_writes_state_id),
        check!(versions::commit_redefine),
        check!(versions::commit_batch_versions),
        check!(versions::list_filters_versions),
        check!(restarts::restart_running),
        check!(restarts::restart_blocked),
        check!(restarts::restart_finished),
        check!(restarts::restart_conflict_and_not_found),
        check!(restarts::definitions_first_registration_wins),
        check!(restarts::version_counts_grouped),
        check!(counts::counts_follow_every_write),
        check!(workers::heartbeat_records_and_replaces),
        check!(audit::audit_appends_and_pages),
        check!(workers::heartbeat_prunes_long_dead_workers),
        check!(workers::leases_list_live_leases),
        check!(admin::commits_set_and_clear_blocks),
        check!(admin::commit_batch_sets_and_clears_blocks),
        check!(admin::heads_carry_leases),
        check!(admin::claims_take_requests),
        check!(admin::update_block_compare_and_set),
        check!(admin::backlog_counts_due_unclaimed),
        check!(admin_list::list_admin_filters),
        check!(admin_list::list_admin_pages),
        check!(trace::trace_context_created_and_read),
        check!(trace::trace_context_restart),
        check!(schedules::schedules_created_once),
        check!(schedules::schedules_claimed_under_lease),
        check!(schedules::schedule_writes_fire_atomically),
        check!(schedules::schedule_delete_keeps_instances),
        check!(schedules::next_schedule_due_time),
        check!(schedules::schedule_claims_and_writes_race),
        check!(limits::slots_up_to_the_limit),
        check!(limits::slots_end_with_their_lease),
        check!(limits::slots_concurrent_never_exceed),
        check!(limits::waiters_reported_per_worker),
        check!(limits::rate_starts_are_spaced),
        check!(limits::rate_usage_reads_burst_and_waiting),
        check!(priority::priority_higher_first),
        check!(priority::priority_then_due_then_id),
        check!(priority::priority_aging_bounds_the_wait),
        check!(priority::priority_not_due_not_claimed),
        check!(priority::priority_survives_commits),
        check!(priority::priority_merge_in_small_claims),
        check!(gates::gates_admit_up_to_the_limit_in_order),
        check!(gates::gates_skip_a_waiter_whose_other_gate_is_full),
        check!(gates::gates_cancelled_waiter_and_last_limit),
        check!(gates::gates_restart_and_batches),
        check!(gates::gates_concurrent_never_over_admit),
        check!(gates::gates_admit_past_pages_of_skipped_waiters),
        check!(namespaces::namespaces_isolate_instances),
        check!(namespaces::namespaces_isolate_schedules_and_workers),
    ]
}

/// The names of the checks [`run_all`] runs, in order.
pub fn check_names() -> Vec<&'static str> {
    checks::<crate::MemoryStore>()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Runs every check, each on a store made by `fresh` (which must return an empty store each
/// time), and panics naming the first check that fails.
///
/// Must run inside a tokio runtime; the concurrency checks spawn tasks, so a multi-threaded
/// runtime exercises them best.
pub async fn run_all<F, Fut, S>(fresh: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
    S: Store,
{
    run_only(&check_names(), fresh).await;
}

/// Runs the checks named in `names` (see [`check_names`]), like [`run_all`]. Panics on an
/// unknown name.
pub async fn run_only<F, Fut, S>(names: &[&str], mut fresh: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
    S: Store,
{
    let all = checks::<S>();
    for name in names {
        let Some((name, check)) = all.iter().find(|(n, _)| n == name) else {
            panic!(
                "unknown conformance check `{name}`; the checks are {:?}",
                check_names()
            );
        };
        let store = Arc::new(fresh().await);
        // Run the check as a task, so that a panic (a failed assertion) is caught and reported
        // with the check's name.
        if let Err(e) = tokio::spawn(check(store)).await {
            let detail = if e.is_panic() {
                let payload = e.into_panic();
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "(non-string panic payload)".to_owned())
            } else {
                e.to_string()
            };
            panic!("conformance check `{name}` failed: {detail}");
        }
    }
}

// Builders shared by the checks. Unless a check says otherwise, an instance has version
// `VERSION`, hash `[h; 32]` and fingerprint `[FP; 32]` (neither the schema's defaults nor equal
// to the hash, so a column left out or swapped shows), state id `start`, and each running
// commit moves it to state `step#<new seq>`.

/// The version of the builders' instances.
const VERSION: u32 = 2;

/// The fingerprint byte of the builders' instances and keys.
const FP: u8 = 0xf0;

fn id(s: &str) -> InstanceId {
    InstanceId::new(s).expect("valid test id")
}

fn hash(h: u8) -> DefinitionHash {
    DefinitionHash([h; 32])
}

fn fingerprint(f: u8) -> Fingerprint {
    Fingerprint([f; 32])
}

fn key(workflow: &str, h: u8) -> WorkflowKey {
    key_fp(workflow, h, FP)
}

fn key_fp(workflow: &str, h: u8, f: u8) -> WorkflowKey {
    WorkflowKey {
        workflow: workflow.to_owned(),
        hash: hash(h),
        fingerprint: fingerprint(f),
    }
}

fn worker(name: &str) -> WorkerId {
    WorkerId(name.to_owned())
}

/// The claim of instance `i` by its claim of generation `generation` (its `generation`-th).
fn claim_of(i: &str, generation: u64) -> Claim {
    Claim {
        id: id(i),
        generation,
    }
}

/// [`claim_of`] each of `ids`.
fn claims_of(ids: &[&str], generation: u64) -> Vec<Claim> {
    ids.iter().map(|i| claim_of(i, generation)).collect()
}

/// The lease of `owner` by a claim of generation `generation`.
fn lease(owner: &str, generation: u64) -> Lease {
    Lease {
        owner: worker(owner),
        generation,
    }
}

fn event(kind: &str, payload: &[u8]) -> Event {
    Event {
        kind: kind.to_owned(),
        payload: payload.to_vec(),
    }
}

fn new_instance(i: &str, workflow: &str, h: u8, due_at: Option<i64>, now: i64) -> NewInstance {
    let def = DefinitionRef {
        version: VERSION,
        hash: hash(h),
        fingerprint: fingerprint(FP),
    };
    NewInstance::new(
        id(i),
        workflow,
        def,
        "start",
        format!("state of {i}").into_bytes(),
        event("started", format!("input of {i}").as_bytes()),
        Timestamp(now),
    )
    .input(format!("input of {i}").into_bytes())
    .due_at(due_at.map(Timestamp))
}

fn running(i: &str, expected_seq: u64, state: &[u8], due_at: Option<i64>, now: i64) -> Transition {
    Transition::new(
        id(i),
        expected_seq,
        Next::Running {
            state: state.to_vec(),
            due_at: due_at.map(Timestamp),
            state_id: format!("step#{}", expected_seq + 1),
        },
        event("step", state),
        Timestamp(now),
    )
}

fn finished(i: &str, expected_seq: u64, status: Status, output: &[u8], now: i64) -> Transition {
    Transition::new(
        id(i),
        expected_seq,
        Next::Finished {
            status,
            output: output.to_vec(),
        },
        event("finished", output),
        Timestamp(now),
    )
}

fn claim_req(
    owner: &str,
    now: i64,
    until: i64,
    limit: usize,
    known: &[WorkflowKey],
) -> ClaimRequest {
    ClaimRequest {
        owner: worker(owner),
        now: Timestamp(now),
        lease_until: Timestamp(until),
        limit,
        known: known.to_vec(),
    }
}

/// Creates an instance of workflow `wf` with hash 1, due at `due_at`, created at time 100.
async fn create<S: Store + ?Sized>(store: &S, i: &str, due_at: Option<i64>) -> InstanceRecord {
    create_with(store, new_instance(i, "wf", 1, due_at, 100)).await
}

/// Creates `new`, which must not exist yet.
async fn create_with<S: Store + ?Sized>(store: &S, new: NewInstance) -> InstanceRecord {
    let i = new.id.clone();
    match store.create(new).await {
        Ok(Created::New(record)) => record,
        other => panic!("create of new instance `{i}` returned {other:?}, expected Created::New"),
    }
}

/// Commits `t`, which must succeed.
async fn commit<S: Store + ?Sized>(store: &S, t: Transition) {
    let what = format!("commit of `{}` at expected_seq {}", t.id, t.expected_seq);
    if let Err(e) = store.commit(t).await {
        panic!("{what} failed: {e:?}");
    }
}

/// Claims with `req` and returns the ids claimed, in order.
async fn claim_ids<S: Store + ?Sized>(store: &S, req: ClaimRequest) -> Vec<String> {
    let what = format!("claim by `{}` at {:?}", req.owner, req.now);
    let claimed = store
        .claim(req)
        .await
        .unwrap_or_else(|e| panic!("{what} failed: {e:?}"));
    claimed
        .iter()
        .map(|c| c.record.id.as_str().to_owned())
        .collect()
}

/// Lists with `query`, checks every summary against the head, and returns the ids.
async fn list_ids<S: Store + ?Sized>(s: &S, query: ListQuery) -> Vec<String> {
    let listing = s
        .list(&query)
        .await
        .unwrap_or_else(|e| panic!("list {query:?} failed: {e:?}"));
    assert_eq!(listing.damaged, [], "no damaged rows");
    let found = listing.instances;
    for summary in &found {
        let head = load(s, summary.id.as_str()).await;
        assert_eq!(
            *summary,
            InstanceSummary::from(&head),
            "summary of `{}`",
            summary.id
        );
    }
    found.iter().map(|r| r.id.as_str().to_owned()).collect()
}

/// Loads `i`, which must exist.
async fn load<S: Store + ?Sized>(store: &S, i: &str) -> InstanceRecord {
    store
        .load(&id(i))
        .await
        .unwrap_or_else(|e| panic!("load of `{i}` failed: {e:?}"))
}

/// Asserts that `result` is `Err(StoreError::Conflict)` with these fields.
fn assert_conflict<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    i: &str,
    expected: u64,
    actual: u64,
    what: &str,
) {
    match result {
        Err(StoreError::Conflict {
            id: got,
            expected: e,
            actual: a,
        }) if got.as_str() == i && e == expected && a == actual => {}
        other => panic!(
            "{what}: got {other:?}, expected Conflict {{ id: {i:?}, expected: {expected}, actual: {actual} }}"
        ),
    }
}

/// Asserts that `result` is `Err(StoreError::NotFound)` for `i`.
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, i: &str, what: &str) {
    match result {
        Err(StoreError::NotFound { id: got }) if got.as_str() == i => {}
        other => panic!("{what}: got {other:?}, expected NotFound {{ id: {i:?} }}"),
    }
}

/// Asserts that `result` is `Err(StoreError::Finished)` for `i`.
fn assert_finished<T: std::fmt::Debug>(result: Result<T, StoreError>, i: &str, what: &str) {
    match result {
        Err(StoreError::Finished { id: got }) if got.as_str() == i => {}
        other => panic!("{what}: got {other:?}, expected Finished {{ id: {i:?} }}"),
    }
}
