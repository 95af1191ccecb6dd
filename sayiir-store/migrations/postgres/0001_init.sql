-- sayiir PostgreSQL schema, version 1.
--
-- Applied by `PgStore::connect` in one transaction, under a sayiir advisory lock so that
-- processes connecting at once apply it once; the applied versions are recorded in the table
-- `sayiir_migrations`. Ids and workflow names use the "C" collation, so that `ORDER BY id`
-- is byte order (as `InstanceId`'s `Ord` and the other stores), whatever the database's locale.
-- Times are milliseconds since the Unix epoch, as `Timestamp`.

-- The head of each instance: one row, rewritten by every transition.
CREATE TABLE sayiir_instances (
  id TEXT COLLATE "C" PRIMARY KEY,
  workflow TEXT COLLATE "C" NOT NULL,
  definition_hash BYTEA NOT NULL,     -- 32 bytes
  seq BIGINT NOT NULL CHECK (seq >= 0),
  status SMALLINT NOT NULL,           -- Status::code()
  state BYTEA,                        -- NULL once finished
  output BYTEA,
  due_at BIGINT,                      -- NULL when waiting for an event or finished
  lease_owner TEXT,
  lease_until BIGINT,
  blocked_kind SMALLINT,              -- BlockKind::code(), NULL when not blocked
  blocked_reason TEXT,
  blocked_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- Dispatch: running instances with a due time, earliest first.
CREATE INDEX sayiir_instances_due ON sayiir_instances (due_at, id)
  WHERE status = 0 AND due_at IS NOT NULL;

-- Listings and version-mismatch scans by workflow name.
CREATE INDEX sayiir_instances_workflow ON sayiir_instances (workflow, status);

-- Releasing every lease of a worker that stops.
CREATE INDEX sayiir_instances_lease_owner ON sayiir_instances (lease_owner)
  WHERE lease_owner IS NOT NULL;

-- Append-only history: entry `seq` is written by the transition that moved the head to `seq`.
CREATE TABLE sayiir_history (
  instance_id TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  at BIGINT NOT NULL,
  kind TEXT NOT NULL,
  payload BYTEA NOT NULL,
  PRIMARY KEY (instance_id, seq)
);

-- Signals sent to an instance and not yet consumed by one of its transitions. `signal_id` comes
-- from a sequence, which never hands out an id twice, so a consumed id never comes back as a
-- pending one; it is assigned while the instance's row is locked, so an instance's signals are
-- numbered in send order.
CREATE TABLE sayiir_signals (
  signal_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  instance_id TEXT COLLATE "C" NOT NULL,
  name TEXT NOT NULL,
  payload BYTEA NOT NULL,
  sent_at BIGINT NOT NULL
);

-- An instance's pending signals in send order.
CREATE INDEX sayiir_signals_instance ON sayiir_signals (instance_id, signal_id);
