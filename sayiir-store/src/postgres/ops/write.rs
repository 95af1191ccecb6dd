//! Writes of instance heads and history: create, commit, commit_batch, set_blocked.
//!
//! A commit locks the instance's row (`SELECT … FOR UPDATE`), checks it, then writes. Every
//! check comes before the first write and no write can fail on a constraint (the history row
//! is inserted with `ON CONFLICT DO NOTHING` and a conflict refuses the transition), so a
//! refused transition of a batch has written nothing and needs no savepoint.

use std::collections::HashMap;

use sqlx::PgConnection;
use sqlx::postgres::PgPool;

use super::read::load_in;
use super::signals;
use crate::postgres::decode::{get, seq_from_db, seq_to_db, status_from_db};
use crate::postgres::fail::Fail;
use crate::postgres::wake::notify;
use crate::{
    BlockKind, Blocked, CommitResult, Created, InstanceId, InstanceRecord, NewInstance, Next,
    Status, StoreError, Transition,
};

/// Inserts `new` with history entry 0, or returns the existing instance with its id.
pub(in crate::postgres) async fn create(pool: &PgPool, new: NewInstance) -> Result<Created, Fail> {
    let mut tx = pool.begin().await?;
    // A concurrent create of the same id waits for this one (or this one for it) on the
    // primary key, then does nothing.
    let inserted = sqlx::query(
        "INSERT INTO sayiir_instances (id, workflow, definition_hash, seq, status, state, \
         due_at, created_at, updated_at) VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $7) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(new.id.as_str())
    .bind(&new.workflow)
    .bind(new.hash.0.as_slice())
    .bind(Status::Running.code())
    .bind(&new.state)
    .bind(new.due_at.map(|t| t.0))
    .bind(new.now.0)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        let existing = load_in(&mut tx, &new.id).await?;
        // Nothing was written; dropping the transaction rolls it back.
        return Ok(Created::Existing(existing));
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
    if new.due_at.is_some() {
        notify(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(Created::New(InstanceRecord {
        id: new.id,
        workflow: new.workflow,
        hash: new.hash,
        seq: 0,
        status: Status::Running,
        state: Some(new.state),
        output: None,
        due_at: new.due_at,
        blocked: None,
        created_at: new.now,
        updated_at: new.now,
    }))
}

/// What a commit checks of an instance, read under its row lock and kept up to date by the
/// transitions applied in the same transaction.
#[derive(Debug)]
struct Head {
    seq: u64,
    status: Status,
    paused: bool,
    /// Whether some worker holds a lease (owner and expiry).
    lease: Option<(String, i64)>,
}

/// Locks the rows of `ids` (in id order) and reads their heads. Unknown ids are absent.
async fn lock_heads(conn: &mut PgConnection, ids: &[&str]) -> Result<HashMap<String, Head>, Fail> {
    let rows = sqlx::query(
        "SELECT id, seq, status, blocked_kind, lease_owner, lease_until FROM sayiir_instances \
         WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind(ids)
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
        let head = Head {
            seq,
            status,
            paused: kind.map(i64::from) == Some(BlockKind::Paused.code()),
            lease: owner.zip(until),
        };
        heads.insert(id, head);
    }
    Ok(heads)
}

/// Commits one transition.
pub(in crate::postgres) async fn commit(pool: &PgPool, t: Transition) -> Result<(), Fail> {
    let mut tx = pool.begin().await?;
    let mut heads = lock_heads(&mut tx, &[t.id.as_str()]).await?;
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
pub(in crate::postgres) async fn commit_batch(
    pool: &PgPool,
    transitions: Vec<Transition>,
) -> Result<Vec<CommitResult>, Fail> {
    if transitions.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = pool.begin().await?;
    let ids: Vec<String> = transitions
        .iter()
        .map(|t| t.id.as_str().to_owned())
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut heads = lock_heads(&mut tx, &ids).await?;
    let mut results = Vec::with_capacity(transitions.len());
    let mut wake = false;
    for t in transitions {
        match apply(&mut tx, &mut heads, t).await {
            Ok(w) => {
                wake |= w;
                results.push(Ok(()));
            }
            Err(Fail::Store(e)) => results.push(Err(e)),
            Err(e @ Fail::Sql(_)) => return Err(e),
        }
    }
    if wake {
        notify(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(results)
}

/// Checks and writes one transition of an instance whose row `heads` holds locked. Fails with
/// [`Fail::Store`] only when nothing was written for it. Returns whether the instance is now
/// due and free of leases, so that idle workers should be woken.
async fn apply(
    conn: &mut PgConnection,
    heads: &mut HashMap<String, Head>,
    t: Transition,
) -> Result<bool, Fail> {
    let id = t.id.as_str();
    let Some(head) = heads.get_mut(id) else {
        return Err(Fail::Store(StoreError::NotFound { id: t.id }));
    };
    if head.seq != t.expected_seq {
        return Err(Fail::Store(StoreError::Conflict {
            id: t.id,
            expected: t.expected_seq,
            actual: head.seq,
        }));
    }
    if head.status.is_terminal() {
        return Err(Fail::Store(StoreError::Finished { id: t.id }));
    }
    let finishing = matches!(t.next, Next::Finished { .. });
    if head.paused && !finishing {
        return Err(Fail::Store(StoreError::Paused { id: t.id }));
    }
    let Some(consumed) = signals::all_pending(conn, id, &t.consume_signals).await? else {
        return Err(Fail::Store(StoreError::Conflict {
            id: t.id,
            expected: t.expected_seq,
            actual: head.seq,
        }));
    };
    let next_seq = t.expected_seq.checked_add(1).ok_or_else(|| {
        Fail::Store(StoreError::Backend {
            detail: "sequence number overflow".into(),
        })
    })?;
    let db_seq = seq_to_db(next_seq, id)?;
    let inserted = sqlx::query(
        "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(db_seq)
    .bind(t.now.0)
    .bind(&t.event.kind)
    .bind(&t.event.payload)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(Fail::Store(StoreError::InvalidData {
            id: id.to_owned(),
            detail: format!(
                "history entry {next_seq} already exists though the head is at {}",
                head.seq
            ),
        }));
    }
    // From here on, nothing refuses the transition.
    if t.truncate_history {
        sqlx::query("DELETE FROM sayiir_history WHERE instance_id = $1 AND seq < $2")
            .bind(id)
            .bind(db_seq)
            .execute(&mut *conn)
            .await?;
    }
    signals::consume(conn, id, &consumed, finishing).await?;
    head.seq = next_seq;
    match t.next {
        Next::Running { state, due_at } => {
            let due_at = if signals::any_named(conn, id, &t.listening).await? {
                Some(due_at.map_or(t.now, |d| d.min(t.now)))
            } else {
                due_at
            };
            sqlx::query(
                "UPDATE sayiir_instances SET seq = $2, state = $3, due_at = $4, updated_at = $5, \
                 lease_owner = CASE WHEN $6 THEN NULL ELSE lease_owner END, \
                 lease_until = CASE WHEN $6 THEN NULL ELSE lease_until END \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(db_seq)
            .bind(&state)
            .bind(due_at.map(|d| d.0))
            .bind(t.now.0)
            .bind(t.release_lease)
            .execute(&mut *conn)
            .await?;
            if t.release_lease {
                head.lease = None;
            }
            // A lease holder that keeps its lease drives the instance on; anyone else may
            // claim it only when no live lease is left.
            let claimable = head
                .lease
                .as_ref()
                .is_none_or(|(_, until)| *until <= t.now.0);
            Ok(due_at.is_some() && claimable)
        }
        Next::Finished { status, output } => {
            sqlx::query(
                "UPDATE sayiir_instances SET seq = $2, status = $3, state = NULL, output = $4, \
                 due_at = NULL, lease_owner = NULL, lease_until = NULL, updated_at = $5 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(db_seq)
            .bind(status.code())
            .bind(&output)
            .bind(t.now.0)
            .execute(&mut *conn)
            .await?;
            head.status = status;
            head.lease = None;
            Ok(false)
        }
    }
}

/// Sets or clears the block of `id`, touching nothing else.
pub(in crate::postgres) async fn set_blocked(
    pool: &PgPool,
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
         WHERE id = $1 RETURNING status, due_at",
    )
    .bind(id.as_str())
    .bind(kind)
    .bind(reason)
    .bind(at)
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
