-- sayiir SQLite schema: admission gates (concurrency limits per workflow type and per key).
--
-- `sayiir_instances.concurrency_key`: the key an instance was started with.
-- `sayiir_instances.gates`: its gate keys, separated by line feeds; NULL for an instance
-- without gates, which is how commits know, from the head they read anyway, that a finishing
-- transition has nothing to give back (instances without gates never touch the tables below).
-- `sayiir_gates`: one row per gate, with its limit as last asked.
-- `sayiir_gate_members`: one row per (gate, unfinished gated instance): its ticket (global
-- creation order, shared by the rows of one instance) and whether it is admitted. A slot
-- belongs to the instance until it finishes: the rows are deleted by its finishing write.
ALTER TABLE sayiir_instances ADD COLUMN concurrency_key TEXT;
ALTER TABLE sayiir_instances ADD COLUMN gates TEXT;

CREATE TABLE sayiir_gates (
  gate_key TEXT PRIMARY KEY NOT NULL,
  max_slots INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sayiir_gate_members (
  gate_key TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  ticket INTEGER NOT NULL,
  admitted INTEGER NOT NULL,          -- 1 admitted (holds a slot), 0 waiting
  PRIMARY KEY (gate_key, instance_id)
) WITHOUT ROWID;

CREATE INDEX sayiir_gate_members_queue ON sayiir_gate_members (gate_key, admitted, ticket);
CREATE INDEX sayiir_gate_members_instance ON sayiir_gate_members (instance_id);
CREATE INDEX sayiir_gate_members_ticket ON sayiir_gate_members (ticket);

-- `AwaitingAdmission` (12) does not need attention: the index of 0007 is rebuilt without it.
DROP INDEX sayiir_instances_attention;
CREATE INDEX sayiir_instances_attention ON sayiir_instances (id)
  WHERE blocked_kind NOT IN (5, 10, 11, 12);
