-- Indexes for operators' listings.
--
-- A listing page is `ORDER BY id LIMIT n` after a keyset cursor (`id > $1`). Each index below
-- holds the equality columns of a filter and then `id`, so that a page of that filter is a
-- walk of the index from the cursor that stops after n rows, whatever the size of the store
-- and however deep the page. Every index slows inserts and the updates that cannot be HOT
-- (claims, finishes), so only immutable columns and the rarely written `status`, `version`
-- and `blocked_kind` are indexed: a column an ordinary step writes (`due_at` past its first
-- value, `updated_at`, `seq`, `state`, `state_id`) in an index would make every step a non-HOT
-- update (0002_fillfactor.sql). Listings by updated time or state id are therefore not served
-- by an index. Building these indexes locks writes to the table while it runs.

-- Workflow, version and status (drain monitoring: the running instances of an old version).
-- Replaces the index without `id` (same use for version-mismatch scans and counts).
DROP INDEX sayiir_instances_workflow;
CREATE INDEX sayiir_instances_workflow ON sayiir_instances (workflow, version, status, id);

-- Workflow and status.
CREATE INDEX sayiir_instances_workflow_status ON sayiir_instances (workflow, status, id);

-- Workflow alone (its instances in any status, in id order).
CREATE INDEX sayiir_instances_workflow_id ON sayiir_instances (workflow, id);

-- Status alone, and with an id prefix.
CREATE INDEX sayiir_instances_status ON sayiir_instances (status, id);

-- Created ranges: the instances created in the range, then sorted by id.
CREATE INDEX sayiir_instances_created ON sayiir_instances (created_at, id);

-- Block kinds: only blocked rows are in it (few, and written only when a block changes).
CREATE INDEX sayiir_instances_blocked ON sayiir_instances (blocked_kind, id)
  WHERE blocked_kind IS NOT NULL;

-- Instances that need attention: blocked by any kind but `Paused` (5) and the operators'
-- requests `RetryRequested` (10) and `FailRequested` (11), in id order. Listings write this
-- predicate as it is here, which is how the planner knows the index holds their rows. A new
-- kind that does not need attention must be added here (and in the listings) by a new
-- migration.
CREATE INDEX sayiir_instances_attention ON sayiir_instances (id)
  WHERE blocked_kind NOT IN (5, 10, 11);
