-- sayiir SQLite schema, version 5: lease generations.
--
-- Every claim of an instance increments its `lease_generation` and leases it under the new
-- value. Renewals, releases and commits that release a lease act only when both the owner and
-- the generation match, so a driver left over from an earlier claim of the same worker can
-- neither extend nor free the lease of a later claim. Rows stored before start at 0 (their
-- first claim gets 1). A column with a constant default does not rewrite the table.
ALTER TABLE sayiir_instances ADD COLUMN lease_generation INTEGER NOT NULL DEFAULT 0;
