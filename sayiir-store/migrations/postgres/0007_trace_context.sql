-- sayiir PostgreSQL schema: the trace context an instance was started (or last restarted) under.
--
-- W3C `traceparent`, then a line feed and the `tracestate` when there is one, as the runtime
-- wrote it (its `otel` feature); NULL when none was recorded. Written by creations and restarts
-- only, never by a step; read with the head (load, claim), so that every worker's spans of the
-- instance join the starter's trace.
-- A nullable column without a default: adding it rewrites no row.
ALTER TABLE sayiir_instances ADD COLUMN trace_context TEXT;
