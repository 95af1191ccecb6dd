//! Reading rows back into the store's types. Anything that does not decode (an unknown status
//! code, a hash that is not 32 bytes, an invalid id, a value of the wrong type) is
//! [`StoreError::InvalidData`] naming the instance and the column; [`damaged`] turns such a
//! row into the [`DamagedRow`] that claims and listings report instead of failing.

use rusqlite::Row;
use rusqlite::types::{FromSql, ValueRef};

use super::fail::{Fail, invalid, is_conversion};
use crate::{
    BlockKind, Blocked, DamagedRow, DefinitionHash, DefinitionRecord, Fingerprint, HistoryEntry,
    InstanceId, InstanceRecord, InstanceSummary, LeaseHolder, Status, StoreError, Timestamp,
    VersionCount, WorkerId, WorkflowKey,
};

/// Columns of an [`InstanceSummary`], in the order [`summary`] reads them.
macro_rules! summary_cols {
    () => {
        "id, workflow, definition_hash, seq, status, due_at, blocked_kind, blocked_reason, \
         blocked_at, created_at, updated_at, version, fingerprint, state_id, priority"
    };
}
pub(super) use summary_cols;

/// Columns of an [`InstanceRecord`], in the order [`record`] reads them.
macro_rules! record_cols {
    () => {
        concat!(
            $crate::sqlite::decode::summary_cols!(),
            ", state, output, lease_owner, lease_until, lease_generation, trace_context, \
             head_start_ms, concurrency_key"
        )
    };
}
pub(super) use record_cols;

/// Index of `state` in [`record_cols`].
const STATE: usize = 15;
/// Index of `output` in [`record_cols`].
const OUTPUT: usize = 16;
/// Index of `lease_owner` in [`record_cols`] (`lease_until` and `lease_generation` follow).
const LEASE_OWNER: usize = 17;
/// Index of `trace_context` in [`record_cols`].
const TRACE_CONTEXT: usize = 20;
/// Index of `head_start_ms` in [`record_cols`].
const HEAD_START: usize = 21;
/// Index of `concurrency_key` in [`record_cols`].
const CONCURRENCY_KEY: usize = 22;
/// The number of columns of [`record_cols`].
pub(super) const RECORD_COLS: usize = 23;

/// What a Rust type reads from a column, for messages.
pub(super) trait Expected {
    /// E.g. "an integer".
    const WHAT: &'static str;
}

impl Expected for i64 {
    const WHAT: &'static str = "an integer";
}

impl Expected for String {
    const WHAT: &'static str = "text";
}

impl Expected for Vec<u8> {
    const WHAT: &'static str = "a blob";
}

impl<T: Expected> Expected for Option<T> {
    const WHAT: &'static str = T::WHAT;
}

/// A stored value as a message shows it: its type and (shortened, escaped) content.
pub(super) fn describe(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => format!("the integer {i}"),
        ValueRef::Real(f) => format!("the real number {f}"),
        ValueRef::Text(t) => {
            let text = String::from_utf8_lossy(t);
            let mut short: String = text.chars().take(40).collect();
            if short.len() < text.len() {
                short.push('…');
            }
            format!("the text {:?}", short)
        }
        ValueRef::Blob(b) => format!("a blob of {} bytes", b.len()),
    }
}

/// Reads column `idx` (named `col`) of the row of instance `id`.
pub(super) fn get<T: FromSql + Expected>(
    row: &Row<'_>,
    idx: usize,
    id: &str,
    col: &str,
) -> Result<T, Fail> {
    row.get(idx).map_err(|e| {
        if is_conversion(&e) {
            let found = row
                .get_ref(idx)
                .map_or_else(|_| "a value".to_owned(), describe);
            invalid(id, format!("column `{col}` holds {found}, not {}", T::WHAT))
        } else {
            Fail::Sql(e)
        }
    })
}

/// Reads the id in column 0 and validates it.
fn id(row: &Row<'_>) -> Result<InstanceId, Fail> {
    let raw = raw_id(row);
    let text: String = get(row, 0, &raw, "id")?;
    InstanceId::new(text.as_str()).map_err(|e| invalid(&raw, format!("column `id`: {e}")))
}

