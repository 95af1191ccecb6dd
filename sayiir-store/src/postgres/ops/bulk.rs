//! The common case of a batch, written in one statement whatever the batch's size.
//!
//! A transition that consumes no signals, keeps its history, listens for no signal and keeps its
//! definition and its block needs no query of its own: its checks against the locked head are
//! made in memory (see `write::commit_batch`), and what it writes (a history entry, a new head, and for a finishing
//! transition the deletion of its buffered signals) is the same for every such transition up
//! to the values. [`Bulk`] collects those values into arrays and writes all the transitions at
//! once: one `INSERT … ON CONFLICT DO NOTHING RETURNING` of the history entries, and, in the
//! same statement, the head updates and signal deletions of exactly the transitions whose
//! entry was inserted. A transition whose entry already existed writes nothing and is refused
//! on its own, as in `write::apply`.

use std::collections::HashSet;

use sqlx::PgConnection;

use crate::postgres::decode::get;
use crate::postgres::fail::Fail;
use crate::{BlockWrite, CommitResult, Next, StoreError, Transition};

/// Whether `t` may go through [`Bulk`]: it needs no per-transition query.
pub(super) fn fits(t: &Transition) -> bool {
    t.consume_signals.is_empty()
        && !t.truncate_history
        && t.listening.is_empty()
        && t.redefine.is_none()
        && t.block == BlockWrite::Keep
}

/// One statement for the whole bulk part of a batch. `t` holds one row per transition (of
/// distinct instances); `status` is `NULL` for a transition that keeps the instance running,
/// `body` is the new state of a running one and the output of a finishing one; `state_id` is
/// `NULL` for a finishing one. The heads are
/// updated, and a finishing instance's signals deleted, only for the rows of `appended`: the
/// transitions whose history entry was inserted. The sub-statements touch disjoint rows (a row
/// is either running or finishing), and the updates need not see the insert. The signals are
/// found by `= ANY (ARRAY(…))` rather than a join, which the planner, not knowing how many
/// instances finish, would make a scan of the whole signal table.
const WRITE: &str = "\
WITH t AS (
    SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bytea[],
                         $6::bigint[], $7::bytea[], $8::bigint[], $9::bool[], $10::text[])
        AS t(id, seq, at, kind, payload, status, body, due_at, release, state_id)
),
appended AS (
    INSERT INTO sayiir_history (instance_id, seq, at, kind, payload)
    SELECT id, seq, at, kind, payload FROM t
    ON CONFLICT DO NOTHING
    RETURNING instance_id
),
done AS (
    SELECT t.* FROM t JOIN appended a ON a.instance_id = t.id
),
running AS (
    UPDATE sayiir_instances i SET seq = d.seq, state = d.body, due_at = d.due_at,
        updated_at = d.at, state_id = d.state_id,
        lease_owner = CASE WHEN d.release THEN NULL ELSE i.lease_owner END,
        lease_until = CASE WHEN d.release THEN NULL ELSE i.lease_until END
    FROM done d WHERE i.id = d.id AND d.status IS NULL
),
finished AS (
    UPDATE sayiir_instances i SET seq = d.seq, status = d.status, state = NULL,
        output = d.body, due_at = NULL, lease_owner = NULL, lease_until = NULL,
        updated_at = d.at, state_id = NULL
    FROM done d WHERE i.id = d.id AND d.status IS NOT NULL
),
dropped AS (
    DELETE FROM sayiir_signals
    WHERE instance_id = ANY (ARRAY(SELECT id FROM done WHERE status IS NOT NULL))
)
SELECT instance_id FROM appended";

/// What a staged transition needs once the statement has run.
#[derive(Debug)]
struct Staged {
    /// Its position in the batch (and in the results).
    index: usize,
    /// The sequence number of its history entry.
    next_seq: u64,
    /// The sequence number of the head it was checked against.
    head_seq: u64,
    /// Whether committing it leaves the instance due and claimable.
    wakes: bool,
}

/// Checked transitions of distinct instances, as the columns of [`WRITE`].
#[derive(Debug, Default)]
pub(super) struct Bulk {
    ids: Vec<String>,
    seqs: Vec<i64>,
    ats: Vec<i64>,
    kinds: Vec<String>,
    payloads: Vec<Vec<u8>>,
    statuses: Vec<Option<i64>>,
    bodies: Vec<Vec<u8>>,
    due_ats: Vec<Option<i64>>,
    releases: Vec<bool>,
    state_ids: Vec<Option<String>>,
    staged: Vec<Staged>,
}

impl Bulk {
    /// Adds `t`, the transition at `index` of the batch, which [`fits`] and passed its checks
    /// against a head at `head_seq`; its entry is `next_seq` (`db_seq` as stored). `release`
    /// says whether it releases the instance's lease (the one it names is still held), `wakes`
    /// whether committing it leaves the instance due and claimable.
    pub(super) fn push(
        &mut self,
        index: usize,
        t: Transition,
        (next_seq, db_seq): (u64, i64),
        head_seq: u64,
        release: bool,
        wakes: bool,
    ) {
        self.ids.push(t.id.as_str().to_owned());
        self.seqs.push(db_seq);
        self.ats.push(t.now.0);
        self.kinds.push(t.event.kind);
        self.payloads.push(t.event.payload);
        match t.next {
            Next::Running {
                state,
                due_at,
                state_id,
            } => {
                self.statuses.push(None);
                self.bodies.push(state);
                self.due_ats.push(due_at.map(|d| d.0));
                self.releases.push(release);
                self.state_ids.push(Some(state_id));
            }
            Next::Finished { status, output } => {
                self.statuses.push(Some(status.code()));
                self.bodies.push(output);
                self.due_ats.push(None);
                // Finishing always releases the lease.
                self.releases.push(true);
                self.state_ids.push(None);
            }
        }
        self.staged.push(Staged {
            index,
            next_seq,
            head_seq,
            wakes,
        });
    }

    /// Writes the staged transitions (nothing when there are none) and records a refusal in
    /// `results` for each one whose history entry already existed. Returns whether a written
    /// one leaves its instance due and claimable.
    pub(super) async fn write(
        self,
        conn: &mut PgConnection,
        results: &mut [CommitResult],
    ) -> Result<bool, Fail> {
        if self.ids.is_empty() {
            return Ok(false);
        }
        let rows = sqlx::query(WRITE)
            .bind(&self.ids)
            .bind(&self.seqs)
            .bind(&self.ats)
            .bind(&self.kinds)
            .bind(&self.payloads)
            .bind(&self.statuses)
            .bind(&self.bodies)
            .bind(&self.due_ats)
            .bind(&self.releases)
            .bind(&self.state_ids)
            .fetch_all(&mut *conn)
            .await?;
        let mut appended = HashSet::with_capacity(rows.len());
        for row in &rows {
            let id: String = get(row, "instance_id", "<unreadable id>")?;
            appended.insert(id);
        }
        let mut wake = false;
        for (id, staged) in self.ids.into_iter().zip(self.staged) {
            if appended.contains(&id) {
                wake |= staged.wakes;
            } else if let Some(result) = results.get_mut(staged.index) {
                *result = Err(StoreError::InvalidData {
                    detail: super::write::history_exists(staged.next_seq, staged.head_seq),
                    id,
                });
            }
        }
        Ok(wake)
    }
}
