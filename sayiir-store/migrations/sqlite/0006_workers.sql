-- sayiir SQLite schema: worker registrations.
--
-- Each worker records what it runs (its (workflow, hash, fingerprint) keys) and until when it
-- counts as alive; it refreshes that while it runs. Instances whose definition no live worker
-- runs are reported as such by the engine.
CREATE TABLE sayiir_workers (
  id TEXT PRIMARY KEY NOT NULL,
  started_at INTEGER NOT NULL,        -- ms since the Unix epoch
  seen_at INTEGER NOT NULL,
  alive_until INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sayiir_worker_runs (
  worker_id TEXT NOT NULL,
  workflow TEXT NOT NULL,
  definition_hash BLOB NOT NULL,      -- 32 bytes
  fingerprint BLOB NOT NULL,          -- 32 bytes
  PRIMARY KEY (worker_id, workflow, definition_hash, fingerprint)
) WITHOUT ROWID;
