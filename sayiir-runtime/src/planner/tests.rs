//! The planner's decisions, table by table: immediate work, tasks by slot, retries and their
//! backoff, timeouts, timers, signals (buffered, expired), and `continue_as_new`.

use std::time::Duration;

use sayiir_store::{SignalRecord, Timestamp};

use super::*;

const NOW: Timestamp = Timestamp(1_000_000);

fn at(offset_ms: i64) -> Timestamp {
    Timestamp(NOW.0 + offset_ms)
}

fn item(slot: &[u32], kind: WorkKind) -> WorkItem {
    WorkItem {
        slot: slot.to_vec(),
        kind,
    }
}

fn task_kind(attempt: u32, not_before: Option<Timestamp>, timeout_ms: Option<u64>) -> WorkKind {
    WorkKind::Task {
        name: "charge",
        attempt,
        origin: 7,
        options: TaskOptions {
            retries: 3,
            timeout: timeout_ms.map(Duration::from_millis),
            ..TaskOptions::DEFAULT
        },
        not_before,
        deadline: None,
    }
}

fn task(slot: &[u32]) -> WorkItem {
    item(slot, task_kind(1, None, None))
}

fn backoff(slot: &[u32], until: Timestamp) -> WorkItem {
    item(slot, task_kind(2, Some(until), None))
}

fn timed(slot: &[u32], deadline: Option<Timestamp>) -> WorkItem {
    let mut kind = task_kind(1, None, Some(500));
    if let WorkKind::Task { deadline: d, .. } = &mut kind {
        *d = deadline;
    }
    item(slot, kind)
}

fn timer(slot: &[u32], due: Timestamp) -> WorkItem {
    item(slot, WorkKind::Timer { due })
}

fn signal(slot: &[u32], name: &str, deadline: Option<Timestamp>) -> WorkItem {
    item(
        slot,
        WorkKind::Signal {
            name: name.into(),
            deadline,
        },
    )
}

fn buffered(id: u64, name: &str) -> SignalRecord {
    SignalRecord {
        signal_id: id,
        name: name.into(),
        payload: vec![id as u8],
        sent_at: at(-10),
    }
}

fn idle(next_due: Option<Timestamp>, signals: &[&str]) -> Decision {
    Decision::Idle {
        next_due,
        signals: signals.iter().map(|s| s.to_string()).collect(),
    }
}

struct Case {
    what: &'static str,
    work: Vec<WorkItem>,
    running: Vec<SlotPath>,
    pending: Vec<SignalRecord>,
    /// Slots of the attempts started, in order.
    starts: Vec<SlotPath>,
    decision: Decision,
}

fn check(cases: Vec<Case>) {
    for c in cases {
        let plan =
            plan(&c.work, c.running.as_slice(), NOW).unwrap_or_else(|e| panic!("{}: {e}", c.what));
        let starts: Vec<SlotPath> = plan.start.iter().map(|a| a.slot.clone()).collect();
        assert_eq!(starts, c.starts, "{}: attempts started", c.what);
        let needs = plan.needs_signals();
        let decision = plan.decide(&c.pending);
        assert_eq!(decision, c.decision, "{}: decision", c.what);
        if !needs {
            assert!(
                !matches!(decision, Decision::Fire(_, Feed::Signal(_))),
                "{}: a signal was taken without reading them",
                c.what
            );
        }
    }
}

#[test]
fn immediate_work_and_tasks_by_slot() {
    check(vec![
        Case {
            what: "a fresh state starts",
            work: vec![item(&[], WorkKind::Immediate)],
            running: vec![],
            pending: vec![],
            starts: vec![],
            decision: Decision::Fire(vec![], Feed::Start),
        },
        Case {
            what: "a task not running starts; the run waits for it",
            work: vec![task(&[])],
            running: vec![],
            pending: vec![],
            starts: vec![vec![]],
            decision: Decision::Wait { next_due: None },
        },
        Case {
            what: "a running task is not started again",
            work: vec![task(&[])],
            running: vec![vec![]],
            pending: vec![],
            starts: vec![],
            decision: Decision::Wait { next_due: None },
        },
        Case {
            what: "a join starts only the branches not running",
            work: vec![task(&[0]), task(&[1]), task(&[2])],
            running: vec![vec![1]],
            pending: vec![],
            starts: vec![vec![0], vec![2]],
            decision: Decision::Wait { next_due: None },
        },
        Case {
            what: "attempts start alongside a ready event",
            work: vec![task(&[0]), timer(&[1], at(0))],
            running: vec![],
            pending: vec![],
            starts: vec![vec![0]],
            decision: Decision::Fire(vec![1], Feed::Timer),
        },
    ]);
}

