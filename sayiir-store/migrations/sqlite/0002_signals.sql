-- sayiir SQLite schema, version 2: buffered signals.
--
-- Applied by `SqliteStore::open` after version 1, in the same `BEGIN IMMEDIATE` transaction as
-- any earlier migration, which then sets `PRAGMA user_version = 2`.

-- Signals sent to an instance and not yet consumed by one of its transitions. `signal_id`
-- increases in send order (AUTOINCREMENT never reuses an id, even after the newest signal was
-- consumed), so a consumed id can never come back as a pending one.
CREATE TABLE sayiir_signals (
  signal_id INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_id TEXT NOT NULL,
  name TEXT NOT NULL,
  payload BLOB NOT NULL,
  sent_at INTEGER NOT NULL            -- ms since epoch
);

-- An instance's pending signals in send order.
CREATE INDEX sayiir_signals_instance ON sayiir_signals (instance_id, signal_id);