/// The id in column 0 as stored, whatever it holds: text as is (lossily if it is not UTF-8),
/// anything else as SQL quotes it.
fn raw_id(row: &Row<'_>) -> String {
    match row.get_ref(0) {
        Ok(ValueRef::Text(t)) => String::from_utf8_lossy(t).into_owned(),
        Ok(ValueRef::Blob(b)) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("x'{hex}'")
        }
        Ok(ValueRef::Integer(i)) => i.to_string(),
        Ok(ValueRef::Real(f)) => f.to_string(),
        Ok(ValueRef::Null) | Err(_) => "NULL".into(),
    }
}

/// The row (of [`summary_cols`]) that failed to decode with `detail`, as reported.
pub(super) fn damaged(row: &Row<'_>, detail: String) -> DamagedRow {
    let workflow = match row.get_ref(1) {
        Ok(ValueRef::Text(t)) => std::str::from_utf8(t).ok().map(str::to_owned),
        _ => None,
    };
    DamagedRow {
        id: raw_id(row),
        workflow,
        problem: detail,
    }
}

/// Whether `e` means the row does not decode (rather than a failure of the database), with
/// what is wrong.
pub(super) fn damage(e: &Fail) -> Option<&str> {
    match e {
        Fail::Store(StoreError::InvalidData { detail, .. }) => Some(detail),
        _ => None,
    }
}

/// A sequence number as stored (SQLite integers are signed).
pub(super) fn seq_from_db(raw: i64, id: &str) -> Result<u64, Fail> {
    u64::try_from(raw)
        .map_err(|_| invalid(id, format!("column `seq`: negative sequence number {raw}")))
}

/// A sequence number to store; fails past `i64::MAX`, which no instance reaches in practice.
pub(super) fn seq_to_db(seq: u64, id: &str) -> Result<i64, Fail> {
    i64::try_from(seq).map_err(|_| {
        Fail::Store(StoreError::Backend {
            detail: format!("sequence number {seq} of instance `{id}` does not fit in SQLite"),
        })
    })
}

/// A status code as stored.
pub(super) fn status_from_db(code: i64, id: &str) -> Result<Status, Fail> {
    Status::from_code(code)
        .ok_or_else(|| invalid(id, format!("column `status`: unknown status code {code}")))
}

/// A 32-byte hash or fingerprint (column `col`) as stored.
pub(super) fn bytes32(raw: &[u8], id: &str, col: &str) -> Result<[u8; 32], Fail> {
    <[u8; 32]>::try_from(raw).map_err(|_| {
        invalid(
            id,
            format!("column `{col}` is {} bytes long, not 32", raw.len()),
        )
    })
}

/// A declared version as stored.
pub(super) fn version_from_db(raw: i64, id: &str) -> Result<u32, Fail> {
    u32::try_from(raw).map_err(|_| {
        invalid(
            id,
            format!("column `version`: {raw} is not a version (a u32)"),
        )
    })
}

/// Decodes columns 0..=13 ([`summary_cols`]).
pub(super) fn summary(row: &Row<'_>) -> Result<InstanceSummary, Fail> {
    let id = id(row)?;
    let s = id.as_str();
    let hash: Vec<u8> = get(row, 2, s, "definition_hash")?;
    let hash = bytes32(&hash, s, "definition_hash")?;
    let fingerprint: Vec<u8> = get(row, 12, s, "fingerprint")?;
    let fingerprint = bytes32(&fingerprint, s, "fingerprint")?;
    let seq = seq_from_db(get(row, 3, s, "seq")?, s)?;
    let status = status_from_db(get(row, 4, s, "status")?, s)?;
    let due_at: Option<i64> = get(row, 5, s, "due_at")?;
    let blocked = blocked(row, s)?;
    let raw: i64 = get(row, 14, s, "priority")?;
    let priority = i8::try_from(raw)
        .map_err(|_| invalid(s, format!("column `priority`: {raw} is not a priority")))?;
    Ok(InstanceSummary {
        priority,
        workflow: get(row, 1, s, "workflow")?,
        version: version_from_db(get(row, 11, s, "version")?, s)?,
        hash: DefinitionHash(hash),
        fingerprint: Fingerprint(fingerprint),
        seq,
        status,
        state_id: get(row, 13, s, "state_id")?,
        due_at: due_at.map(Timestamp),
        blocked,
        created_at: Timestamp(get(row, 9, s, "created_at")?),
        updated_at: Timestamp(get(row, 10, s, "updated_at")?),
        id,
    })
}

