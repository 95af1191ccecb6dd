-- Instance counts kept up to date, so that stats read a few rows instead of every instance.
--
-- `sayiir_counts`: how many instances there are of each (namespace, workflow, version,
-- definition hash, fingerprint, status, block kind), the key of `Store::version_counts`; `blocked_kind` -1 is
-- "not blocked". Writers never update it: triggers on `sayiir_instances` append signed deltas
-- to `sayiir_count_deltas` (no key, no index: concurrent writers never wait for each other
-- there), in the transaction of the insert, delete or change of one of the key's columns. A
-- step that changes none of them (most steps) runs no trigger function: the update trigger's
-- WHEN is checked on the row. Reads sum both tables; readers and worker heartbeats fold the
-- committed deltas into `sayiir_counts`, one folder at a time (a transaction-level advisory
-- lock, tried, never waited for).
CREATE TABLE sayiir_counts (
  namespace TEXT COLLATE "C" NOT NULL,
  workflow TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  definition_hash BYTEA NOT NULL,
  fingerprint BYTEA NOT NULL,
  status SMALLINT NOT NULL,
  blocked_kind SMALLINT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (namespace, workflow, version, definition_hash, fingerprint, status, blocked_kind)
);

CREATE TABLE sayiir_count_deltas (
  namespace TEXT COLLATE "C" NOT NULL,
  workflow TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  definition_hash BYTEA NOT NULL,
  fingerprint BYTEA NOT NULL,
  status SMALLINT NOT NULL,
  blocked_kind SMALLINT NOT NULL,
  n BIGINT NOT NULL
);

INSERT INTO sayiir_counts
  SELECT namespace, workflow, version, definition_hash, fingerprint, status,
         coalesce(blocked_kind, -1),
         count(*)
  FROM sayiir_instances
  GROUP BY namespace, workflow, version, definition_hash, fingerprint, status,
           coalesce(blocked_kind, -1);

CREATE FUNCTION sayiir_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sayiir_count_deltas
    SELECT namespace, workflow, version, definition_hash, fingerprint, status,
           coalesce(blocked_kind, -1), count(*)
    FROM sayiir_new_rows
    GROUP BY namespace, workflow, version, definition_hash, fingerprint, status,
           coalesce(blocked_kind, -1);
  RETURN NULL;
END $$;

CREATE FUNCTION sayiir_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sayiir_count_deltas
    SELECT namespace, workflow, version, definition_hash, fingerprint, status,
           coalesce(blocked_kind, -1), -count(*)
    FROM sayiir_old_rows
    GROUP BY namespace, workflow, version, definition_hash, fingerprint, status,
           coalesce(blocked_kind, -1);
  RETURN NULL;
END $$;

CREATE FUNCTION sayiir_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sayiir_count_deltas VALUES
    (OLD.namespace, OLD.workflow, OLD.version, OLD.definition_hash, OLD.fingerprint, OLD.status,
     coalesce(OLD.blocked_kind, -1), -1),
    (NEW.namespace, NEW.workflow, NEW.version, NEW.definition_hash, NEW.fingerprint, NEW.status,
     coalesce(NEW.blocked_kind, -1), 1);
  RETURN NULL;
END $$;

CREATE TRIGGER sayiir_counts_insert AFTER INSERT ON sayiir_instances
  REFERENCING NEW TABLE AS sayiir_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sayiir_counts_inserted();

CREATE TRIGGER sayiir_counts_delete AFTER DELETE ON sayiir_instances
  REFERENCING OLD TABLE AS sayiir_old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sayiir_counts_deleted();

CREATE TRIGGER sayiir_counts_update AFTER UPDATE ON sayiir_instances
  FOR EACH ROW
  WHEN (OLD.namespace IS DISTINCT FROM NEW.namespace
    OR OLD.workflow IS DISTINCT FROM NEW.workflow OR OLD.version IS DISTINCT FROM NEW.version
    OR OLD.definition_hash IS DISTINCT FROM NEW.definition_hash
    OR OLD.fingerprint IS DISTINCT FROM NEW.fingerprint
    OR OLD.status IS DISTINCT FROM NEW.status
    OR OLD.blocked_kind IS DISTINCT FROM NEW.blocked_kind)
  EXECUTE FUNCTION sayiir_counts_updated();
