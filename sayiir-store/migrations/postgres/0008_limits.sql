-- sayiir PostgreSQL schema: concurrency limits.
--
-- `sayiir_limits`: one row per limit a slot was asked of, with its limit as last asked; an
-- acquisition locks it (its upsert), so acquisitions of one limit take turns and never exceed
-- it. `sayiir_limit_slots`: its holders, one row per (limit, instance, call). A row counts only
-- while its instance is leased under (`lease_owner`, `lease_generation`) and that lease has not
-- expired, so a slot held by a dead worker is free once its lease ends; rows no longer live
-- are deleted by the next acquisition of their limit.
-- `sayiir_limit_waiters`: per (limit, worker), the attempts that worker reported waiting, with
-- the holder of its last request, whose lease bounds how long the row counts.
-- Instances without limits never touch these tables.
CREATE TABLE sayiir_limits (
  limit_key TEXT PRIMARY KEY,
  max_slots BIGINT NOT NULL
);

CREATE TABLE sayiir_limit_slots (
  limit_key TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  call TEXT NOT NULL,
  lease_owner TEXT NOT NULL,
  lease_generation BIGINT NOT NULL,
  since BIGINT NOT NULL,              -- ms since the Unix epoch: when the slot was taken
  PRIMARY KEY (limit_key, instance_id, call)
);

CREATE TABLE sayiir_limit_waiters (
  limit_key TEXT NOT NULL,
  lease_owner TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  lease_generation BIGINT NOT NULL,
  waiting BIGINT NOT NULL,            -- attempts of that worker waiting for a slot
  since BIGINT NOT NULL,              -- ms since the Unix epoch: the last report
  PRIMARY KEY (limit_key, lease_owner)
);

-- `sayiir_rates`: rate limits, one row per key: its theoretical arrival time (GCRA), moved by
-- one interval per reserved start (`Store::reserve_start`), in one statement (its upsert locks
-- the row).
CREATE TABLE sayiir_rates (
  limit_key TEXT PRIMARY KEY,
  tat_us BIGINT NOT NULL,             -- microseconds since the Unix epoch
  interval_us BIGINT NOT NULL,        -- as last asked
  burst BIGINT NOT NULL               -- as last asked
);
