-- Lease generations: every claim of an instance increments its `lease_generation` and leases
-- it under the new value. Renewals, releases and commits that release a lease act only when
-- both the owner and the generation match, so a driver left over from an earlier claim of the
-- same worker can neither extend nor free the lease of a later claim. Rows stored before
-- start at 0 (their first claim gets 1). A column added with a constant default does not
-- rewrite the table, and it is in no index, so claims and renewals stay HOT updates
-- (0002_fillfactor.sql).
ALTER TABLE sayiir_instances ADD COLUMN lease_generation BIGINT NOT NULL DEFAULT 0;