/// Decodes the block columns 6..=8.
fn blocked(row: &Row<'_>, id: &str) -> Result<Option<Blocked>, Fail> {
    let Some(code) = get::<Option<i64>>(row, 6, id, "blocked_kind")? else {
        return Ok(None);
    };
    let kind = BlockKind::from_code(code).ok_or_else(|| {
        invalid(
            id,
            format!("column `blocked_kind`: unknown block kind code {code}"),
        )
    })?;
    let reason: Option<String> = get(row, 7, id, "blocked_reason")?;
    let at: Option<i64> = get(row, 8, id, "blocked_at")?;
    match (reason, at) {
        (Some(reason), Some(at)) => Ok(Some(Blocked {
            kind,
            reason,
            at: Timestamp(at),
        })),
        (None, _) => Err(invalid(
            id,
            "column `blocked_reason` is NULL on a blocked row",
        )),
        (_, None) => Err(invalid(id, "column `blocked_at` is NULL on a blocked row")),
    }
}

/// Decodes a row of [`record_cols`].
pub(super) fn record(row: &Row<'_>) -> Result<InstanceRecord, Fail> {
    let s = summary(row)?;
    let id = s.id.as_str();
    let state: Option<Vec<u8>> = get(row, STATE, id, "state")?;
    let output: Option<Vec<u8>> = get(row, OUTPUT, id, "output")?;
    let lease = lease(row, id)?;
    let trace_context: Option<String> = get(row, TRACE_CONTEXT, id, "trace_context")?;
    let head_start_ms: i64 = get(row, HEAD_START, id, "head_start_ms")?;
    let priority = s.priority;
    let concurrency_key: Option<String> = get(row, CONCURRENCY_KEY, id, "concurrency_key")?;
    // Through the constructor a backend outside this crate has to use.
    let definition = s.definition();
    Ok(
        InstanceRecord::new(s.id, s.workflow, definition, s.seq, s.status, s.created_at)
            .state_id(s.state_id)
            .state(state)
            .output(output)
            .due_at(s.due_at)
            .blocked(s.blocked)
            .updated_at(s.updated_at)
            .lease(lease)
            .trace_context(trace_context)
            .priority(priority, head_start_ms)
            .concurrency_key(concurrency_key),
    )
}

/// Decodes the lease columns of [`record_cols`]: `None` without an owner.
fn lease(row: &Row<'_>, id: &str) -> Result<Option<LeaseHolder>, Fail> {
    let Some(owner) = get::<Option<String>>(row, LEASE_OWNER, id, "lease_owner")? else {
        return Ok(None);
    };
    let Some(until) = get::<Option<i64>>(row, LEASE_OWNER + 1, id, "lease_until")? else {
        return Err(invalid(id, "column `lease_until` is NULL on a leased row"));
    };
    let raw: i64 = get(row, LEASE_OWNER + 2, id, "lease_generation")?;
    let generation = u64::try_from(raw).map_err(|_| {
        invalid(
            id,
            format!("column `lease_generation`: negative lease generation {raw}"),
        )
    })?;
    Ok(Some(LeaseHolder {
        owner: WorkerId(owner),
        until: Timestamp(until),
        generation,
    }))
}