#[test]
fn retries_wait_for_their_backoff_and_timeouts_commit_a_deadline_first() {
    check(vec![
        Case {
            what: "a retry before its backoff ends waits for it",
            work: vec![backoff(&[], at(250))],
            running: vec![],
            pending: vec![],
            starts: vec![],
            decision: idle(Some(at(250)), &[]),
        },
        Case {
            what: "a retry whose backoff ended starts",
            work: vec![backoff(&[], at(0))],
            running: vec![],
            pending: vec![],
            starts: vec![vec![]],
            decision: Decision::Wait { next_due: None },
        },
        Case {
            what: "a branch in backoff beside a running one: wait for both",
            work: vec![backoff(&[0], at(250)), task(&[1])],
            running: vec![vec![1]],
            pending: vec![],
            starts: vec![],
            decision: Decision::Wait {
                next_due: Some(at(250)),
            },
        },
        Case {
            what: "a task with a timeout first commits its deadline",
            work: vec![timed(&[], None)],
            running: vec![],
            pending: vec![],
            starts: vec![],
            decision: Decision::Fire(vec![], Feed::Started { deadline: at(500) }),
        },
        Case {
            what: "with its deadline committed, it starts",
            work: vec![timed(&[], Some(at(400)))],
            running: vec![],
            pending: vec![],
            starts: vec![vec![]],
            decision: Decision::Wait { next_due: None },
        },
    ]);
    let p = plan(&[timed(&[], Some(at(400)))], &[][..], NOW).unwrap();
    assert_eq!(
        p.start[0].cutoff(),
        Some(at(400)),
        "cut off at its deadline"
    );
    let p = plan(&[task(&[])], &[][..], NOW).unwrap();
    assert_eq!(p.start[0].cutoff(), None, "no timeout, no cutoff");
    assert_eq!(
        p.start[0],
        Attempt {
            slot: vec![],
            task: "charge",
            attempt: 1,
            origin: 7,
            options: TaskOptions {
                retries: 3,
                ..TaskOptions::DEFAULT
            },
            deadline: None,
        }
    );
}

#[test]
fn timers_fire_when_due_and_the_last_ready_item_wins() {
    check(vec![
        Case {
            what: "a due timer fires",
            work: vec![timer(&[], at(-1))],
            running: vec![],
            pending: vec![],
            starts: vec![],
            decision: Decision::Fire(vec![], Feed::Timer),
        },
        Case {
            what: "a timer not due yet: idle until it is",
            work: vec![timer(&[], at(60_000))],
            running: vec![],
            pending: vec![],
            starts: vec![],
            decision: idle(Some(at(60_000)), &[]),
        },
        Case {
            what: "the earliest due time of several",
            work: vec![
                timer(&[0], at(60_000)),
                backoff(&[1], at(30_000)),
                signal(&[2], "go", Some(at(45_000))),
            ],
            running: vec![],
            pending: vec![],
            starts: vec![],
            decision: idle(Some(at(30_000)), &["go"]),
        },
        Case {
            what: "two due timers: the last one in state order fires first",
            work: vec![timer(&[0], at(-5)), timer(&[1], at(-1))],
            running: vec![],
            pending: vec![],
            starts: vec![],
            decision: Decision::Fire(vec![1], Feed::Timer),
        },
    ]);
}

