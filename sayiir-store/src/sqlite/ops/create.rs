//! Creations: create and create_batch. Each runs in one `BEGIN IMMEDIATE` transaction on the
//! writer connection.

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use super::counts::{Col, Deltas, Key};
use crate::sqlite::fail::{Fail, code};
use crate::{CreateResult, Created, NewInstance, Status, StoreError};

/// Inserts `new` with history entry 0, or returns the existing instance with its id.
pub(in crate::sqlite) fn create(
    conn: &mut Connection,
    ns: &str,
    new: NewInstance,
) -> Result<Created, Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut counts = Deltas::default();
    let created = insert(&tx, ns, new, &mut counts)?;
    if matches!(created, Created::New(_)) {
        counts.apply(&tx)?;
        tx.commit()?;
    }
    // Otherwise nothing was written; the transaction ends without a commit.
    Ok(created)
}

/// Creates many instances in one transaction, each handled as by [`create`], in order (so a
/// repeated id finds the instance its first occurrence created).
///
/// An instance that cannot be created for a reason of its own (history entry 0 already exists,
/// its existing head does not decode) gets its own error and has written nothing; any other
/// SQLite error (disk full, I/O) aborts the whole batch: the transaction is rolled back and
/// the outer error is returned.
pub(in crate::sqlite) fn create_batch(
    conn: &mut Connection,
    ns: &str,
    news: Vec<NewInstance>,
) -> Result<Vec<CreateResult>, Fail> {
    if news.is_empty() {
        return Ok(Vec::new());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(news.len());
    let mut inserted = false;
    let mut counts = Deltas::default();
    for new in news {
        match insert(&tx, ns, new, &mut counts) {
            Ok(created) => {
                inserted |= matches!(created, Created::New(_));
                results.push(Ok(created));
            }
            Err(Fail::Store(e)) => results.push(Err(e)),
            Err(e @ Fail::Sql(_)) => return Err(e),
        }
    }
    if inserted {
        counts.apply(&tx)?;
        tx.commit()?;
    }
    Ok(results)
}

/// Inserts `new` (head at sequence 0 and history entry 0) inside the transaction `tx` is in
/// (the store's, or the application's: [`Transactional`](crate::Transactional)), or reads the
/// existing head with its id (in namespace `ns`: an id taken in another one is
/// [`StoreError::IdTaken`]). Fails with [`Fail::Store`] only when nothing was written for it.
/// The new instance's count goes to `counts`, which the caller applies before it commits.
pub(in crate::sqlite) fn insert(
    tx: &Connection,
    ns: &str,
    new: NewInstance,
    counts: &mut Deltas,
) -> Result<Created, Fail> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO sayiir_instances (id, workflow, definition_hash, seq, status, state, \
             due_at, created_at, updated_at, version, fingerprint, state_id, trace_context, \
             priority, head_start_ms, namespace) \
             VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(rusqlite::params![
            new.id.as_str(),
            new.workflow,
            new.hash.0.as_slice(),
            Status::Running.code(),
            new.state,
            new.due_at.map(|t| t.0),
            new.now.0,
            new.version,
            new.fingerprint.0.as_slice(),
            new.state_id,
            new.trace_context,
            new.priority,
            new.head_start_ms,
            ns,
        ])?;
    if inserted == 0 {
        return match super::read::load(tx, ns, &new.id) {
            Ok(existing) => Ok(Created::Existing(existing)),
            Err(Fail::Store(StoreError::NotFound { .. })) => {
                Err(Fail::Store(StoreError::IdTaken {
                    id: new.id.as_str().to_owned(),
                }))
            }
            Err(e) => Err(e),
        };
    }
    let history = tx
        .prepare_cached(
            "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) \
             VALUES (?1, 0, ?2, ?3, ?4)",
        )?
        .execute(rusqlite::params![
            new.id.as_str(),
            new.now.0,
            new.event.kind,
            new.event.payload
        ]);
    match history {
        Ok(_) => {}
        // A history without a head: the failed statement was undone by SQLite; undo the head
        // too, so that this instance writes nothing.
        Err(e) if code(&e) == Some(ErrorCode::ConstraintViolation) => {
            tx.prepare_cached("DELETE FROM sayiir_instances WHERE id = ?1")?
                .execute([new.id.as_str()])?;
            return Err(Fail::Store(StoreError::InvalidData {
                id: new.id.as_str().to_owned(),
                detail: "history entry 0 already exists though the instance does not".into(),
            }));
        }
        Err(e) => return Err(Fail::Sql(e)),
    }
    tx.prepare_cached(
        "INSERT INTO sayiir_inputs (instance_id, input) VALUES (?1, ?2) \
         ON CONFLICT (instance_id) DO UPDATE SET input = excluded.input",
    )?
    .execute(rusqlite::params![new.id.as_str(), new.input])?;
    counts.add(
        Key([
            Col::Text(ns.to_owned()),
            Col::Text(new.workflow.clone()),
            Col::Int(i64::from(new.version)),
            Col::Blob(new.hash.0.to_vec()),
            Col::Blob(new.fingerprint.0.to_vec()),
            Col::Int(Status::Running.code()),
            Col::Int(-1),
        ]),
        1,
    );
    // Only an instance with gates or a concurrency key writes more.
    let admitted = if new.gates.is_empty() && new.concurrency_key.is_none() {
        true
    } else {
        super::gates::enter(tx, &new, counts)?
    };
    let now = new.now;
    let mut record = new.into_record();
    if !admitted {
        record.blocked = Some(crate::types::waiting_block(now));
    }
    Ok(Created::New(record))
}
