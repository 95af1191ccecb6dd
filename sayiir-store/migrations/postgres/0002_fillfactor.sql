-- Free space in each page of the instances table, so that most head updates (a step that keeps
-- the instance's due time, a lease renewal) are HOT updates: a new row version in the same
-- page, no new index entries. A full page forces every update to write all index entries anew,
-- and indexes then grow with dead entries that later scans and inserts must skip. Applies to
-- pages written from now on (existing rows move as they are updated).
ALTER TABLE sayiir_instances SET (fillfactor = 70);
