//! Writes of instance heads and history: create, commit, commit_batch, set_blocked.
//!
//! A commit locks the instance's row (`SELECT … FOR UPDATE`), checks it, then writes. Every
//! check comes before the first write and no write can fail on a constraint (the history row
//! is inserted with `ON CONFLICT DO NOTHING` and a conflict refuses the transition), so a
//! refused transition of a batch has written nothing and needs no savepoint. A batch writes
//! its common transitions together (see [`bulk`]), in a number of statements that does not
//! grow with its size.

use crate::error::{last_seq, seq_after};
use std::collections::HashMap;

use sqlx::postgres::PgPool;
use sqlx::{Connection, PgConnection};

use super::bulk::{self, Bulk};
use super::read::load_in;
use super::signals;
use super::single;
use crate::postgres::decode::{block_kind, get, seq_from_db, seq_to_db, status_from_db};
use crate::postgres::fail::Fail;
use crate::postgres::wake::notify;
use crate::{
    BlockChange, BlockKind, BlockWrite, Blocked, CommitResult, Created, InstanceId, NewInstance,
    Next, Status, StoreError, Timestamp, Transition,
};

/// Inserts `new` with history entry 0, or returns the existing instance with its id.
pub(in crate::postgres) async fn create(
    pool: &PgPool,
    ns: &str,
    new: NewInstance,
) -> Result<Created, Fail> {
    let mut conn = pool.acquire().await?;
    create_on(&mut conn, ns, new).await
}

/// [`create`] on `conn`: in a transaction of its own, or in a savepoint of the one `conn` is
/// in (the application's: [`Transactional`](crate::Transactional)), whose commit then
/// delivers the wake-up.
/// The instance belongs to namespace `ns`; an id taken in another one is
/// [`StoreError::IdTaken`].
pub(in crate::postgres) async fn create_on(
    conn: &mut PgConnection,
    ns: &str,
    new: NewInstance,
) -> Result<Created, Fail> {
    let mut tx = conn.begin().await?;
    // A concurrent create of the same id waits for this one (or this one for it) on the
    // primary key, then does nothing.
    let inserted = sqlx::query(
        "INSERT INTO sayiir_instances (id, workflow, definition_hash, seq, status, state, \
         due_at, created_at, updated_at, version, fingerprint, state_id, trace_context, \
         priority, head_start_ms, namespace) \
         VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(new.id.as_str())
    .bind(&new.workflow)
    .bind(new.hash.0.as_slice())
    .bind(Status::Running.code())
    .bind(&new.state)
    .bind(new.due_at.map(|t| t.0))
    .bind(new.now.0)
    .bind(i64::from(new.version))
    .bind(new.fingerprint.0.as_slice())
    .bind(&new.state_id)
    .bind(new.trace_context.as_deref())
    .bind(i16::from(new.priority))
    .bind(new.head_start_ms)
    .bind(ns)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // Nothing was written; dropping the transaction rolls it back.
        return match load_in(&mut tx, ns, &new.id).await {
            Ok(existing) => Ok(Created::Existing(existing)),
            Err(Fail::Store(StoreError::NotFound { .. })) => {
                Err(Fail::Store(StoreError::IdTaken {
                    id: new.id.as_str().to_owned(),
                }))
            }
            Err(e) => Err(e),
        };
    }
    sqlx::query(
        "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) \
         VALUES ($1, 0, $2, $3, $4)",
    )
    .bind(new.id.as_str())
    .bind(new.now.0)
    .bind(&new.event.kind)
    .bind(&new.event.payload)
    .execute(&mut *tx)
    .await?;
    super::versions::put_inputs(&mut tx, &[new.id.as_str()], &[new.input.as_slice()]).await?;
    // Only an instance with gates or a concurrency key writes more.
    let admitted = if new.gates.is_empty() && new.concurrency_key.is_none() {
        true
    } else {
        super::gates::enter(&mut tx, &new).await?
    };
    if new.due_at.is_some() {
        notify(&mut tx).await?;
    }
    tx.commit().await?;
    let now = new.now;
    let mut record = new.into_record();
    if !admitted {
        record.blocked = Some(crate::types::waiting_block(now));
    }
    Ok(Created::New(record))
}

/// What a commit checks of an instance, read under its row lock and kept up to date by the
/// transitions applied in the same transaction.
#[derive(Debug)]
pub(super) struct Head {
    pub(super) seq: u64,
    pub(super) status: Status,
    pub(super) paused: bool,
    /// Whether some worker holds a lease (owner and expiry).
    pub(super) lease: Option<(String, i64)>,
    /// The generation of the instance's last claim.
    pub(super) generation: i64,
    /// Whether it has admission gates (its finishing write gives its slot back).
    pub(super) gated: bool,
}

