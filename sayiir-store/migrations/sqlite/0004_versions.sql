-- sayiir SQLite schema, version 4: workflow versions.
--
-- An instance's identity becomes (workflow, version, definition hash, fingerprint). Rows
-- stored before are version 1 with the all-zero fingerprint (`Fingerprint::UNKNOWN`, which
-- matches no definition), no state id and no input. Adding a column with a constant default
-- does not rewrite the table.
ALTER TABLE sayiir_instances ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sayiir_instances ADD COLUMN fingerprint BLOB NOT NULL   -- 32 bytes
  DEFAULT x'0000000000000000000000000000000000000000000000000000000000000000';
ALTER TABLE sayiir_instances ADD COLUMN state_id TEXT;               -- NULL once finished

-- The input each instance was created (or last restarted) with, kept for restarts. Apart from
-- the head row, which every step rewrites whole: a large input is not copied by each step.
CREATE TABLE sayiir_inputs (
  instance_id TEXT PRIMARY KEY NOT NULL,
  input BLOB NOT NULL
) WITHOUT ROWID;

-- Listings by workflow and version (drain monitoring) and version-mismatch scans by workflow.
DROP INDEX sayiir_instances_workflow;
CREATE INDEX sayiir_instances_workflow ON sayiir_instances (workflow, version, status);

-- The definitions registered by the binaries that used this database: the first
-- registration of a (workflow, hash, fingerprint) wins.
CREATE TABLE sayiir_definitions (
  workflow TEXT NOT NULL,
  version INTEGER NOT NULL,
  definition_hash BLOB NOT NULL,      -- 32 bytes
  fingerprint BLOB NOT NULL,          -- 32 bytes
  shape BLOB NOT NULL,                -- the runtime's encoding
  created_at INTEGER NOT NULL,        -- ms since epoch
  PRIMARY KEY (workflow, definition_hash, fingerprint)
);
