//! The instances of the `list` scenario: a realistic mix, generated deterministically, kept in
//! memory (a few dozen bytes each) so that each listing can be checked and given a cursor deep
//! in its results.

use sayiir_store::{
    BlockKind, BlockWrite, Blocked, DefinitionHash, DefinitionRef, Event, Fingerprint, InstanceId,
    NewInstance, Next, Status, Timestamp, Transition,
};

use crate::BoxError;

/// Workflows and their shares (percent). Their names start with distinct letters, so ids
/// (`<workflow>-<n>`) sort by workflow, then by `n`.
pub(crate) const WORKFLOWS: [(&str, u32); 6] = [
    ("audit", 3),
    ("billing", 15),
    ("checkout", 40),
    ("email", 10),
    ("refund", 7),
    ("shipping", 25),
];

/// How long ago the oldest instance was created: a month.
pub(crate) const SPAN_MS: i64 = 30 * DAY_MS;
pub(crate) const DAY_MS: i64 = 86_400_000;
pub(crate) const HOUR_MS: i64 = 3_600_000;

/// Block kinds of the blocked instances and their shares (percent).
const BLOCKS: [(BlockKind, u32); 9] = [
    (BlockKind::Parked, 35),
    (BlockKind::Panicked, 15),
    (BlockKind::Paused, 15),
    (BlockKind::VersionMismatch, 10),
    (BlockKind::RetryRequested, 5),
    (BlockKind::FailRequested, 5),
    (BlockKind::CorruptState, 5),
    (BlockKind::IterationLimit, 5),
    (BlockKind::PayloadTooLarge, 5),
];

/// One instance, as the store holds it once filled.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    /// Its number: its id is `<workflow>-<n>` (8 digits), created in `n` order.
    pub(crate) n: u32,
    /// Index in [`WORKFLOWS`].
    pub(crate) wf: u8,
    pub(crate) version: u32,
    pub(crate) status: Status,
    pub(crate) block: Option<BlockKind>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) due: Option<i64>,
    /// Leased by the claim after the fill.
    pub(crate) leased: bool,
}

impl Meta {
    pub(crate) fn workflow(&self) -> &'static str {
        WORKFLOWS[usize::from(self.wf)].0
    }

    pub(crate) fn id(&self) -> String {
        id_of(self.workflow(), self.n)
    }

    /// The order of ids: workflow, then number.
    pub(crate) fn key(&self) -> (u8, u32) {
        (self.wf, self.n)
    }

    /// Due and unclaimed at `now` ([`sayiir_store::Store::backlog`]).
    pub(crate) fn in_backlog(&self, now: i64) -> bool {
        self.status == Status::Running
            && self.due.is_some_and(|d| d <= now)
            && self.block.is_none_or(BlockKind::is_request)
            && !self.leased
    }

    fn definition(&self) -> DefinitionRef {
        let tag = self.wf * 16 + u8::try_from(self.version).unwrap_or(0);
        DefinitionRef {
            version: self.version,
            hash: DefinitionHash([tag; 32]),
            fingerprint: Fingerprint([tag ^ 0xff; 32]),
        }
    }

    /// The creation, as the engine writes it (a state, an input, entry 0).
    pub(crate) fn new_instance(&self) -> Result<NewInstance, BoxError> {
        let event = Event {
            kind: "started".into(),
            payload: vec![1; 32],
        };
        // Due at creation, except the running ones that were never blocked, which are created
        // as they are now (waiting, or due at their due time).
        let due = match (self.status, self.block) {
            (Status::Running, None) => self.due,
            _ => Some(self.created),
        };
        Ok(NewInstance::new(
            InstanceId::new(self.id())?,
            self.workflow(),
            self.definition(),
            "start",
            vec![0; 96],
            event,
            Timestamp(self.created),
        )
        .input(vec![2; 32])
        .due_at(due.map(Timestamp)))
    }

    /// The commit that leaves it as it is (finished, or blocked), if creating it did not.
    pub(crate) fn transition(&self) -> Result<Option<Transition>, BoxError> {
        let id = InstanceId::new(self.id())?;
        let event = |kind: &str| Event {
            kind: kind.into(),
            payload: vec![3; 32],
        };
        let now = Timestamp(self.updated);
        Ok(match (self.status, self.block) {
            (Status::Running, None) => None,
            (Status::Running, Some(kind)) => {
                let next = Next::Running {
                    state: vec![4; 96],
                    due_at: self.due.map(Timestamp),
                    state_id: "charge#1".into(),
                };
                let block = Blocked {
                    kind,
                    reason: format!("{kind} in the benchmark"),
                    at: now,
                };
                Some(Transition::new(id, 0, next, event("task"), now).block(BlockWrite::Set(block)))
            }
            (status, _) => {
                let next = Next::Finished {
                    status,
                    output: vec![5; 32],
                };
                Some(Transition::new(id, 0, next, event("finished"), now))
            }
        })
    }
}

/// The id of instance `n` of `workflow`.
fn id_of(workflow: &str, n: u32) -> String {
    format!("{workflow}-{n:08}")
}

/// splitmix64: a deterministic stream of numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u32) -> u32 {
        u32::try_from(self.next() % u64::from(n)).unwrap_or(0)
    }

    /// The item whose share (percent) the draw falls in.
    fn pick<T: Copy>(&mut self, shares: &[(T, u32)]) -> Option<T> {
        let mut r = self.below(100);
        for (item, share) in shares {
            if r < *share {
                return Some(*item);
            }
            r -= share;
        }
        None
    }
}

/// `count` instances created over the month before `now`, in creation order: 90% completed,
/// 4% failed, 1% cancelled, 5% running (of those a fifth blocked, most waiting for an event
/// or due later, and some due now); versions 3 (80%), 2 (15%) and 1 (5%, the old version
/// being drained).
pub(crate) fn generate(count: usize, now: i64) -> Vec<Meta> {
    let mut rng = Rng(0x5359_5952);
    let count_i = i64::try_from(count.max(1)).unwrap_or(i64::MAX);
    (0..count)
        .map(|i| {
            let n = u32::try_from(i).unwrap_or(u32::MAX);
            let created = now - SPAN_MS + i64::from(n) * SPAN_MS / count_i;
            let wf = (0..WORKFLOWS.len())
                .map(|w| (u8::try_from(w).unwrap_or(0), WORKFLOWS[w].1))
                .collect::<Vec<_>>();
            let wf = rng.pick(&wf).unwrap_or(0);
            let version = match rng.below(100) {
                0..5 => 1,
                5..20 => 2,
                _ => 3,
            };
            let later = i64::from(rng.below(3_600_000)) + 1_000;
            let mut meta = Meta {
                n,
                wf,
                version,
                status: Status::Completed,
                block: None,
                created,
                updated: created + later,
                due: None,
                leased: false,
            };
            match rng.below(1000) {
                0..900 => {}
                900..940 => meta.status = Status::Failed,
                940..950 => meta.status = Status::Cancelled,
                _ => {
                    meta.status = Status::Running;
                    match rng.below(100) {
                        0..20 => {
                            meta.block = rng.pick(&BLOCKS);
                            meta.due = Some(created + later);
                        }
                        20..60 => meta.updated = created,
                        60..85 => {
                            meta.updated = created;
                            meta.due = Some(now + HOUR_MS + i64::from(rng.below(86_400_000)));
                        }
                        _ => {
                            meta.updated = created;
                            meta.due = Some(created + later);
                        }
                    }
                }
            }
            if meta.updated > now {
                meta.updated = now;
            }
            meta
        })
        .collect()
}
