//! Reading rows back into the store's types, and the conversions of values the store's types
//! and PostgreSQL's disagree on. Anything that does not decode (an unknown status code, a hash
//! that is not 32 bytes, an invalid id, a negative sequence number) is
//! [`StoreError::InvalidData`] naming the instance and the column; [`damaged`] turns such a
//! row into the [`DamagedRow`] that claims and listings report instead of failing.

use std::num::NonZeroUsize;

use sqlx::postgres::{PgRow, Postgres};
use sqlx::{Decode, Row, Type};

use super::fail::{Fail, invalid};
use crate::{
    BlockKind, Blocked, DamagedRow, DefinitionHash, DefinitionRecord, Fingerprint, HistoryEntry,
    InstanceId, InstanceRecord, InstanceSummary, LeaseHolder, SignalRecord, Status, StoreError,
    Timestamp, VersionCount, WorkerId, WorkflowKey,
};

/// Columns of an [`InstanceSummary`], read by name by [`summary`].
macro_rules! summary_cols {
    () => {
        "id, workflow, definition_hash, seq, status, due_at, blocked_kind, blocked_reason, \
         blocked_at, created_at, updated_at, version, fingerprint, state_id, priority"
    };
}
pub(super) use summary_cols;

/// Columns of an [`InstanceRecord`], read by name by [`record`].
macro_rules! record_cols {
    () => {
        concat!(
            $crate::postgres::decode::summary_cols!(),
            ", state, output, lease_owner, lease_until, lease_generation, trace_context, \
             head_start_ms, concurrency_key"
        )
    };
}
pub(super) use record_cols;

/// Reads column `col` of a row of instance `id`.
pub(super) fn get<'r, T>(row: &'r PgRow, col: &str, id: &str) -> Result<T, Fail>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(col).map_err(|e| match e {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            invalid(id, format!("column `{col}`: {e}"))
        }
        e => Fail::Sql(e),
    })
}

/// Reads the `id` column and validates it.
fn id(row: &PgRow) -> Result<InstanceId, Fail> {
    let raw: String = get(row, "id", "<unreadable id>")?;
    InstanceId::new(raw.as_str()).map_err(|e| invalid(&raw, format!("column `id`: {e}")))
}

