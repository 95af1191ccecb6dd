//! The common case of a batch, written in one statement whatever the batch's size.
//!
//! A transition that consumes no signals, keeps its history, listens for no signal and keeps its
//! definition and its block needs no query of its own: its checks against the locked head are
//! made in memory (see `write::commit_batch`), and what it writes (its history entries, a new
//! head, and for a finishing transition the deletion of its buffered signals) is the same for
//! every such transition up to the values. [`Bulk`] collects those values into arrays (one row
//! per history entry) and writes all the transitions at once: one `INSERT … ON CONFLICT DO
//! NOTHING RETURNING` of the history entries, and, in the same statement, the head updates and
//! signal deletions of exactly the transitions whose entries were inserted. A transition with
//! an entry that already existed writes nothing and is refused on its own, as in
//! `write::apply`.

use std::collections::{HashMap, HashSet};

use sqlx::PgConnection;

use crate::postgres::decode::{get, seq_from_db};
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

/// One statement for the whole bulk part of a batch. `t` holds one row per history entry, the
/// entries of a transition (of distinct instances) in order and the head's columns on its last
/// one (`last`); `multi` marks the entries of a transition of more than one. `status` is `NULL`
/// for a transition that keeps the instance running, `body` is the new state of a running one
/// and the output of a finishing one; `state_id` is `NULL` for a finishing one. A transition of
/// several entries of which one already exists (`clash`, the lowest such) writes none of them;
/// one of a single entry is refused by its `ON CONFLICT`. The heads are updated, and a
/// finishing instance's signals deleted, only for `done`: the transitions whose last entry was
/// inserted. The sub-statements touch disjoint rows (a row is either running or finishing),
/// and the updates need not see the insert. The signals are found by `= ANY (ARRAY(…))` rather
/// than a join, which the planner, not knowing how many instances finish, would make a scan of
/// the whole signal table.
const WRITE: &str = "\
WITH t AS (
    SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bytea[],
                         $6::bigint[], $7::bytea[], $8::bigint[], $9::bool[], $10::text[],
                         $11::bool[], $12::bool[])
        AS t(id, seq, at, kind, payload, status, body, due_at, release, state_id, last, multi)
),
clash AS (
    SELECT t.id, min(t.seq) AS seq FROM t
    WHERE t.multi AND EXISTS (
        SELECT 1 FROM sayiir_history h WHERE h.instance_id = t.id AND h.seq = t.seq)
    GROUP BY t.id
),
appended AS (
    INSERT INTO sayiir_history (instance_id, seq, at, kind, payload)
    SELECT id, seq, at, kind, payload FROM t
    WHERE NOT EXISTS (SELECT 1 FROM clash c WHERE c.id = t.id)
    ON CONFLICT DO NOTHING
    RETURNING instance_id, seq
),
done AS (
    SELECT t.* FROM t JOIN appended a ON a.instance_id = t.id AND a.seq = t.seq WHERE t.last
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
SELECT id AS instance_id, NULL::bigint AS clash FROM done
UNION ALL SELECT id, seq FROM clash";

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

/// Checked transitions of distinct instances, as the columns of [`WRITE`]: one row per history
/// entry.
#[derive(Debug, Default)]
pub(super) struct Bulk {
    ids: Vec<String>,
    seqs: Vec<i64>,
    ats: Vec<i64>,
    kinds: Vec<String>,
    payloads: Vec<Vec<u8>>,
    statuses: Vec<Option<i64>>,
    bodies: Vec<Option<Vec<u8>>>,
    due_ats: Vec<Option<i64>>,
    releases: Vec<bool>,
    state_ids: Vec<Option<String>>,
    lasts: Vec<bool>,
    multis: Vec<bool>,
    staged: Vec<(String, Staged)>,
}

impl Bulk {
    /// Adds `t`, the transition at `index` of the batch, which [`fits`] and passed its checks
    /// against a head at `head_seq`; its first entry is `next_seq` (`db_seq` as stored), and the
    /// caller checked that its last one can be stored. `release`
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
        let id = t.id.as_str().to_owned();
        let multi = !t.extra_events.is_empty();
        let count = t.extra_events.len() + 1;
        let events = std::iter::once(t.event).chain(t.extra_events);
        for (n, (seq, e)) in (db_seq..).zip(events).enumerate() {
            self.ids.push(id.clone());
            self.seqs.push(seq);
            self.ats.push(t.now.0);
            self.kinds.push(e.kind);
            self.payloads.push(e.payload);
            self.multis.push(multi);
            let last = n + 1 == count;
            self.lasts.push(last);
            if !last {
                self.statuses.push(None);
                self.bodies.push(None);
                self.due_ats.push(None);
                self.releases.push(false);
                self.state_ids.push(None);
            }
        }
        match t.next {
            Next::Running {
                state,
                due_at,
                state_id,
            } => {
                self.statuses.push(None);
                self.bodies.push(Some(state));
                self.due_ats.push(due_at.map(|d| d.0));
                self.releases.push(release);
                self.state_ids.push(Some(state_id));
            }
            Next::Finished { status, output } => {
                self.statuses.push(Some(status.code()));
                self.bodies.push(Some(output));
                self.due_ats.push(None);
                // Finishing always releases the lease.
                self.releases.push(true);
                self.state_ids.push(None);
            }
        }
        self.staged.push((
            id,
            Staged {
                index,
                next_seq,
                head_seq,
                wakes,
            },
        ));
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
            .bind(&self.lasts)
            .bind(&self.multis)
            .fetch_all(&mut *conn)
            .await?;
        let mut appended = HashSet::with_capacity(rows.len());
        let mut clashes = HashMap::new();
        for row in &rows {
            let id: String = get(row, "instance_id", "<unreadable id>")?;
            let clash: Option<i64> = get(row, "clash", &id)?;
            match clash {
                Some(seq) => {
                    let seq = seq_from_db(seq, &id)?;
                    clashes.insert(id, seq);
                }
                None => {
                    appended.insert(id);
                }
            }
        }
        let mut wake = false;
        for (id, staged) in self.staged {
            if appended.contains(&id) {
                wake |= staged.wakes;
            } else if let Some(result) = results.get_mut(staged.index) {
                let existing = clashes.get(&id).copied().unwrap_or(staged.next_seq);
                *result = Err(StoreError::InvalidData {
                    detail: super::write::history_exists(existing, staged.head_seq),
                    id,
                });
            }
        }
        Ok(wake)
    }
}
