-- sayiir SQLite schema, version 1.
--
-- Applied by `SqliteStore::open` inside one `BEGIN IMMEDIATE` transaction, which then sets
-- `PRAGMA user_version = 1` and `PRAGMA application_id = 0x53595952` ("SYYR").

-- The head of each instance: one row, rewritten by every transition.
CREATE TABLE sayiir_instances (
  id TEXT PRIMARY KEY NOT NULL,
  workflow TEXT NOT NULL,
  definition_hash BLOB NOT NULL,      -- 32 bytes
  seq INTEGER NOT NULL,
  status INTEGER NOT NULL,            -- Status::code()
  state BLOB,                         -- NULL once finished
  output BLOB,
  due_at INTEGER,                     -- ms since epoch; NULL when waiting for an event or finished
  lease_owner TEXT,
  lease_until INTEGER,
  blocked_kind INTEGER,               -- BlockKind::code(), NULL when not blocked
  blocked_reason TEXT,
  blocked_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Dispatch: running instances with a due time, earliest first.
CREATE INDEX sayiir_instances_due ON sayiir_instances (due_at) WHERE status = 0 AND due_at IS NOT NULL;

-- Listings and version-mismatch scans by workflow name.
CREATE INDEX sayiir_instances_workflow ON sayiir_instances (workflow, status);

-- Append-only history: entry `seq` is written by the transition that moved the head to `seq`.
CREATE TABLE sayiir_history (
  instance_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  payload BLOB NOT NULL,
  PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
