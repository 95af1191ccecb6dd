//! Instances that need an operator: parking a call whose attempts are used up (its task says
//! `on_exhausted = "park"`), and carrying out what an operator asked of a parked instance
//! (`Engine::retry`: the call runs again from attempt 1; `Engine::fail`: its error flows into
//! the workflow). The request is stored as the instance's block; the claim that takes it hands
//! it to the driver, whose first commit carries it out and clears the block.

use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use sayiir_store::{BlockKind, BlockWrite, Blocked, Event, Next};
use tracing::Instrument;

use super::{Driver, Stop, commit_failure};
use crate::commit;
use crate::feed::Feed;
use crate::machine::{SlotPath, TaskOutput};
use crate::trace_context::store_span;

/// The payload of a `parked` history entry (docs/format.md): the call and its last error.
#[derive(Serialize, Deserialize)]
struct ParkedEvent {
    slot: Vec<u32>,
    task: String,
    attempt: u32,
    error: Vec<u8>,
}

/// How many history entries back the driver looks for the `parked` entry of a request (the
/// entry is the instance's last one unless a migration moved it since).
const PARKED_LOOKBACK: u64 = 8;

impl Driver {
    /// Parks the instance at the call at `slot` whose last attempt failed with `output`: one
    /// commit of the unchanged state with a `parked` history entry, the block
    /// [`BlockKind::Parked`] (the reason names the task, the attempts and the error) and the
    /// lease given up. Other attempts running in this driver are dropped when it stops; they
    /// run again, with the same idempotency keys, once the instance is retried or failed.
    pub(super) async fn park(
        &mut self,
        slot: SlotPath,
        task: &str,
        attempt: u32,
        output: TaskOutput,
    ) -> Stop {
        let inner = self.ctx.inner.clone();
        let now = inner.now();
        let error = crate::inspect::error_text(&self.shape, task, &output.bytes)
            .unwrap_or_else(|| format!("an error of {} bytes", output.bytes.len()));
        let reason = format!(
            "task `{task}` failed its last attempt ({attempt} of {attempt}): {error}; retry, \
             fail or cancel the instance"
        );
        let payload = match crate::codec::encode(&ParkedEvent {
            slot: slot.to_vec(),
            task: task.to_string(),
            attempt,
            error: output.bytes,
        }) {
            Ok(p) => p,
            Err(e) => return Stop::Failed(format!("cannot encode history: {e}")),
        };
        let next = Next::Running {
            state: self.state.clone(),
            due_at: self.stored_due,
            state_id: self.state_id.clone(),
        };
        let event = Event {
            kind: "parked".into(),
            payload,
        };
        self.leaving.store(true, Ordering::Relaxed);
        let mut transition = commit::transition(self.id.clone(), self.seq, next, event, now).block(
            BlockWrite::Set(Blocked {
                kind: BlockKind::Parked,
                reason: reason.clone(),
                at: now,
            }),
        );
        transition.release_lease = Some(self.own_lease());
        if let Err(e) = self.ctx.committer.commit(transition).await {
            return commit_failure(e);
        }
        self.seq += 1;
        tracing::warn!(task, attempt, "{reason}");
        Stop::NeedsAttention
    }

    /// Carries out the operator's request `kind` (retry or fail) on the call its `parked`
    /// history entry names. `Ok(false)` when the instance finished.
    pub(super) async fn perform(&mut self, kind: BlockKind) -> Result<bool, Stop> {
        let after = self.seq.checked_sub(PARKED_LOOKBACK);
        let entries = self
            .ctx
            .inner
            .store
            .history(&self.id, after, None)
            .instrument(store_span!("history"))
            .await
            .map_err(|e| Stop::Failed(format!("cannot read history: {e}")))?;
        let Some(entry) = entries.iter().rev().find(|e| e.kind == "parked") else {
            return Err(Stop::Blocked(
                BlockKind::CorruptState,
                format!(
                    "an operator's {} request found no `parked` history entry to act on",
                    kind
                ),
            ));
        };
        let parked: ParkedEvent = crate::codec::decode(&entry.payload).map_err(|e| {
            Stop::Blocked(
                BlockKind::CorruptState,
                format!("the `parked` history entry does not decode: {e}"),
            )
        })?;
        let task = parked.task;
        let feed = if kind == BlockKind::RetryRequested {
            Feed::Rearm {
                task,
                exhausted: parked.attempt,
            }
        } else {
            Feed::Released(
                task,
                parked.attempt,
                TaskOutput {
                    bytes: parked.error,
                    is_error: true,
                    permanent: false,
                },
            )
        };
        self.clear_block = true;
        let slot = parked.slot;
        self.step(&slot, feed).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::ParkedEvent;

    /// The `parked` entry's payload, byte for byte (docs/format.md).
    #[test]
    fn the_parked_entry_is_its_fields_in_order() {
        let event = ParkedEvent {
            slot: vec![1],
            task: "charge".into(),
            attempt: 3,
            error: crate::codec::encode("boom").unwrap(),
        };
        #[rustfmt::skip]
        let golden: &[u8] = &[
            0x02, 0xdc, 0xf6, 0x26, 0xe7,
            0x01, 0x01,                             // slot [1]
            0x06, 0x63, 0x68, 0x61, 0x72, 0x67, 0x65, // task "charge"
            0x03,                                   // attempt 3
            0x0a, 0x02, 0xc5, 0x88, 0x60, 0x30,     // error: a 10-byte blob
            0x04, 0x62, 0x6f, 0x6f, 0x6d,           //   of "boom"
        ];
        assert_eq!(crate::codec::encode(&event).unwrap(), golden);
        let back: ParkedEvent = crate::codec::decode(golden).unwrap();
        assert_eq!(
            (back.slot, back.task, back.attempt),
            (vec![1], "charge".into(), 3)
        );
    }
}
