//! create_batch: many creations in one transaction of three set-based statements, whatever
//! the batch's size. (The single [`create`](super::write::create) lives with the other writes.)
//!
//! 1. The heads of the batch's distinct ids are inserted with one `INSERT … SELECT FROM UNNEST
//!    … ON CONFLICT (id) DO NOTHING RETURNING id`, in id order, so that two batches that share
//!    ids wait for each other's rows in the same order and never deadlock.
//! 2. History entry 0 of each inserted head, likewise (`ON CONFLICT DO NOTHING`: an entry 0
//!    left without its head refuses that instance alone, whose head is then deleted again).
//! 3. The heads that already existed are read back with one `SELECT … WHERE id = ANY(…)`,
//!    which in READ COMMITTED sees the rows that concurrent creations committed while step 1
//!    waited for them.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::postgres::PgPool;

use crate::postgres::decode::{self, get, record_cols};
use crate::postgres::fail::Fail;
use crate::postgres::wake::notify;
use crate::{CreateResult, Created, NewInstance, Status, StoreError};

const INSERT_HEADS: &str = "INSERT INTO sayiir_instances (id, workflow, definition_hash, seq, \
     status, state, due_at, created_at, updated_at, version, fingerprint, state_id, \
     trace_context, priority, head_start_ms, namespace) \
     SELECT t.id, t.workflow, t.hash, 0, $7, t.state, t.due_at, t.now, t.now, t.version, \
     t.fingerprint, t.state_id, t.trace_context, t.priority, t.head_start_ms, $14 \
     FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::bytea[], $5::int8[], $6::int8[], \
     $8::int8[], $9::bytea[], $10::text[], $11::text[], $12::int2[], $13::int8[]) \
     AS t(id, workflow, hash, state, due_at, now, version, fingerprint, state_id, trace_context, \
     priority, head_start_ms) \
     ON CONFLICT (id) DO NOTHING RETURNING id";

/// History entry 0 of each new head and, for those written, its input: one round trip.
const INSERT_HISTORY: &str = "WITH t AS (SELECT * FROM UNNEST($1::text[], $2::int8[], \
     $3::text[], $4::bytea[], $5::bytea[]) AS t(id, at, kind, payload, input)), \
     h AS (INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) \
     SELECT t.id, 0, t.at, t.kind, t.payload FROM t \
     ON CONFLICT (instance_id, seq) DO NOTHING RETURNING instance_id), \
     i AS (INSERT INTO sayiir_inputs (instance_id, input) \
     SELECT t.id, t.input FROM t JOIN h ON h.instance_id = t.id \
     ON CONFLICT (instance_id) DO UPDATE SET input = excluded.input) \
     SELECT instance_id FROM h";

/// The existing heads, with their namespace: one of another namespace is not decoded (its id
/// is taken, [`StoreError::IdTaken`]).
const LOAD_MANY: &str = concat!(
    "SELECT ",
    record_cols!(),
    ", namespace AS row_namespace FROM sayiir_instances WHERE id = ANY($1)"
);

/// What happened to the first occurrence of an id.
enum Outcome {
    Inserted,
    /// History entry 0 already existed: the head was deleted again.
    Orphaned,
    Existing,
}