impl Head {
    /// Whether `t` releases the lease the instance has: only the lease it names, owner and
    /// generation (a later claim's lease is kept).
    fn releases(&self, t: &Transition) -> bool {
        t.release_lease.as_ref().is_some_and(|l| {
            self.lease
                .as_ref()
                .is_some_and(|(owner, _)| *owner == l.owner.0)
                && u64::try_from(self.generation) == Ok(l.generation)
        })
    }
}

/// Locks the rows of `ids` of namespace `ns` (in id order) and reads their heads. Unknown ids
/// (and those of other namespaces) are absent.
async fn lock_heads(
    conn: &mut PgConnection,
    ns: &str,
    ids: &[&str],
) -> Result<HashMap<String, Head>, Fail> {
    let rows = sqlx::query(
        "SELECT id, seq, status, blocked_kind, lease_owner, lease_until, lease_generation, \
         gates IS NOT NULL AS gated \
         FROM sayiir_instances WHERE id = ANY($1) AND namespace = $2 ORDER BY id FOR UPDATE",
    )
    .bind(ids)
    .bind(ns)
    .fetch_all(&mut *conn)
    .await?;
    let mut heads = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: String = get(&row, "id", "<unreadable id>")?;
        let seq = seq_from_db(get(&row, "seq", &id)?, &id)?;
        let status = status_from_db(get(&row, "status", &id)?, &id)?;
        let kind: Option<i16> = get(&row, "blocked_kind", &id)?;
        let owner: Option<String> = get(&row, "lease_owner", &id)?;
        let until: Option<i64> = get(&row, "lease_until", &id)?;
        let generation: i64 = get(&row, "lease_generation", &id)?;
        let gated: bool = get(&row, "gated", &id)?;
        let head = Head {
            gated,
            seq,
            status,
            paused: kind.map(i64::from) == Some(BlockKind::Paused.code()),
            lease: owner.zip(until),
            generation,
        };
        heads.insert(id, head);
    }
    Ok(heads)
}

