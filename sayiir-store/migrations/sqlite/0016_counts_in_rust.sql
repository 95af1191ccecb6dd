-- sayiir SQLite schema: the instance counts of `sayiir_counts` (0015) are kept by the store's
-- own write paths from now on, not by triggers.
--
-- Each write transaction that creates instances or changes one of the counted columns
-- (namespace, workflow, version, definition hash, fingerprint, status, block kind) adds up its
-- changes per counted key and applies them with one upsert per key before it commits, in the
-- same transaction. The counts the triggers kept are exact at this point and stay as they are.
DROP TRIGGER sayiir_counts_insert;
DROP TRIGGER sayiir_counts_delete;
DROP TRIGGER sayiir_counts_update;
