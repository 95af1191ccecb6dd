-- sayiir PostgreSQL schema: the audit log.
--
-- One row per action asked of the HTTP API (cancel, signal, pause, ...), in the namespace it
-- was asked in (a store handle reads its own namespace's entries): when, who (the name of
-- the token), what, on which instances or schedule (`targets`, a JSON array of strings), what
-- else it took (`detail`: a cancel's reason, a signal's name) and how it ended (`error_kind`
-- and `error_message` NULL: done). Ids come from an identity sequence: they order the entries
-- and page them.
CREATE TABLE sayiir_audit (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  namespace TEXT COLLATE "C" NOT NULL,
  at BIGINT NOT NULL,                 -- ms since the Unix epoch
  who TEXT NOT NULL,
  action TEXT NOT NULL,
  targets TEXT NOT NULL,              -- JSON array of strings
  detail TEXT,
  error_kind TEXT,                    -- NULL: the action was done
  error_message TEXT
);

CREATE INDEX sayiir_audit_namespace ON sayiir_audit (namespace, id);
