-- sayiir PostgreSQL schema: claim priorities.
--
-- `priority` is the instance's claim priority as started (higher first, 0 the default);
-- `head_start_ms` is what it is worth: claims rank an instance as if it had fallen due this
-- much earlier (priority × the starting engine's priority step; 0 for priority 0). Both are
-- written once, at creation, and never by a step. Claimability does not change: only an
-- instance whose `due_at` has passed is claimable; the head start only orders the due ones
-- (rank = due_at - head_start_ms, then id). See docs/flow-control.md.
ALTER TABLE sayiir_instances
  ADD COLUMN priority SMALLINT NOT NULL DEFAULT 0,
  ADD COLUMN head_start_ms BIGINT NOT NULL DEFAULT 0;

-- The instances with a head start, by head start and then due time: the due index's predicate
-- and `head_start_ms <> 0`, so that an instance of priority 0 is never in it (a store that
-- uses no priority has it empty, and a claim probes it once). A claim walks the due index for
-- the instances without a head start, as before, and this one once per distinct head start
-- (`head_start_ms = h AND due_at <= now`, in due order, which is rank order within one head
-- start): it never reads an instance that is not due yet.
CREATE INDEX sayiir_instances_ahead ON sayiir_instances (head_start_ms, due_at, id)
  WHERE status = 0 AND due_at IS NOT NULL AND (blocked_kind IS NULL OR blocked_kind IN (1, 10, 11)) AND head_start_ms <> 0;
