-- Claims take the earliest due instances `ORDER BY due_at, id`, and name this index (without
-- statistics SQLite preferred the workflow index, then read and sorted every running instance
-- of the workflow on each claim). With `id` in it, the walk is in claim order and stops at
-- the limit, also when many instances fall due at the same time.
DROP INDEX sayiir_instances_due;
CREATE INDEX sayiir_instances_due ON sayiir_instances (due_at, id)
  WHERE status = 0 AND due_at IS NOT NULL;

-- The next due time of a worker's idle sleep also looks at live leases past their due time.
CREATE INDEX sayiir_instances_leased ON sayiir_instances (lease_until)
  WHERE lease_owner IS NOT NULL;
