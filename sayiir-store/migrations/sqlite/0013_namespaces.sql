-- sayiir SQLite schema: namespaces.
--
-- Instances, schedules and worker registrations belong to a namespace (a name of 1 to 63
-- characters of a-z, 0-9, `_` and `-`); rows written before this migration belong to
-- `default`. Ids stay unique per database (the primary keys are unchanged): history, signals,
-- inputs, gate members and worker runs reach their instance or worker by id.
--
-- The indexes claims, idle sleeps, backlogs and schedule claims walk lead with the namespace,
-- so that a handle reads only its namespace's part of them.
ALTER TABLE sayiir_instances ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
ALTER TABLE sayiir_schedules ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
ALTER TABLE sayiir_workers ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';

DROP INDEX sayiir_instances_due;
CREATE INDEX sayiir_instances_due ON sayiir_instances (namespace, due_at, id)
  WHERE status = 0 AND due_at IS NOT NULL AND (blocked_kind IS NULL OR blocked_kind IN (1, 10, 11));

DROP INDEX sayiir_instances_ahead;
CREATE INDEX sayiir_instances_ahead ON sayiir_instances (namespace, head_start_ms, due_at, id)
  WHERE status = 0 AND due_at IS NOT NULL AND (blocked_kind IS NULL OR blocked_kind IN (1, 10, 11)) AND head_start_ms <> 0;

DROP INDEX sayiir_instances_leased;
CREATE INDEX sayiir_instances_leased ON sayiir_instances (namespace, lease_until)
  WHERE lease_owner IS NOT NULL;

DROP INDEX sayiir_instances_attention;
CREATE INDEX sayiir_instances_attention ON sayiir_instances (namespace, id)
  WHERE blocked_kind NOT IN (5, 10, 11, 12);

DROP INDEX sayiir_schedules_due;
CREATE INDEX sayiir_schedules_due ON sayiir_schedules (namespace, due_at, id)
  WHERE paused = 0 AND due_at IS NOT NULL;
