//! Writes of instance heads and history: commit, commit_batch, set_blocked. Each runs in one
//! `BEGIN IMMEDIATE` transaction on the writer connection.

use crate::error::{last_seq, seq_after};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior};

use super::counts::{self, Deltas};
use super::signals;

use crate::sqlite::decode::{seq_from_db, seq_to_db, status_from_db};
use crate::sqlite::fail::{Fail, code, invalid, is_conversion};
use crate::{
    BlockChange, BlockKind, BlockWrite, Blocked, CommitResult, Event, InstanceId, Next, StoreError,
    Timestamp, Transition,
};

pub(super) fn immediate(conn: &mut Connection) -> Result<Transaction<'_>, Fail> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

/// Commits one transition.
pub(in crate::sqlite) fn commit(
    conn: &mut Connection,
    ns: &str,
    t: Transition,
) -> Result<(), Fail> {
    let tx = immediate(conn)?;
    let mut counts = Deltas::default();
    apply(&tx, ns, t, &mut counts)?;
    counts.apply(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Commits many transitions in one transaction, each checked on its own.
///
/// A transition that fails its checks (not found, conflict, finished, paused, a consumed signal
/// that is not pending, inconsistent history) writes nothing: the checks come before the writes,
/// and the first write (the history rows) is the only one that can fail on a constraint, which
/// undoes just that statement (or, for several rows, the savepoint around them). Any other
/// SQLite error (disk full, I/O) aborts the whole batch: the transaction is rolled back and the
/// outer error is returned.
pub(in crate::sqlite) fn commit_batch(
    conn: &mut Connection,
    ns: &str,
    transitions: Vec<Transition>,
) -> Result<Vec<CommitResult>, Fail> {
    if transitions.is_empty() {
        return Ok(Vec::new());
    }
    let tx = immediate(conn)?;
    let mut results = Vec::with_capacity(transitions.len());
    let mut counts = Deltas::default();
    for t in transitions {
        match apply(&tx, ns, t, &mut counts) {
            Ok(()) => results.push(Ok(())),
            Err(Fail::Store(e)) => results.push(Err(e)),
            Err(e @ Fail::Sql(_)) => return Err(e),
        }
    }
    counts.apply(&tx)?;
    tx.commit()?;
    Ok(results)
}

/// The sequence number after `seq`, as stored.
pub(super) fn next_seq(seq: u64, id: &str) -> Result<i64, Fail> {
    let next = seq_after(seq).map_err(Fail::Store)?;
    seq_to_db(next, id)
}

/// Appends history entry `next_seq` of `id`, whose head is at `head_seq`. This is the first
/// write of a transition: if the entry already exists, the failed statement was undone by
/// SQLite and nothing was written.
pub(super) fn append_history(
    tx: &Transaction<'_>,
    id: &str,
    next_seq: i64,
    head_seq: u64,
    now: Timestamp,
    event: &Event,
) -> Result<(), Fail> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(rusqlite::params![
            id,
            next_seq,
            now.0,
            event.kind,
            event.payload
        ]);
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if code(&e) == Some(ErrorCode::ConstraintViolation) => {
            Err(Fail::Store(StoreError::InvalidData {
                id: id.to_owned(),
                detail: format!(
                    "history entry {next_seq} already exists though the head is at {head_seq}"
                ),
            }))
        }
        Err(e) => Err(Fail::Sql(e)),
    }
}

/// Appends the history entries of `t` (its event and extra events, from `first_seq` on) for
/// `id`, whose head is at `head_seq`, in a savepoint: if any of them already exists, the ones
/// written before it are undone and nothing was written; the refusal names the first one
/// found.
fn append_events(
    tx: &Transaction<'_>,
    id: &str,
    first_seq: i64,
    head_seq: u64,
    now: Timestamp,
    t: &Transition,
) -> Result<(), Fail> {
    tx.execute_batch("SAVEPOINT sayiir_events")?;
    let events = std::iter::once(&t.event).chain(&t.extra_events);
    let mut written = Ok(());
    for (seq, event) in (first_seq..).zip(events) {
        written = append_history(tx, id, seq, head_seq, now, event);
        if written.is_err() {
            break;
        }
    }
    match written {
        Ok(()) => tx.execute_batch("RELEASE sayiir_events")?,
        Err(_) => tx.execute_batch("ROLLBACK TO sayiir_events; RELEASE sayiir_events")?,
    }
    written
}