/// Decodes a row of `seq, at, kind, payload` from the history of `id`.
pub(super) fn history_entry(row: &Row<'_>, id: &str) -> Result<HistoryEntry, Fail> {
    let seq: i64 = get(row, 0, id, "sayiir_history.seq")?;
    let seq = u64::try_from(seq).map_err(|_| {
        invalid(
            id,
            format!("column `sayiir_history.seq`: negative sequence number {seq}"),
        )
    })?;
    let entry = || -> Result<HistoryEntry, Fail> {
        Ok(HistoryEntry {
            seq,
            at: Timestamp(get(row, 1, id, "sayiir_history.at")?),
            kind: get(row, 2, id, "sayiir_history.kind")?,
            payload: get(row, 3, id, "sayiir_history.payload")?,
        })
    };
    entry().map_err(|e| in_entry(e, seq))
}

/// `e`, said of history entry `seq` when it is about the data.
pub(super) fn in_entry(e: Fail, seq: u64) -> Fail {
    match e {
        Fail::Store(StoreError::InvalidData { id, detail }) => {
            Fail::Store(StoreError::InvalidData {
                id,
                detail: format!("history entry {seq}: {detail}"),
            })
        }
        e => e,
    }
}

/// The SQL text `VALUES (?a, ?b, ?c), …` with one triple of placeholders per key of `known`,
/// numbered from `first`, for `(workflow, definition_hash, fingerprint) IN (…)`.
pub(super) fn key_values(known: &[WorkflowKey], first: usize) -> String {
    let mut sql = String::from("VALUES ");
    for i in 0..known.len() {
        if i > 0 {
            sql.push_str(", ");
        }
        let n = first + 3 * i;
        sql.push_str(&format!("(?{n}, ?{}, ?{})", n + 1, n + 2));
    }
    sql
}

/// Decodes a row of `workflow, version, definition_hash, fingerprint, shape, created_at`.
pub(super) fn definition(row: &Row<'_>) -> Result<DefinitionRecord, Fail> {
    let workflow: String = get(row, 0, "<definition>", "sayiir_definitions.workflow")?;
    let w = format!("<definition of `{workflow}`>");
    let hash: Vec<u8> = get(row, 2, &w, "sayiir_definitions.definition_hash")?;
    let fingerprint: Vec<u8> = get(row, 3, &w, "sayiir_definitions.fingerprint")?;
    Ok(DefinitionRecord {
        version: version_from_db(get(row, 1, &w, "sayiir_definitions.version")?, &w)?,
        hash: DefinitionHash(bytes32(&hash, &w, "definition_hash")?),
        fingerprint: Fingerprint(bytes32(&fingerprint, &w, "fingerprint")?),
        shape: get(row, 4, &w, "sayiir_definitions.shape")?,
        created_at: Timestamp(get(row, 5, &w, "sayiir_definitions.created_at")?),
        workflow,
    })
}

/// Decodes a row of `workflow, version, definition_hash, fingerprint, status, blocked_kind,
/// count(*)`.
pub(super) fn version_count(row: &Row<'_>) -> Result<VersionCount, Fail> {
    let workflow: String = get(row, 0, "<version count>", "workflow")?;
    let w = format!("<instances of `{workflow}`>");
    let hash: Vec<u8> = get(row, 2, &w, "definition_hash")?;
    let fingerprint: Vec<u8> = get(row, 3, &w, "fingerprint")?;
    let blocked = match get::<Option<i64>>(row, 5, &w, "blocked_kind")? {
        None => None,
        Some(code) => Some(
            BlockKind::from_code(code)
                .ok_or_else(|| invalid(&w, format!("unknown block kind code {code}")))?,
        ),
    };
    let count: i64 = get(row, 6, &w, "count")?;
    Ok(VersionCount {
        version: version_from_db(get(row, 1, &w, "version")?, &w)?,
        hash: DefinitionHash(bytes32(&hash, &w, "definition_hash")?),
        fingerprint: Fingerprint(bytes32(&fingerprint, &w, "fingerprint")?),
        status: status_from_db(get(row, 4, &w, "status")?, &w)?,
        blocked,
        count: u64::try_from(count).unwrap_or(0),
        workflow,
    })
}
