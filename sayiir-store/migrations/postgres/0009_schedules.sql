-- sayiir PostgreSQL schema: schedules.
--
-- A schedule starts a workflow at the ticks of a cron expression. The store keeps the runtime's
-- description of it (`spec`, text) and the input of each run (`input`, the runtime's bytes)
-- without reading them, and what hands each tick to exactly one worker: the next tick not
-- handled yet, a due time that claims order by, a lease, and a revision that every claim and
-- write bumps (the compare-and-swap token of a write, which creates the tick's instance in the
-- same transaction).
CREATE TABLE sayiir_schedules (
  id TEXT COLLATE "C" PRIMARY KEY,
  workflow TEXT NOT NULL,
  spec TEXT NOT NULL,
  input BYTEA NOT NULL,
  paused BOOLEAN NOT NULL DEFAULT FALSE,
  next_tick BIGINT,                   -- ms since the Unix epoch; NULL: no tick left
  buffered BIGINT,                    -- a tick held back (overlap policy "buffer one")
  due_at BIGINT,
  last_instance TEXT,
  note TEXT,
  revision BIGINT NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE INDEX sayiir_schedules_due ON sayiir_schedules (due_at, id)
  WHERE NOT paused AND due_at IS NOT NULL;