/// Checks and writes one transition inside `tx`. Fails with [`Fail::Store`] only when nothing
/// was written for it.
/// An instance of another namespace than `ns` is not found. The count changes go to `counts`.
fn apply(tx: &Transaction<'_>, ns: &str, t: Transition, counts: &mut Deltas) -> Result<(), Fail> {
    let id = t.id.as_str();
    type Head = (i64, i64, Option<i64>, Option<String>, i64, bool);
    let head: Option<Head> = tx
        .prepare_cached(
            "SELECT seq, status, blocked_kind, lease_owner, lease_generation, \
             gates IS NOT NULL FROM sayiir_instances WHERE id = ?1 AND namespace = ?2",
        )?
        .query_row([id, ns], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ))
        })
        .optional()
        .map_err(|e| {
            if is_conversion(&e) {
                invalid(
                    id,
                    format!("seq, status, blocked_kind, lease_owner or lease_generation: {e}"),
                )
            } else {
                Fail::Sql(e)
            }
        })?;
    let Some((seq, status, blocked_kind, lease_owner, lease_generation, gated)) = head else {
        return Err(Fail::Store(StoreError::NotFound { id: t.id }));
    };
    let seq = seq_from_db(seq, id)?;
    let status = status_from_db(status, id)?;
    if seq != t.expected_seq {
        return Err(Fail::Store(StoreError::Conflict {
            id: t.id,
            expected: t.expected_seq,
            actual: seq,
        }));
    }
    if status.is_terminal() {
        return Err(Fail::Store(StoreError::Finished { id: t.id }));
    }
    let finishing = matches!(t.next, Next::Finished { .. });
    if blocked_kind == Some(BlockKind::Paused.code()) && !finishing {
        return Err(Fail::Store(StoreError::Paused { id: t.id }));
    }
    let Some(consumed) = signals::all_pending(tx, id, &t.consume_signals)? else {
        return Err(Fail::Store(StoreError::Conflict {
            id: t.id,
            expected: t.expected_seq,
            actual: seq,
        }));
    };
    // Only the lease the transition names is released; a later claim's is kept.
    let release = t.release_lease.as_ref().is_some_and(|l| {
        lease_owner.as_deref() == Some(l.owner.0.as_str())
            && u64::try_from(lease_generation) == Ok(l.generation)
    });
    let first_seq = next_seq(t.expected_seq, id)?;
    let next_seq = seq_to_db(last_seq(&t).map_err(Fail::Store)?, id)?;
    if t.extra_events.is_empty() {
        append_history(tx, id, first_seq, seq, t.now, &t.event)?;
    } else {
        append_events(tx, id, first_seq, seq, t.now, &t)?;
    }
    if t.truncate_history {
        tx.prepare_cached("DELETE FROM sayiir_history WHERE instance_id = ?1 AND seq < ?2")?
            .execute(rusqlite::params![id, first_seq])?;
    }
    signals::consume(tx, id, &consumed, finishing)?;
    let (version, hash, fingerprint) = match &t.redefine {
        Some(d) => (
            Some(d.version),
            Some(d.hash.0.as_slice()),
            Some(d.fingerprint.0.as_slice()),
        ),
        None => (None, None, None),
    };
    // Only a transition that may change a counted column reads the row's counted key
    // before and after its writes (`ops/counts.rs`); most steps change none.
    let counted = finishing || t.redefine.is_some() || !matches!(t.block, BlockWrite::Keep);
    let before = if counted {
        counts::key_of(tx, id)?
    } else {
        None
    };
    match t.next {
        Next::Running {
            state,
            due_at,
            state_id,
        } => {
            let due_at = if signals::any_named(tx, id, &t.listening)? {
                Some(due_at.map_or(t.now, |d| d.min(t.now)))
            } else {
                due_at
            };
            tx.prepare_cached(
                "UPDATE sayiir_instances SET seq = ?2, state = ?3, due_at = ?4, updated_at = ?5, \
                 lease_owner = CASE WHEN ?6 THEN NULL ELSE lease_owner END, \
                 lease_until = CASE WHEN ?6 THEN NULL ELSE lease_until END, state_id = ?7 \
                 WHERE id = ?1",
            )?
            .execute(rusqlite::params![
                id,
                next_seq,
                state,
                due_at.map(|d| d.0),
                t.now.0,
                release,
                state_id,
            ])?;
            // Apart, because SQLite updates an index whenever the statement assigns one of its
            // columns (whatever the value): an ordinary step must not touch the listing index
            // (`workflow, version, status`).
            if t.redefine.is_some() {
                tx.prepare_cached(
                    "UPDATE sayiir_instances SET version = ?2, definition_hash = ?3, \
                     fingerprint = ?4 WHERE id = ?1",
                )?
                .execute(rusqlite::params![id, version, hash, fingerprint])?;
            }
        }
        Next::Finished { status, output } => {
            tx.prepare_cached(
                "UPDATE sayiir_instances SET seq = ?2, status = ?3, state = NULL, output = ?4, \
                 due_at = NULL, lease_owner = NULL, lease_until = NULL, updated_at = ?5, \
                 state_id = NULL, version = COALESCE(?6, version), \
                 definition_hash = COALESCE(?7, definition_hash), \
                 fingerprint = COALESCE(?8, fingerprint) \
                 WHERE id = ?1",
            )?
            .execute(rusqlite::params![
                id,
                next_seq,
                status.code(),
                output,
                t.now.0,
                version,
                hash,
                fingerprint,
            ])?;
        }
    }
    // Apart, as the definition: a transition that keeps the block (nearly all) assigns no
    // block column, so it touches no index of blocks.
    write_block(tx, id, &t.block)?;
    if counted {
        counts.moved(before, counts::key_of(tx, id)?);
    }
    // The instance's admission slot is given back by its finishing write; an instance
    // without gates (read with the head) runs no statement for it.
    if finishing && gated {
        super::gates::leave(tx, id, t.now, counts)?;
    }
    Ok(())
}