/// Creates many instances in one transaction, each handled as by
/// [`create`](super::write::create); the results are in input order. A repeated id is created
/// (or found) by its first occurrence and found as existing by the later ones.
///
/// An instance that cannot be created for a reason of its own (history entry 0 already exists,
/// its existing head does not decode) gets its own error and has written nothing; any other
/// error aborts the whole batch: the transaction is rolled back and the outer error returned.
pub(in crate::postgres) async fn create_batch(
    pool: &PgPool,
    ns: &str,
    news: Vec<NewInstance>,
) -> Result<Vec<CreateResult>, Fail> {
    if news.is_empty() {
        return Ok(Vec::new());
    }
    // The index of each id's first occurrence, in id order (byte order, as the "C" collation
    // of the id column).
    let firsts: Vec<usize> = {
        let mut firsts = BTreeMap::new();
        for (i, new) in news.iter().enumerate() {
            firsts.entry(new.id.as_str()).or_insert(i);
        }
        firsts.into_values().collect()
    };
    let mut tx = pool.begin().await?;

    let heads = firsts.iter().map(|&i| &news[i]);
    let inserted: Vec<String> = sqlx::query_scalar(INSERT_HEADS)
        .bind(heads.clone().map(|n| n.id.as_str()).collect::<Vec<_>>())
        .bind(
            heads
                .clone()
                .map(|n| n.workflow.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            heads
                .clone()
                .map(|n| n.hash.0.as_slice())
                .collect::<Vec<_>>(),
        )
        .bind(
            heads
                .clone()
                .map(|n| n.state.as_slice())
                .collect::<Vec<_>>(),
        )
        .bind(
            heads
                .clone()
                .map(|n| n.due_at.map(|t| t.0))
                .collect::<Vec<_>>(),
        )
        .bind(heads.clone().map(|n| n.now.0).collect::<Vec<_>>())
        .bind(Status::Running.code())
        .bind(
            heads
                .clone()
                .map(|n| i64::from(n.version))
                .collect::<Vec<_>>(),
        )
        .bind(
            heads
                .clone()
                .map(|n| n.fingerprint.0.as_slice())
                .collect::<Vec<_>>(),
        )
        .bind(
            heads
                .clone()
                .map(|n| n.state_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            heads
                .clone()
                .map(|n| n.trace_context.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            heads
                .clone()
                .map(|n| i16::from(n.priority))
                .collect::<Vec<_>>(),
        )
        .bind(heads.map(|n| n.head_start_ms).collect::<Vec<_>>())
        .bind(ns)
        .fetch_all(&mut *tx)
        .await?;
    let inserted: HashSet<String> = inserted.into_iter().collect();
    let mut outcomes: HashMap<&str, Outcome> = firsts
        .iter()
        .map(|&i| {
            let id = news[i].id.as_str();
            let outcome = if inserted.contains(id) {
                Outcome::Inserted
            } else {
                Outcome::Existing
            };
            (id, outcome)
        })
        .collect();

    if !inserted.is_empty() {
        let entries = firsts
            .iter()
            .map(|&i| &news[i])
            .filter(|n| inserted.contains(n.id.as_str()));
        let written: Vec<String> = sqlx::query_scalar(INSERT_HISTORY)
            .bind(entries.clone().map(|n| n.id.as_str()).collect::<Vec<_>>())
            .bind(entries.clone().map(|n| n.now.0).collect::<Vec<_>>())
            .bind(
                entries
                    .clone()
                    .map(|n| n.event.kind.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                entries
                    .clone()
                    .map(|n| n.event.payload.as_slice())
                    .collect::<Vec<_>>(),
            )
            .bind(entries.map(|n| n.input.as_slice()).collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await?;
        if written.len() != inserted.len() {
            let written: HashSet<String> = written.into_iter().collect();
            let orphaned: Vec<&str> = inserted
                .iter()
                .filter(|id| !written.contains(*id))
                .map(String::as_str)
                .collect();
            sqlx::query("DELETE FROM sayiir_instances WHERE id = ANY($1)")
                .bind(&orphaned)
                .execute(&mut *tx)
                .await?;
            for id in orphaned {
                outcomes.insert(id, Outcome::Orphaned);
            }
        }
    }

    // The instances with gates or a concurrency key, one by one, in id order (the rest of the
    // batch runs no statement for them).
    let mut waiting: HashSet<String> = HashSet::new();
    for &i in &firsts {
        let new = &news[i];
        let gated = !new.gates.is_empty() || new.concurrency_key.is_some();
        if gated
            && matches!(outcomes.get(new.id.as_str()), Some(Outcome::Inserted))
            && !super::gates::enter(&mut tx, new).await?
        {
            waiting.insert(new.id.as_str().to_owned());
        }
    }

    let existing_ids: Vec<&str> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Existing))
        .map(|(id, _)| *id)
        .collect();
    let mut existing: HashMap<String, CreateResult> = HashMap::with_capacity(existing_ids.len());
    if !existing_ids.is_empty() {
        let rows = sqlx::query(LOAD_MANY)
            .bind(&existing_ids)
            .fetch_all(&mut *tx)
            .await?;
        for row in rows {
            let id: String = get(&row, "id", "<unreadable id>")?;
            let row_ns: String = get(&row, "row_namespace", &id)?;
            if row_ns != ns {
                existing.insert(id.clone(), Err(StoreError::IdTaken { id }));
                continue;
            }
            let record = match decode::record(&row) {
                Ok(record) => Ok(record),
                Err(Fail::Store(e)) => Err(e),
                Err(e @ Fail::Sql(_)) => return Err(e),
            };
            existing.insert(id, record.map(Created::Existing));
        }
    }

    let wake = news.iter().any(|n| {
        n.due_at.is_some() && matches!(outcomes.get(n.id.as_str()), Some(Outcome::Inserted))
    });
    if wake {
        notify(&mut tx).await?;
    }
    tx.commit().await?;
    // The outcomes borrow the ids of `news`; keep them owned to take `news` apart.
    let outcomes: HashMap<String, Outcome> = outcomes
        .into_iter()
        .map(|(id, o)| (id.to_owned(), o))
        .collect();
    let mut results = assemble(news, &outcomes, existing);
    if !waiting.is_empty() {
        for r in &mut results {
            if let Ok(Created::New(record)) = r
                && waiting.contains(record.id.as_str())
            {
                record.blocked = Some(crate::types::waiting_block(record.created_at));
            }
        }
    }
    Ok(results)
}

/// The result of each input, in order, from the outcome of each distinct id's first occurrence
/// and the existing heads read back.
fn assemble(
    news: Vec<NewInstance>,
    outcomes: &HashMap<String, Outcome>,
    mut existing: HashMap<String, CreateResult>,
) -> Vec<CreateResult> {
    // The index in `results` of each id's first occurrence.
    let mut firsts: HashMap<String, usize> = HashMap::with_capacity(news.len());
    let mut results: Vec<CreateResult> = Vec::with_capacity(news.len());
    for new in news {
        if let Some(first) = firsts.get(new.id.as_str()).and_then(|&i| results.get(i)) {
            // A later occurrence finds what the first one created or found.
            let again = first.clone().map(|c| match c {
                Created::New(r) | Created::Existing(r) => Created::Existing(r),
            });
            results.push(again);
            continue;
        }
        let key = new.id.as_str().to_owned();
        let result = match outcomes.get(&key) {
            Some(Outcome::Inserted) => Ok(Created::New(new.into_record())),
            Some(Outcome::Orphaned) => Err(StoreError::InvalidData {
                id: key.clone(),
                detail: "history entry 0 already exists though the instance does not".into(),
            }),
            // Not inserted, and not read back: it was deleted in between (as `create` would
            // report it).
            Some(Outcome::Existing) | None => existing
                .remove(&key)
                .unwrap_or(Err(StoreError::NotFound { id: new.id })),
        };
        firsts.insert(key, results.len());
        results.push(result);
    }
    results
}
