//! The single commit of a common transition (one that [`bulk::fits`]) in one statement, sent
//! outside an explicit transaction: one round trip (Parse/Bind/Execute/Sync, the parse skipped
//! once sqlx has prepared the statement on the connection), where `BEGIN`, the locking read,
//! the writes, the wake-up and `COMMIT` would take four to six. (The pool still pings the
//! connection before handing it out, a bare `Sync`: that is what lets an operation made
//! while the server restarts wait for it instead of failing on a dead connection.)
//!
//! The statement locks the instance's row (`FOR UPDATE`; under READ COMMITTED a row changed
//! while it waited for the lock is read again in its latest version, so the compare-and-swap
//! of the sequence number sees the committed head), makes the checks of `write::check` in SQL,
//! inserts the history entries (the event and [`Transition::extra_events`], from arrays),
//! updates the head, deletes a finishing instance's buffered signals, and sends the wake-up
//! (`pg_notify`, delivered at its commit) when the instance is left due and claimable. It
//! returns the head it checked against, so that a refusal is the same error as on the
//! transactional path, and whether it wrote. A finishing transition of an instance with
//! admission gates writes nothing here and goes the transactional way (its slot is given
//! back by statements of their own).
//!
//! The history entries are inserted only if none of them exists (checked under the row lock),
//! so that a refused transition writes nothing. Every writer of an instance's history holds
//! its row lock, so an entry that exists is seen by the check; one written behind the store's
//! back between the check and the insert would make the insert fail on the primary key, which
//! aborts the whole statement (nothing written) and is the same refusal.
//!
//! [`bulk::fits`]: super::bulk::fits

use sqlx::postgres::PgPool;

use crate::error::seq_after;
use crate::postgres::decode::{get, seq_from_db, seq_to_db, status_from_db};
use crate::postgres::fail::Fail;
use crate::postgres::wake::CHANNEL;
use crate::{BlockKind, Next, Status, StoreError, Transition};

use super::write::{Head, check, history_exists};

/// The part of both statements before the head's update. Parameters: `$1` id, `$2`
/// namespace, `$3` expected sequence number, `$4` the head's new one, `$5`/`$6`/`$7` the
/// history entries' sequence numbers, kinds and payloads, `$8` now, `$9`/`$10` the owner and
/// generation of the lease to release (`NULL` for none), `$11` the running status code, `$12`
/// the paused block kind, `$13` the wake-up channel. `clash`: the lowest of the entries that
/// exists; `free`: none does.
/// `ok`: the head passes the checks (the transition-specific one is spliced in).
macro_rules! head_checks {
    ($check:literal) => {
        concat!(
            "WITH h AS (
    SELECT seq, status, blocked_kind, lease_owner, lease_until, lease_generation,
        gates IS NOT NULL AS gated
    FROM sayiir_instances WHERE id = $1 AND namespace = $2 FOR UPDATE
),
c AS (
    SELECT h.*, x.clash, x.clash IS NULL AS free,
        ($9::text IS NOT NULL AND h.lease_owner = $9::text AND h.lease_until IS NOT NULL
            AND h.lease_generation = $10::bigint) AS release
    FROM h, (SELECT min(seq) AS clash FROM sayiir_history
              WHERE instance_id = $1 AND seq = ANY ($5::bigint[])) AS x
),
ok AS (
    SELECT * FROM c WHERE c.seq = $3::bigint AND c.status = $11::smallint AND c.free AND ",
            $check,
            "
),
appended AS (
    INSERT INTO sayiir_history (instance_id, seq, at, kind, payload)
    SELECT $1, e.seq, $8::bigint, e.kind, e.payload
    FROM ok, UNNEST($5::bigint[], $6::text[], $7::bytea[]) AS e(seq, kind, payload)
    RETURNING 1
),
"
        )
    };
}

/// The end of both statements, after `head` (the update, returning whether it wakes): the
/// wake-up, and the row that reports (`NULL`s when no instance was found).
macro_rules! report {
    () => {
        "
woken AS (
    SELECT pg_notify($13::text, '') FROM head WHERE head.wakes
)
SELECT c.seq, c.status, c.blocked_kind, c.gated, c.free, c.clash,
    (SELECT count(*) FROM head) AS written, (SELECT count(*) FROM woken) AS woken
FROM (VALUES (1)) AS one (x) LEFT JOIN c ON TRUE"
    };
}

/// A transition that keeps the instance running (and is not paused). `$14` state, `$15` due
/// time, `$16` state id. It wakes when it leaves the instance due with no live lease: the one
/// it releases, or none, or an expired one.
const RUNNING: &str = concat!(
    head_checks!("c.blocked_kind IS DISTINCT FROM $12::smallint"),
    "head AS (
    UPDATE sayiir_instances i SET seq = $4::bigint, state = $14::bytea, due_at = $15::bigint,
        updated_at = $8::bigint, state_id = $16::text,
        lease_owner = CASE WHEN ok.release THEN NULL ELSE i.lease_owner END,
        lease_until = CASE WHEN ok.release THEN NULL ELSE i.lease_until END
    FROM ok
    WHERE i.id = $1 AND (SELECT count(*) FROM appended) = cardinality($5::bigint[])
    RETURNING ($15::bigint IS NOT NULL AND (ok.release OR ok.lease_owner IS NULL
        OR ok.lease_until IS NULL OR ok.lease_until <= $8::bigint)) AS wakes
),",
    report!()
);