/// Writes the block columns of `id` as `block` says (nothing for [`BlockWrite::Keep`]).
fn write_block(tx: &Connection, id: &str, block: &BlockWrite) -> Result<(), Fail> {
    let Some((kind, reason, at)) = block.columns() else {
        return Ok(());
    };
    tx.prepare_cached(
        "UPDATE sayiir_instances SET blocked_kind = ?2, blocked_reason = ?3, blocked_at = ?4 \
         WHERE id = ?1",
    )?
    .execute(rusqlite::params![id, kind, reason, at])?;
    Ok(())
}

/// An operator's compare-and-set of the block of `change.id` (see
/// [`Store::update_block`](crate::Store::update_block)).
pub(in crate::sqlite) fn update_block(
    conn: &mut Connection,
    ns: &str,
    change: BlockChange,
) -> Result<(), Fail> {
    let tx = immediate(conn)?;
    let id = change.id.as_str();
    let head: Option<(i64, Option<i64>)> = tx
        .prepare_cached(
            "SELECT status, blocked_kind FROM sayiir_instances WHERE id = ?1 AND namespace = ?2",
        )?
        .query_row([id, ns], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .map_err(|e| {
            if is_conversion(&e) {
                invalid(id, format!("status or blocked_kind: {e}"))
            } else {
                Fail::Sql(e)
            }
        })?;
    let Some((status, kind)) = head else {
        return Err(Fail::Store(StoreError::NotFound { id: change.id }));
    };
    if status_from_db(status, id)?.is_terminal() {
        return Err(Fail::Store(StoreError::Finished { id: change.id }));
    }
    let actual = match kind {
        None => None,
        Some(code) => Some(BlockKind::from_code(code).ok_or_else(|| {
            invalid(
                id,
                format!("column `blocked_kind`: unknown block kind code {code}"),
            )
        })?),
    };
    if !change.allows(actual) {
        return Err(Fail::Store(StoreError::BlockState {
            id: change.id,
            actual,
        }));
    }
    let to = match change.to {
        Some(b) => BlockWrite::Set(b),
        None => BlockWrite::Clear,
    };
    let mut counts = Deltas::default();
    counts.around(&tx, id, || write_block(&tx, id, &to))?;
    counts.apply(&tx)?;
    if change.wake {
        tx.prepare_cached(
            "UPDATE sayiir_instances SET due_at = \
             CASE WHEN due_at IS NULL OR due_at > ?2 THEN ?2 ELSE due_at END WHERE id = ?1",
        )?
        .execute(rusqlite::params![id, change.now.0])?;
    }
    tx.commit()?;
    Ok(())
}

/// Sets or clears the block of `id`, touching nothing else.
pub(in crate::sqlite) fn set_blocked(
    conn: &mut Connection,
    ns: &str,
    id: &InstanceId,
    blocked: Option<Blocked>,
) -> Result<(), Fail> {
    let tx = immediate(conn)?;
    let (kind, reason, at) = match blocked {
        Some(b) => (Some(b.kind.code()), Some(b.reason), Some(b.at.0)),
        None => (None, None, None),
    };
    let mut counts = Deltas::default();
    let changed = counts.around(&tx, id.as_str(), || {
        Ok(tx
            .prepare_cached(
                "UPDATE sayiir_instances SET blocked_kind = ?2, blocked_reason = ?3, \
                 blocked_at = ?4 WHERE id = ?1 AND namespace = ?5",
            )?
            .execute(rusqlite::params![id.as_str(), kind, reason, at, ns])?)
    })?;
    if changed == 0 {
        return Err(Fail::Store(StoreError::NotFound { id: id.clone() }));
    }
    counts.apply(&tx)?;
    tx.commit()?;
    Ok(())
}
