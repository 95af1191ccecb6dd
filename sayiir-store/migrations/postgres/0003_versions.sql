-- Workflow versions: an instance's identity becomes (workflow, version, definition hash,
-- fingerprint). Rows stored before are version 1 with the all-zero fingerprint
-- (`Fingerprint::UNKNOWN`, which matches no definition), no state id and no input. Columns
-- added with a constant default do not rewrite the table. `version` is a BIGINT so that every
-- u32 fits. `state_id` changes on most steps and stays out of every index, so that those
-- updates remain HOT (0002_fillfactor.sql).
ALTER TABLE sayiir_instances
  ADD COLUMN version BIGINT NOT NULL DEFAULT 1,
  ADD COLUMN fingerprint BYTEA NOT NULL                 -- 32 bytes
    DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
  ADD COLUMN state_id TEXT;                             -- NULL once finished

-- The input each instance was created (or last restarted) with, kept for restarts. Apart from
-- the head row, of which every step writes a new version: a large input is not copied by each
-- step.
CREATE TABLE sayiir_inputs (
  instance_id TEXT COLLATE "C" PRIMARY KEY,
  input BYTEA NOT NULL
);

-- Listings by workflow and version (drain monitoring) and version-mismatch scans by workflow.
DROP INDEX sayiir_instances_workflow;
CREATE INDEX sayiir_instances_workflow ON sayiir_instances (workflow, version, status);

-- The definitions registered by the binaries that used this database: the first
-- registration of a (workflow, hash, fingerprint) wins.
CREATE TABLE sayiir_definitions (
  workflow TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  definition_hash BYTEA NOT NULL,     -- 32 bytes
  fingerprint BYTEA NOT NULL,         -- 32 bytes
  shape BYTEA NOT NULL,               -- the runtime's encoding
  created_at BIGINT NOT NULL,
  PRIMARY KEY (workflow, definition_hash, fingerprint)
);