/// Commits one transition: in one statement when it [`bulk::fits`] (see [`single`]), else
/// in a transaction.
pub(in crate::postgres) async fn commit(
    pool: &PgPool,
    ns: &str,
    t: Transition,
) -> Result<(), Fail> {
    let t = if bulk::fits(&t) {
        match single::commit(pool, ns, t).await? {
            single::Outcome::Written => return Ok(()),
            single::Outcome::Fallback(t) => *t,
        }
    } else {
        t
    };
    let mut tx = pool.begin().await?;
    let mut heads = lock_heads(&mut tx, ns, &[t.id.as_str()]).await?;
    // On a refusal the transaction is dropped, which rolls it back.
    let wake = apply(&mut tx, &mut heads, t).await?;
    if wake {
        notify(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Commits many transitions in one transaction, each checked on its own. A refused transition
/// writes nothing; any database error aborts the whole batch (the transaction rolls back and
/// the outer error is returned).
///
/// The cost in round trips does not grow with the batch: the heads are locked and read in one
/// statement, the transitions that [`bulk::fits`] are checked in memory and written together
/// in one more ([`Bulk`]). The others (consuming signals, truncating history, listening for
/// signals, moving to another definition, setting or clearing the block), and every
/// transition of an instance listed more than once, go one by one through
/// [`apply`], in batch order, before the bulk write; they are of other instances than the bulk
/// ones, so the order between the two does not matter.
pub(in crate::postgres) async fn commit_batch(
    pool: &PgPool,
    ns: &str,
    transitions: Vec<Transition>,
) -> Result<Vec<CommitResult>, Fail> {
    if transitions.is_empty() {
        return Ok(Vec::new());
    }
    // A batch of one common transition takes the single commit's one statement.
    let mut transitions = transitions;
    if transitions.len() == 1
        && transitions.first().is_some_and(bulk::fits)
        && let Some(t) = transitions.pop()
    {
        return match commit(pool, ns, t).await {
            Ok(()) => Ok(vec![Ok(())]),
            Err(Fail::Store(e)) => Ok(vec![Err(e)]),
            Err(e) => Err(e),
        };
    }
    let mut tx = pool.begin().await?;
    let ids: Vec<&str> = transitions.iter().map(|t| t.id.as_str()).collect();
    let mut heads = lock_heads(&mut tx, ns, &ids).await?;
    let mut listed: HashMap<&str, usize> = HashMap::with_capacity(ids.len());
    for id in &ids {
        *listed.entry(id).or_default() += 1;
    }
    let once: Vec<bool> = ids.iter().map(|id| listed.get(id) == Some(&1)).collect();
    let mut results = Vec::with_capacity(transitions.len());
    let mut bulk = Bulk::default();
    let mut wake = false;
    for ((index, t), once) in transitions.into_iter().enumerate().zip(once) {
        // A finishing transition of a gated instance gives its slot back: one by one.
        let gated = matches!(t.next, Next::Finished { .. })
            && heads.get(t.id.as_str()).is_some_and(|h| h.gated);
        let outcome = if once && !gated && bulk::fits(&t) {
            stage(&heads, t, index, &mut bulk).map(|()| false)
        } else {
            apply(&mut tx, &mut heads, t).await
        };
        match outcome {
            Ok(w) => {
                wake |= w;
                results.push(Ok(()));
            }
            Err(Fail::Store(e)) => results.push(Err(e)),
            Err(e @ Fail::Sql(_)) => return Err(e),
        }
    }
    wake |= bulk.write(&mut tx, &mut results).await?;
    if wake {
        notify(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(results)
}

/// Checks `t`, the transition at `index` of a batch, against its locked head and adds it to
/// `bulk`, which writes it later. Fails with [`Fail::Store`] as [`apply`] would. The head in
/// `heads` stays as it is: no other transition of the batch is of this instance.
fn stage(
    heads: &HashMap<String, Head>,
    t: Transition,
    index: usize,
    bulk: &mut Bulk,
) -> Result<(), Fail> {
    let Some(head) = heads.get(t.id.as_str()) else {
        return Err(Fail::Store(StoreError::NotFound { id: t.id }));
    };
    check(head, &t)?;
    let seqs = next_seq(&t)?;
    // The last entry's number must be storable too (the bulk numbers the others from the first).
    seq_to_db(last_seq(&t).map_err(Fail::Store)?, t.id.as_str())?;
    let release = head.releases(&t);
    let wakes = matches!(
        t.next,
        Next::Running {
            due_at: Some(_),
            ..
        }
    ) && claimable_after(head, release, t.now);
    bulk.push(index, t, seqs, head.seq, release, wakes);
    Ok(())
}

/// The checks of `t` against the locked head of its instance that need no query, in the
/// contract's order: the sequence number, finished, paused (not for a finishing transition).
pub(super) fn check(head: &Head, t: &Transition) -> Result<(), Fail> {
    if head.seq != t.expected_seq {
        return Err(Fail::Store(StoreError::Conflict {
            id: t.id.clone(),
            expected: t.expected_seq,
            actual: head.seq,
        }));
    }
    if head.status.is_terminal() {
        return Err(Fail::Store(StoreError::Finished { id: t.id.clone() }));
    }
    if head.paused && !matches!(t.next, Next::Finished { .. }) {
        return Err(Fail::Store(StoreError::Paused { id: t.id.clone() }));
    }
    Ok(())
}

/// The sequence number of the history entry `t` appends, and the same as stored.
fn next_seq(t: &Transition) -> Result<(u64, i64), Fail> {
    let next_seq = seq_after(t.expected_seq).map_err(Fail::Store)?;
    Ok((next_seq, seq_to_db(next_seq, t.id.as_str())?))
}

/// Whether an instance with `head`'s lease that keeps running is claimable (by anyone) after
/// a commit at `now` that releases the lease if `release`. A lease holder that keeps its lease
/// drives the instance on; anyone else may claim it only when no live lease is left.
fn claimable_after(head: &Head, release: bool, now: Timestamp) -> bool {
    release || head.lease.as_ref().is_none_or(|(_, until)| *until <= now.0)
}

/// The detail of the refusal of a transition whose history entry `next_seq` already exists.
pub(super) fn history_exists(next_seq: u64, head_seq: u64) -> String {
    format!("history entry {next_seq} already exists though the head is at {head_seq}")
}

/// Appends the history entries of `t` (its event and extra events, numbered from
/// `first_db_seq` as stored) in one statement that writes none of them if any already exists
/// (the instance's row is locked, so no other writer adds one meanwhile). Returns the lowest
/// existing one's sequence number (as stored) when it wrote nothing.
async fn append_events(
    conn: &mut PgConnection,
    t: &Transition,
    first_db_seq: i64,
) -> Result<Option<i64>, Fail> {
    let events = std::iter::once(&t.event).chain(&t.extra_events);
    let mut seqs = Vec::with_capacity(t.extra_events.len() + 1);
    let mut kinds = Vec::with_capacity(seqs.capacity());
    let mut payloads = Vec::with_capacity(seqs.capacity());
    for (seq, e) in (first_db_seq..).zip(events) {
        seqs.push(seq);
        kinds.push(e.kind.as_str());
        payloads.push(e.payload.as_slice());
    }
    let row = sqlx::query(
        "WITH clash AS ( \
             SELECT min(seq) AS seq FROM sayiir_history \
             WHERE instance_id = $1 AND seq = ANY($2) \
         ), appended AS ( \
             INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) \
             SELECT $1, e.seq, $3, e.kind, e.payload \
             FROM UNNEST($2::bigint[], $4::text[], $5::bytea[]) AS e(seq, kind, payload) \
             WHERE (SELECT seq FROM clash) IS NULL \
         ) \
         SELECT (SELECT seq FROM clash) AS clash",
    )
    .bind(t.id.as_str())
    .bind(&seqs)
    .bind(t.now.0)
    .bind(&kinds)
    .bind(&payloads)
    .fetch_one(&mut *conn)
    .await?;
    get(&row, "clash", t.id.as_str())
}

/// Checks and writes one transition of an instance whose row `heads` holds locked. Fails with
/// [`Fail::Store`] only when nothing was written for it. Returns whether the instance is now
/// due and free of leases (and not blocked by the transition), so that idle workers should be
/// woken.
async fn apply(
    conn: &mut PgConnection,
    heads: &mut HashMap<String, Head>,
    t: Transition,
) -> Result<bool, Fail> {
    let id = t.id.as_str();
    let Some(head) = heads.get_mut(id) else {
        return Err(Fail::Store(StoreError::NotFound { id: t.id }));
    };
    check(head, &t)?;
    let finishing = matches!(t.next, Next::Finished { .. });
    let Some(consumed) = signals::all_pending(conn, id, &t.consume_signals).await? else {
        return Err(Fail::Store(StoreError::Conflict {
            id: t.id,
            expected: t.expected_seq,
            actual: head.seq,
        }));
    };
    let (first_seq, first_db_seq) = next_seq(&t)?;
    let next_seq = last_seq(&t).map_err(Fail::Store)?;
    let db_seq = seq_to_db(next_seq, id)?;
    let release = head.releases(&t);
    if t.extra_events.is_empty() {
        let inserted = sqlx::query(
            "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(first_db_seq)
        .bind(t.now.0)
        .bind(&t.event.kind)
        .bind(&t.event.payload)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(Fail::Store(StoreError::InvalidData {
                id: id.to_owned(),
                detail: history_exists(first_seq, head.seq),
            }));
        }
    } else if let Some(clash) = append_events(conn, &t, first_db_seq).await? {
        return Err(Fail::Store(StoreError::InvalidData {
            id: id.to_owned(),
            detail: history_exists(seq_from_db(clash, id)?, head.seq),
        }));
    }
    // From here on, nothing refuses the transition.
    if t.truncate_history {
        sqlx::query("DELETE FROM sayiir_history WHERE instance_id = $1 AND seq < $2")
            .bind(id)
            .bind(first_db_seq)
            .execute(&mut *conn)
            .await?;
    }
    signals::consume(conn, id, &consumed, finishing).await?;
    head.seq = next_seq;
    // Apart from the head's update, so that the common transition (which keeps the block)
    // sends no more than before.
    if let Some((kind, reason, at)) = t.block.columns() {
        sqlx::query(
            "UPDATE sayiir_instances SET blocked_kind = $2, blocked_reason = $3, \
             blocked_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(kind)
        .bind(reason)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        head.paused = kind == Some(BlockKind::Paused.code());
    }
    let blocks = matches!(&t.block, BlockWrite::Set(b) if !b.kind.claimable());
    let (version, hash, fingerprint) = match &t.redefine {
        Some(d) => (
            Some(i64::from(d.version)),
            Some(d.hash.0.as_slice()),
            Some(d.fingerprint.0.as_slice()),
        ),
        None => (None, None, None),
    };
    match t.next {
        Next::Running {
            state,
            due_at,
            state_id,
        } => {
            let due_at = if signals::any_named(conn, id, &t.listening).await? {
                Some(due_at.map_or(t.now, |d| d.min(t.now)))
            } else {
                due_at
            };
            sqlx::query(
                "UPDATE sayiir_instances SET seq = $2, state = $3, due_at = $4, updated_at = $5, \
                 lease_owner = CASE WHEN $6 THEN NULL ELSE lease_owner END, \
                 lease_until = CASE WHEN $6 THEN NULL ELSE lease_until END, state_id = $7, \
                 version = COALESCE($8, version), \
                 definition_hash = COALESCE($9, definition_hash), \
                 fingerprint = COALESCE($10, fingerprint) \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(db_seq)
            .bind(&state)
            .bind(due_at.map(|d| d.0))
            .bind(t.now.0)
            .bind(release)
            .bind(&state_id)
            .bind(version)
            .bind(hash)
            .bind(fingerprint)
            .execute(&mut *conn)
            .await?;
            let claimable = claimable_after(head, release, t.now);
            if release {
                head.lease = None;
            }
            Ok(due_at.is_some() && claimable && !blocks)
        }
        Next::Finished { status, output } => {
            sqlx::query(
                "UPDATE sayiir_instances SET seq = $2, status = $3, state = NULL, output = $4, \
                 due_at = NULL, lease_owner = NULL, lease_until = NULL, updated_at = $5, \
                 state_id = NULL, version = COALESCE($6, version), \
                 definition_hash = COALESCE($7, definition_hash), \
                 fingerprint = COALESCE($8, fingerprint) \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(db_seq)
            .bind(status.code())
            .bind(&output)
            .bind(t.now.0)
            .bind(version)
            .bind(hash)
            .bind(fingerprint)
            .execute(&mut *conn)
            .await?;
            head.status = status;
            head.lease = None;
            // The instance's admission slot is given back by its finishing write; an
            // instance without gates (read with the locked head) runs no statement for it.
            if head.gated {
                return super::gates::leave(conn, id, t.now).await;
            }
            Ok(false)
        }
    }
}

/// An operator's compare-and-set of the block of `change.id` (see
/// [`Store::update_block`](crate::Store::update_block)), under the row's lock. Wakes idle
/// workers when it leaves the instance claimable with a due time.
pub(in crate::postgres) async fn update_block(
    pool: &PgPool,
    ns: &str,
    change: BlockChange,
) -> Result<(), Fail> {
    let mut tx = pool.begin().await?;
    let id = change.id.as_str();
    let row = sqlx::query(
        "SELECT status, blocked_kind FROM sayiir_instances \
         WHERE id = $1 AND namespace = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(ns)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(Fail::Store(StoreError::NotFound { id: change.id }));
    };
    if status_from_db(get(&row, "status", id)?, id)?.is_terminal() {
        return Err(Fail::Store(StoreError::Finished { id: change.id }));
    }
    let actual = match get::<Option<i16>>(&row, "blocked_kind", id)? {
        Some(code) => Some(block_kind(code, id)?),
        None => None,
    };
    if !change.allows(actual) {
        return Err(Fail::Store(StoreError::BlockState {
            id: change.id,
            actual,
        }));
    }
    let (kind, reason, at) = match &change.to {
        Some(b) => (Some(b.kind.code()), Some(b.reason.as_str()), Some(b.at.0)),
        None => (None, None, None),
    };
    let row = sqlx::query(
        "UPDATE sayiir_instances SET blocked_kind = $2, blocked_reason = $3, blocked_at = $4, \
         due_at = CASE WHEN $5 THEN LEAST(COALESCE(due_at, $6), $6) ELSE due_at END \
         WHERE id = $1 RETURNING due_at",
    )
    .bind(id)
    .bind(kind)
    .bind(reason)
    .bind(at)
    .bind(change.wake)
    .bind(change.now.0)
    .fetch_one(&mut *tx)
    .await?;
    let due_at: Option<i64> = get(&row, "due_at", id)?;
    if change.leaves_claimable() && due_at.is_some() {
        notify(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Sets or clears the block of `id`, touching nothing else.
pub(in crate::postgres) async fn set_blocked(
    pool: &PgPool,
    ns: &str,
    id: &InstanceId,
    blocked: Option<Blocked>,
) -> Result<(), Fail> {
    let mut tx = pool.begin().await?;
    let clearing = blocked.is_none();
    let (kind, reason, at) = match blocked {
        Some(b) => (Some(b.kind.code()), Some(b.reason), Some(b.at.0)),
        None => (None, None, None),
    };
    let row = sqlx::query(
        "UPDATE sayiir_instances SET blocked_kind = $2, blocked_reason = $3, blocked_at = $4 \
         WHERE id = $1 AND namespace = $5 RETURNING status, due_at",
    )
    .bind(id.as_str())
    .bind(kind)
    .bind(reason)
    .bind(at)
    .bind(ns)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(Fail::Store(StoreError::NotFound { id: id.clone() }));
    };
    let status = status_from_db(get(&row, "status", id.as_str())?, id.as_str())?;
    let due_at: Option<i64> = get(&row, "due_at", id.as_str())?;
    if clearing && status == Status::Running && due_at.is_some() {
        notify(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
