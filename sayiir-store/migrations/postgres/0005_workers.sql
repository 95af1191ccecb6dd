-- sayiir PostgreSQL schema: worker registrations.
--
-- Each worker records what it runs (its (workflow, hash, fingerprint) keys) and until when it
-- counts as alive; it refreshes that while it runs. Instances whose definition no live worker
-- runs are reported as such by the engine.
CREATE TABLE sayiir_workers (
  id TEXT PRIMARY KEY,
  started_at BIGINT NOT NULL,         -- ms since the Unix epoch
  seen_at BIGINT NOT NULL,
  alive_until BIGINT NOT NULL
);

CREATE TABLE sayiir_worker_runs (
  worker_id TEXT NOT NULL,
  workflow TEXT NOT NULL,
  definition_hash BYTEA NOT NULL,     -- 32 bytes
  fingerprint BYTEA NOT NULL,         -- 32 bytes
  PRIMARY KEY (worker_id, workflow, definition_hash, fingerprint)
);