#[test]
fn signals_are_taken_in_state_order_before_expired_deadlines() {
    check(vec![
        Case {
            what: "a signal wait with nothing buffered is idle, naming the signal",
            work: vec![signal(&[], "approval", None)],
            running: vec![],
            pending: vec![],
            starts: vec![],
            decision: idle(None, &["approval"]),
        },
        Case {
            what: "a buffered signal of another name is not taken",
            work: vec![signal(&[], "approval", None)],
            running: vec![],
            pending: vec![buffered(1, "other")],
            starts: vec![],
            decision: idle(None, &["approval"]),
        },
        Case {
            what: "the first buffered signal of the name is taken",
            work: vec![signal(&[], "approval", None)],
            running: vec![],
            pending: vec![
                buffered(1, "other"),
                buffered(2, "approval"),
                buffered(3, "approval"),
            ],
            starts: vec![],
            decision: Decision::Fire(vec![], Feed::Signal(buffered(2, "approval"))),
        },
        Case {
            what: "listening slots in state order",
            work: vec![signal(&[0], "a", None), signal(&[1], "b", None)],
            running: vec![],
            pending: vec![buffered(1, "b"), buffered(2, "a")],
            starts: vec![],
            decision: Decision::Fire(vec![0], Feed::Signal(buffered(2, "a"))),
        },
        Case {
            what: "a deadline passed with nothing buffered fires as a timer",
            work: vec![signal(&[], "approval", Some(at(-1)))],
            running: vec![],
            pending: vec![],
            starts: vec![],
            decision: Decision::Fire(vec![], Feed::Timer),
        },
        Case {
            what: "a signal buffered before the deadline passed still wins",
            work: vec![signal(&[], "approval", Some(at(-1)))],
            running: vec![],
            pending: vec![buffered(4, "approval")],
            starts: vec![],
            decision: Decision::Fire(vec![], Feed::Signal(buffered(4, "approval"))),
        },
        Case {
            what: "a deadline ahead: idle until it, or a signal",
            work: vec![signal(&[], "approval", Some(at(86_400_000)))],
            running: vec![],
            pending: vec![],
            starts: vec![],
            decision: idle(Some(at(86_400_000)), &["approval"]),
        },
        Case {
            what: "a ready event goes before buffered signals",
            work: vec![signal(&[0], "a", None), timer(&[1], at(0))],
            running: vec![],
            pending: vec![buffered(1, "a")],
            starts: vec![],
            decision: Decision::Fire(vec![1], Feed::Timer),
        },
        Case {
            what: "a signal branch beside a running task: wait for the task",
            work: vec![signal(&[0], "a", None), task(&[1])],
            running: vec![],
            pending: vec![],
            starts: vec![vec![1]],
            decision: Decision::Wait { next_due: None },
        },
    ]);
    let p = plan(&[signal(&[], "a", None)], &[][..], NOW).unwrap();
    assert!(p.needs_signals());
    let p = plan(&[signal(&[0], "a", None), timer(&[1], at(0))], &[][..], NOW).unwrap();
    assert!(!p.needs_signals(), "something else is ready");
    let p = plan(&[task(&[])], &[][..], NOW).unwrap();
    assert!(!p.needs_signals(), "nobody listens");
}

#[test]
fn continue_as_new_restarts_the_run_or_the_child() {
    let cont = |slot: &[u32], depth| {
        item(
            slot,
            WorkKind::Continue {
                input: vec![9, depth as u8],
                depth,
            },
        )
    };
    assert_eq!(restart_of(&[task(&[])]), None);
    let work = [cont(&[], 0)];
    let r = restart_of(&work);
    assert_eq!(r, Some(Restart::Run { start: &[9, 0] }));
    let work = [task(&[0]), cont(&[1, 2], 2), cont(&[3], 0)];
    let r = restart_of(&work);
    assert_eq!(
        r,
        Some(Restart::Child {
            slot: &[1, 2],
            start: &[9, 2],
            depth: 2
        }),
        "the first restart in state order"
    );
    // A state left waiting on a restart is refused by the planner.
    assert_eq!(
        plan(&[task(&[0]), cont(&[1], 1)], &[][..], NOW).err(),
        Some(Continues)
    );
    assert_eq!(plan(&[cont(&[], 0)], &[][..], NOW).err(), Some(Continues));
}

