-- sayiir SQLite schema: instance counts kept up to date, so that stats read a few rows.
--
-- `sayiir_counts`: how many instances there are of each (namespace, workflow, version,
-- definition hash, fingerprint, status, block kind), the key of `Store::version_counts`.
-- `blocked_kind` is -1 for "not blocked" (a primary key column cannot be NULL). Triggers on `sayiir_instances`
-- keep it exact in the same transaction as every insert, delete and change of one of those
-- columns, whichever statement makes it; a step that changes none of them (most steps) runs
-- no trigger body. Rows whose count fell to 0 stay (reads skip them).
CREATE TABLE sayiir_counts (
  namespace TEXT NOT NULL,
  workflow TEXT NOT NULL,
  version INTEGER NOT NULL,
  definition_hash BLOB NOT NULL,
  fingerprint BLOB NOT NULL,
  status INTEGER NOT NULL,
  blocked_kind INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (namespace, workflow, version, definition_hash, fingerprint, status, blocked_kind)
) WITHOUT ROWID;

INSERT INTO sayiir_counts
  SELECT namespace, workflow, version, definition_hash, fingerprint, status,
         coalesce(blocked_kind, -1),
         count(*)
  FROM sayiir_instances
  GROUP BY namespace, workflow, version, definition_hash, fingerprint, status,
           coalesce(blocked_kind, -1);

CREATE TRIGGER sayiir_counts_insert AFTER INSERT ON sayiir_instances BEGIN
  INSERT INTO sayiir_counts
    VALUES (NEW.namespace, NEW.workflow, NEW.version, NEW.definition_hash, NEW.fingerprint, NEW.status,
            coalesce(NEW.blocked_kind, -1), 1)
    ON CONFLICT (namespace, workflow, version, definition_hash, fingerprint, status, blocked_kind)
    DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sayiir_counts_delete AFTER DELETE ON sayiir_instances BEGIN
  UPDATE sayiir_counts SET n = n - 1
    WHERE namespace = OLD.namespace AND workflow = OLD.workflow AND version = OLD.version
      AND definition_hash = OLD.definition_hash AND fingerprint = OLD.fingerprint
      AND status = OLD.status AND blocked_kind = coalesce(OLD.blocked_kind, -1);
END;

CREATE TRIGGER sayiir_counts_update
  AFTER UPDATE OF namespace, workflow, version, definition_hash, fingerprint, status,
    blocked_kind ON sayiir_instances
  WHEN OLD.namespace IS NOT NEW.namespace OR OLD.workflow IS NOT NEW.workflow OR OLD.version IS NOT NEW.version
    OR OLD.definition_hash IS NOT NEW.definition_hash OR OLD.fingerprint IS NOT NEW.fingerprint
    OR OLD.status IS NOT NEW.status OR OLD.blocked_kind IS NOT NEW.blocked_kind
BEGIN
  UPDATE sayiir_counts SET n = n - 1
    WHERE namespace = OLD.namespace AND workflow = OLD.workflow AND version = OLD.version
      AND definition_hash = OLD.definition_hash AND fingerprint = OLD.fingerprint
      AND status = OLD.status AND blocked_kind = coalesce(OLD.blocked_kind, -1);
  INSERT INTO sayiir_counts
    VALUES (NEW.namespace, NEW.workflow, NEW.version, NEW.definition_hash, NEW.fingerprint, NEW.status,
            coalesce(NEW.blocked_kind, -1), 1)
    ON CONFLICT (namespace, workflow, version, definition_hash, fingerprint, status, blocked_kind)
    DO UPDATE SET n = n + 1;
END;