/// The row (of [`summary_cols`]) that failed to decode with `detail`, as reported.
pub(super) fn damaged(row: &PgRow, detail: String) -> DamagedRow {
    DamagedRow {
        id: row
            .try_get::<String, _>("id")
            .unwrap_or_else(|_| "<unreadable id>".into()),
        workflow: row.try_get("workflow").ok(),
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

/// A sequence number as stored (PostgreSQL integers are signed).
pub(super) fn seq_from_db(raw: i64, id: &str) -> Result<u64, Fail> {
    u64::try_from(raw)
        .map_err(|_| invalid(id, format!("column `seq`: negative sequence number {raw}")))
}

/// A sequence number to store; fails past `i64::MAX`, which no instance reaches in practice.
pub(super) fn seq_to_db(seq: u64, id: &str) -> Result<i64, Fail> {
    i64::try_from(seq).map_err(|_| {
        Fail::Store(StoreError::Backend {
            detail: format!(
                "sequence number {seq} of instance `{id}` does not fit in a PostgreSQL BIGINT"
            ),
        })
    })
}

/// A status code as stored.
pub(super) fn status_from_db(code: i16, id: &str) -> Result<Status, Fail> {
    Status::from_code(i64::from(code))
        .ok_or_else(|| invalid(id, format!("column `status`: unknown status code {code}")))
}

/// A limit for SQL, saturated at `i64::MAX`.
pub(super) fn sql_limit(limit: NonZeroUsize) -> i64 {
    i64::try_from(limit.get()).unwrap_or(i64::MAX)
}

/// The known `(workflow, hash, fingerprint)` keys as three parallel arrays, for
/// `(workflow, definition_hash, fingerprint) IN
/// (SELECT * FROM UNNEST($a::text[], $b::bytea[], $c::bytea[]))`.
pub(super) fn key_arrays(known: &[WorkflowKey]) -> (Vec<&str>, Vec<&[u8]>, Vec<&[u8]>) {
    let mut arrays = (
        Vec::with_capacity(known.len()),
        Vec::with_capacity(known.len()),
        Vec::with_capacity(known.len()),
    );
    for k in known {
        arrays.0.push(k.workflow.as_str());
        arrays.1.push(k.hash.0.as_slice());
        arrays.2.push(k.fingerprint.0.as_slice());
    }
    arrays
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
fn version_from_db(raw: i64, id: &str) -> Result<u32, Fail> {
    u32::try_from(raw).map_err(|_| {
        invalid(
            id,
            format!("column `version`: {raw} is not a version (a u32)"),
        )
    })
}

/// Decodes the columns of [`summary_cols`].
pub(super) fn summary(row: &PgRow) -> Result<InstanceSummary, Fail> {
    let id = id(row)?;
    let s = id.as_str();
    let hash: Vec<u8> = get(row, "definition_hash", s)?;
    let hash = bytes32(&hash, s, "definition_hash")?;
    let fingerprint: Vec<u8> = get(row, "fingerprint", s)?;
    let fingerprint = bytes32(&fingerprint, s, "fingerprint")?;
    let seq = seq_from_db(get(row, "seq", s)?, s)?;
    let status = status_from_db(get(row, "status", s)?, s)?;
    let due_at: Option<i64> = get(row, "due_at", s)?;
    let blocked = blocked(row, s)?;
    let raw: i16 = get(row, "priority", s)?;
    let priority = i8::try_from(raw)
        .map_err(|_| invalid(s, format!("column `priority`: {raw} is not a priority")))?;
    Ok(InstanceSummary {
        priority,
        workflow: get(row, "workflow", s)?,
        version: version_from_db(get(row, "version", s)?, s)?,
        hash: DefinitionHash(hash),
        fingerprint: Fingerprint(fingerprint),
        seq,
        status,
        state_id: get(row, "state_id", s)?,
        due_at: due_at.map(Timestamp),
        blocked,
        created_at: Timestamp(get(row, "created_at", s)?),
        updated_at: Timestamp(get(row, "updated_at", s)?),
        id,
    })
}

/// A block kind code as stored.
pub(super) fn block_kind(code: i16, id: &str) -> Result<BlockKind, Fail> {
    BlockKind::from_code(i64::from(code)).ok_or_else(|| {
        invalid(
            id,
            format!("column `blocked_kind`: unknown block kind code {code}"),
        )
    })
}

/// Decodes the block columns.
fn blocked(row: &PgRow, id: &str) -> Result<Option<Blocked>, Fail> {
    let Some(code) = get::<Option<i16>>(row, "blocked_kind", id)? else {
        return Ok(None);
    };
    let kind = block_kind(code, id)?;
    let reason: Option<String> = get(row, "blocked_reason", id)?;
    let at: Option<i64> = get(row, "blocked_at", id)?;
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

/// Decodes the columns of [`record_cols`].
pub(super) fn record(row: &PgRow) -> Result<InstanceRecord, Fail> {
    let s = summary(row)?;
    let id = s.id.as_str();
    let state: Option<Vec<u8>> = get(row, "state", id)?;
    let output: Option<Vec<u8>> = get(row, "output", id)?;
    let lease = lease(row, id)?;
    let trace_context: Option<String> = get(row, "trace_context", id)?;
    let head_start_ms: i64 = get(row, "head_start_ms", id)?;
    let concurrency_key: Option<String> = get(row, "concurrency_key", id)?;
    Ok(InstanceRecord {
        priority: s.priority,
        head_start_ms,
        lease,
        trace_context,
        concurrency_key,
        state,
        output,
        id: s.id,
        workflow: s.workflow,
        version: s.version,
        hash: s.hash,
        fingerprint: s.fingerprint,
        seq: s.seq,
        status: s.status,
        state_id: s.state_id,
        due_at: s.due_at,
        blocked: s.blocked,
        created_at: s.created_at,
        updated_at: s.updated_at,
    })
}

/// Decodes the lease columns of [`record_cols`]: `None` without an owner.
fn lease(row: &PgRow, id: &str) -> Result<Option<LeaseHolder>, Fail> {
    let Some(owner) = get::<Option<String>>(row, "lease_owner", id)? else {
        return Ok(None);
    };
    let Some(until) = get::<Option<i64>>(row, "lease_until", id)? else {
        return Err(invalid(id, "column `lease_until` is NULL on a leased row"));
    };
    let raw: i64 = get(row, "lease_generation", id)?;
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

/// Decodes a row of `seq, at, kind, payload` of the history of `id`; `None` for the row of
/// NULLs an outer join yields for an instance without matching entries.
pub(super) fn history_entry(row: &PgRow, id: &str) -> Result<Option<HistoryEntry>, Fail> {
    let Some(seq) = get::<Option<i64>>(row, "seq", id)? else {
        return Ok(None);
    };
    let entry = || -> Result<HistoryEntry, Fail> {
        Ok(HistoryEntry {
            seq: seq_from_db(seq, id)?,
            at: Timestamp(get(row, "at", id)?),
            kind: get(row, "kind", id)?,
            payload: get(row, "payload", id)?,
        })
    };
    entry().map(Some).map_err(|e| match e {
        Fail::Store(StoreError::InvalidData { id, detail }) => {
            Fail::Store(StoreError::InvalidData {
                id,
                detail: format!("history entry {seq}: {detail}"),
            })
        }
        e => e,
    })
}

/// Decodes a row of `signal_id, name, payload, sent_at` of the signals of `id`; `None` for the
/// row of NULLs an outer join yields for an instance without signals.
pub(super) fn signal(row: &PgRow, id: &str) -> Result<Option<SignalRecord>, Fail> {
    let Some(raw) = get::<Option<i64>>(row, "signal_id", id)? else {
        return Ok(None);
    };
    Ok(Some(SignalRecord {
        signal_id: u64::try_from(raw)
            .map_err(|_| invalid(id, format!("negative signal id {raw}")))?,
        name: get(row, "name", id)?,
        payload: get(row, "payload", id)?,
        sent_at: Timestamp(get(row, "sent_at", id)?),
    }))
}

/// Decodes a row of `workflow, version, definition_hash, fingerprint, shape, created_at`.
pub(super) fn definition(row: &PgRow) -> Result<DefinitionRecord, Fail> {
    let workflow: String = get(row, "workflow", "<definition>")?;
    let w = format!("<definition of `{workflow}`>");
    let hash: Vec<u8> = get(row, "definition_hash", &w)?;
    let fingerprint: Vec<u8> = get(row, "fingerprint", &w)?;
    Ok(DefinitionRecord {
        version: version_from_db(get(row, "version", &w)?, &w)?,
        hash: DefinitionHash(bytes32(&hash, &w, "definition_hash")?),
        fingerprint: Fingerprint(bytes32(&fingerprint, &w, "fingerprint")?),
        shape: get(row, "shape", &w)?,
        created_at: Timestamp(get(row, "created_at", &w)?),
        workflow,
    })
}

/// Decodes a row of `workflow, version, definition_hash, fingerprint, status, blocked_kind,
/// count`.
pub(super) fn version_count(row: &PgRow) -> Result<VersionCount, Fail> {
    let workflow: String = get(row, "workflow", "<version count>")?;
    let w = format!("<instances of `{workflow}`>");
    let hash: Vec<u8> = get(row, "definition_hash", &w)?;
    let fingerprint: Vec<u8> = get(row, "fingerprint", &w)?;
    let blocked = match get::<Option<i16>>(row, "blocked_kind", &w)? {
        Some(code) => Some(block_kind(code, &w)?),
        None => None,
    };
    let count: i64 = get(row, "count", &w)?;
    Ok(VersionCount {
        version: version_from_db(get(row, "version", &w)?, &w)?,
        hash: DefinitionHash(bytes32(&hash, &w, "definition_hash")?),
        fingerprint: Fingerprint(bytes32(&fingerprint, &w, "fingerprint")?),
        status: status_from_db(get(row, "status", &w)?, &w)?,
        blocked,
        count: u64::try_from(count).unwrap_or(0),
        workflow,
    })
}