#[test]
fn a_failed_attempt_retries_after_its_backoff_until_the_last_one() {
    let p = plan(&[task(&[4])], &[][..], NOW).unwrap();
    let a = &p.start[0];
    let err = |permanent| TaskOutput {
        bytes: vec![1, 2],
        is_error: true,
        permanent,
    };
    let Feed::Retry {
        task,
        failed,
        not_before,
        error,
    } = outcome("i-1", a, err(false), NOW)
    else {
        panic!("a failed first attempt of a task with retries is retried")
    };
    assert_eq!((task, failed, error), ("charge", 1, vec![1, 2]));
    // Equal jitter around the first backoff (100 ms), reproducible for the same call.
    assert!(
        not_before >= at(50) && not_before <= at(100),
        "{not_before:?}"
    );
    assert_eq!(
        outcome("i-1", a, err(false), NOW),
        outcome("i-1", a, err(false), NOW)
    );
    assert_eq!(
        outcome("i-1", a, err(true), NOW),
        Feed::Task("charge", 1, err(true)),
        "a permanent error goes to the workflow"
    );
    let last = Attempt {
        attempt: 4,
        ..a.clone()
    };
    assert_eq!(
        outcome("i-1", &last, err(false), NOW),
        Feed::Task("charge", 4, err(false)),
        "after the last retry the error goes to the workflow"
    );
    let ok = TaskOutput {
        bytes: vec![3],
        is_error: false,
        permanent: false,
    };
    assert_eq!(
        outcome("i-1", a, ok.clone(), NOW),
        Feed::Task("charge", 1, ok.clone())
    );

    // Parking: only an error that could have been retried, with no attempt left, of a task
    // whose resolved policy is `Park`.
    let parking = |attempt, on_exhausted| Attempt {
        attempt,
        options: TaskOptions {
            on_exhausted,
            ..a.options
        },
        ..a.clone()
    };
    let last_parks = parking(4, OnExhausted::Park);
    let exhausted = outcome("i-1", &last_parks, err(false), NOW);
    assert!(parks(&last_parks, &exhausted), "exhausted: parked");
    let first_parks = parking(1, OnExhausted::Park);
    let retried = outcome("i-1", &first_parks, err(false), NOW);
    assert!(!parks(&first_parks, &retried), "attempts left: retried");
    let permanent = outcome("i-1", &last_parks, err(true), NOW);
    assert!(!parks(&last_parks, &permanent), "a permanent error flows");
    let value = outcome("i-1", &last_parks, ok, NOW);
    assert!(!parks(&last_parks, &value), "a value flows");
    let last_fails = parking(4, OnExhausted::Fail);
    let flows = outcome("i-1", &last_fails, err(false), NOW);
    assert!(!parks(&last_fails, &flows), "policy fail: the error flows");
}

#[test]
fn stored_due_times_stay_while_past_and_listening_names_the_signals() {
    let work = [task(&[0]), signal(&[1], "go", Some(at(5_000)))];
    // Runnable now: an older past due time stays, a newer one is not taken.
    assert_eq!(due_at(&work, NOW, Some(at(-3_000))), Some(at(-3_000)));
    assert_eq!(due_at(&work, NOW, Some(at(2_000))), Some(NOW));
    assert_eq!(due_at(&work, NOW, None), Some(NOW));
    // Not runnable before a time: that time, whatever is stored.
    let later = [timer(&[], at(9_000))];
    assert_eq!(due_at(&later, NOW, Some(at(-3_000))), Some(at(9_000)));
    // Waiting for an outside event only: no due time.
    assert_eq!(due_at(&[signal(&[], "go", None)], NOW, Some(NOW)), None);
    assert_eq!(listening(&work), ["go"]);
    assert!(listening(&later).is_empty());
}

/// `feeds_task_ends_only` says what `plan` would: nothing ready, nobody listening, no restart.
#[test]
fn feeds_task_ends_only_agrees_with_the_plan() {
    let running: Vec<SlotPath> = vec![vec![0]];
    let cases: Vec<(Vec<WorkItem>, bool)> = vec![
        (vec![task(&[0]), task(&[1])], true),
        (vec![task(&[0]), backoff(&[1], at(10))], true),
        (vec![task(&[0]), backoff(&[1], at(-10))], true),
        (vec![task(&[0]), timed(&[1], None)], false),
        (vec![task(&[0]), timed(&[1], Some(at(100)))], true),
        (vec![timed(&[0], None)], true),
        (vec![task(&[0]), timer(&[1], at(5))], true),
        (vec![task(&[0]), timer(&[1], at(0))], false),
        (vec![task(&[0]), signal(&[1], "go", None)], false),
        (vec![task(&[0]), signal(&[1], "go", Some(at(50)))], false),
        (vec![task(&[0]), item(&[1], WorkKind::Immediate)], false),
        (
            vec![
                task(&[0]),
                item(
                    &[1],
                    WorkKind::Continue {
                        input: vec![1],
                        depth: 0,
                    },
                ),
            ],
            false,
        ),
        (vec![], true),
    ];
    for (work, expected) in cases {
        let by_plan = match plan(&work, running.as_slice(), NOW) {
            Ok(p) => p.ready.is_none() && p.listening.is_empty(),
            Err(Continues) => false,
        };
        assert_eq!(by_plan, expected, "plan of {work:?}");
        assert_eq!(
            feeds_task_ends_only(&work, running.as_slice(), NOW),
            expected,
            "{work:?}"
        );
    }
}