/// A finishing transition of an instance without gates (`$12` unused). `$14` status, `$15`
/// output. Its buffered signals are deleted.
const FINISHED: &str = concat!(
    head_checks!("NOT c.gated"),
    "head AS (
    UPDATE sayiir_instances i SET seq = $4::bigint, status = $14::smallint, state = NULL,
        output = $15::bytea, due_at = NULL, lease_owner = NULL, lease_until = NULL,
        updated_at = $8::bigint, state_id = NULL
    FROM ok
    WHERE i.id = $1 AND (SELECT count(*) FROM appended) = cardinality($5::bigint[])
    RETURNING FALSE AS wakes
),
dropped AS (
    DELETE FROM sayiir_signals WHERE instance_id = $1 AND EXISTS (SELECT 1 FROM head)
),",
    report!()
);

/// What the statement did.
pub(super) enum Outcome {
    /// The transition is committed.
    Written,
    /// Nothing was written: the transition must go the transactional way (a finishing
    /// transition of an instance with gates).
    Fallback(Box<Transition>),
}

/// Commits `t`, which [`bulk::fits`](super::bulk::fits), in one statement on `pool`. Fails with
/// [`Fail::Store`] exactly as the transactional path would refuse it, having written nothing.
pub(super) async fn commit(pool: &PgPool, ns: &str, t: Transition) -> Result<Outcome, Fail> {
    let id = t.id.as_str();
    let first = seq_after(t.expected_seq).map_err(Fail::Store)?;
    let Some(last) = t.next_seq() else {
        return Err(Fail::Store(StoreError::Backend {
            detail: "sequence number overflow".into(),
        }));
    };
    let expected = seq_to_db(t.expected_seq, id)?;
    let head_seq = seq_to_db(last, id)?;
    let events = 1 + t.extra_events.len();
    let mut seqs = Vec::with_capacity(events);
    let mut kinds = Vec::with_capacity(events);
    let mut payloads = Vec::with_capacity(events);
    for (n, event) in std::iter::once(&t.event).chain(&t.extra_events).enumerate() {
        // `first + n <= last`, which fits.
        let seq = first.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        seqs.push(seq_to_db(seq, id)?);
        kinds.push(event.kind.as_str());
        payloads.push(event.payload.as_slice());
    }
    // A lease whose generation does not fit the column is not the instance's: none released.
    let release = t
        .release_lease
        .as_ref()
        .and_then(|l| Some((l.owner.0.as_str(), i64::try_from(l.generation).ok()?)));
    let finishing = matches!(t.next, Next::Finished { .. });
    let query = sqlx::query(if finishing { FINISHED } else { RUNNING })
        .bind(id)
        .bind(ns)
        .bind(expected)
        .bind(head_seq)
        .bind(&seqs)
        .bind(&kinds)
        .bind(&payloads)
        .bind(t.now.0)
        .bind(release.map(|(owner, _)| owner))
        .bind(release.map(|(_, generation)| generation))
        .bind(code(Status::Running.code()))
        .bind(code(BlockKind::Paused.code()))
        .bind(CHANNEL);
    let query = match &t.next {
        Next::Running {
            state,
            due_at,
            state_id,
        } => query
            .bind(state.as_slice())
            .bind(due_at.map(|d| d.0))
            .bind(state_id.as_str()),
        Next::Finished { status, output } => {
            query.bind(code(status.code())).bind(output.as_slice())
        }
    };
    let row = match query.fetch_one(pool).await {
        Ok(row) => row,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(Fail::Store(StoreError::InvalidData {
                id: id.to_owned(),
                detail: history_exists(first, t.expected_seq),
            }));
        }
        Err(e) => return Err(e.into()),
    };
    if get::<i64>(&row, "written", id)? > 0 {
        return Ok(Outcome::Written);
    }
    let Some(seq) = get::<Option<i64>>(&row, "seq", id)? else {
        return Err(Fail::Store(StoreError::NotFound { id: t.id }));
    };
    let status: i16 = get(&row, "status", id)?;
    let kind: Option<i16> = get(&row, "blocked_kind", id)?;
    let head = Head {
        seq: seq_from_db(seq, id)?,
        status: status_from_db(status, id)?,
        paused: kind.map(i64::from) == Some(BlockKind::Paused.code()),
        lease: None,
        generation: 0,
        gated: get(&row, "gated", id)?,
    };
    check(&head, &t)?;
    if finishing && head.gated {
        return Ok(Outcome::Fallback(Box::new(t)));
    }
    // The lowest of the transition's entries that exists.
    let clash = match get::<Option<i64>>(&row, "clash", id)? {
        Some(clash) => seq_from_db(clash, id)?,
        None => first,
    };
    Err(Fail::Store(StoreError::InvalidData {
        id: id.to_owned(),
        detail: history_exists(clash, head.seq),
    }))
}

/// A status or block kind code as its column's type (every code fits).
fn code(code: i64) -> i16 {
    i16::try_from(code).unwrap_or(i16::MAX)
}
