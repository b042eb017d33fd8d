-- The audit chain (DESIGN.md §3.4, docs/audit.md). One chain per org:
--   audit_outbox       where a transaction puts the entries it appends (their text without seq and
--                      prev_hash); a deferred trigger seals them at COMMIT, in order
--   audit_heads        the per-org chain head; sealing locks it (SELECT … FOR UPDATE), so seq is gap-free
--   audit_events       append-only entries; `canonical` is the exact RFC 8785 text that was hashed, and
--                      every queryable column after it is generated from it, so they cannot disagree
--   audit_checkpoints  Ed25519-signed notes of a head (seq, hash, time)
-- Triggers reject UPDATE, DELETE and TRUNCATE for every role and are ENABLE ALWAYS (replica mode
-- cannot skip them). The only way rows leave is erasure of a whole org, through a definer function
-- owned by ony_owner that sets ony.erasing_org for its own transaction (added with org erasure).
SET LOCAL ROLE ony_owner;

-- Entries record `at` as ISO 8601 in UTC with a Z (Date.toISOString), which parses to the same instant
-- whatever the session's DateStyle or TimeZone, so this conversion is immutable in practice.
CREATE FUNCTION ony_utc_iso_to_timestamptz(iso text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT iso::timestamptz $$;

CREATE TABLE audit_heads (
  org_id uuid PRIMARY KEY REFERENCES orgs (id),
  seq bigint NOT NULL CHECK (seq >= 0),
  hash bytea NOT NULL CHECK (length(hash) = 32)
);

CREATE TABLE audit_events (
  org_id uuid NOT NULL REFERENCES orgs (id),
  seq bigint NOT NULL CHECK (seq >= 1),
  prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
  hash bytea NOT NULL CHECK (length(hash) = 32),
  canonical text NOT NULL,
  at timestamptz GENERATED ALWAYS AS (ony_utc_iso_to_timestamptz((canonical::jsonb) ->> 'at')) STORED,
  actor_type text GENERATED ALWAYS AS ((canonical::jsonb) ->> 'actor_type') STORED,
  actor_id text GENERATED ALWAYS AS ((canonical::jsonb) ->> 'actor_id') STORED,
  action text GENERATED ALWAYS AS ((canonical::jsonb) ->> 'action') STORED,
  subject_type text GENERATED ALWAYS AS ((canonical::jsonb) ->> 'subject_type') STORED,
  subject_id text GENERATED ALWAYS AS ((canonical::jsonb) ->> 'subject_id') STORED,
  meta jsonb GENERATED ALWAYS AS ((canonical::jsonb) -> 'meta') STORED,
  PRIMARY KEY (org_id, seq)
);
CREATE INDEX audit_events_action ON audit_events (org_id, action, seq);
CREATE INDEX audit_events_actor ON audit_events (org_id, actor_id, seq);
CREATE INDEX audit_events_subject ON audit_events (org_id, subject_id, seq);

-- Entries waiting for their transaction's COMMIT. The seal trigger moves each into audit_events, so
-- the head's lock is taken inside COMMIT and held for microseconds, not for the caller's round trips.
-- If sealing fails, COMMIT fails and the change the entry records is rolled back with it.
CREATE TABLE audit_outbox (
  org_id uuid NOT NULL REFERENCES orgs (id),
  id bigint GENERATED ALWAYS AS IDENTITY,
  before_prev text NOT NULL,
  between text NOT NULL,
  after_seq text NOT NULL,
  PRIMARY KEY (org_id, id)
);

CREATE TABLE audit_checkpoints (
  org_id uuid NOT NULL REFERENCES orgs (id),
  seq bigint NOT NULL CHECK (seq >= 0),
  hash bytea NOT NULL CHECK (length(hash) = 32),
  at timestamptz NOT NULL,
  key_name text NOT NULL,
  note text NOT NULL,
  PRIMARY KEY (org_id, seq)
);

CREATE FUNCTION ony_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_user = 'ony_owner'
     AND current_setting('ony.erasing_org', true) = OLD.org_id::text THEN
    RETURN OLD; -- org erasure, inside the privileged function only
  END IF;
  RAISE EXCEPTION 'the audit chain is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;

-- Seals one outbox entry: canonical = before || prev hash hex || between || seq || after, then
-- hash = SHA-256(prev_hash || canonical), the entry appended and the head moved, under the head lock.
CREATE FUNCTION ony_audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  head record;
  canon text;
  entry_hash bytea;
BEGIN
  SELECT seq, hash INTO head FROM audit_heads WHERE org_id = NEW.org_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'audit chain head missing for org %', NEW.org_id;
  END IF;
  canon := NEW.before_prev || encode(head.hash, 'hex') || NEW.between || (head.seq + 1)::text || NEW.after_seq;
  entry_hash := sha256(head.hash || convert_to(canon, 'UTF8'));
  INSERT INTO audit_events (org_id, seq, prev_hash, hash, canonical)
  VALUES (NEW.org_id, head.seq + 1, head.hash, entry_hash, canon);
  UPDATE audit_heads SET seq = head.seq + 1, hash = entry_hash WHERE org_id = NEW.org_id;
  DELETE FROM audit_outbox WHERE org_id = NEW.org_id AND id = NEW.id;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER seal AFTER INSERT ON audit_outbox
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ony_audit_seal();
ALTER TABLE audit_outbox ENABLE ALWAYS TRIGGER seal;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['audit_events', 'audit_checkpoints'] LOOP
    EXECUTE format('CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION ony_audit_append_only()', t);
    EXECUTE format('CREATE TRIGGER no_truncate BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION ony_audit_append_only()', t);
    EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER append_only', t);
    EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER no_truncate', t);
  END LOOP;
END $$;

SELECT ony_make_tenant_table(t)
FROM unnest(ARRAY['audit_heads', 'audit_events', 'audit_checkpoints', 'audit_outbox']::regclass[]) AS t;

-- Orgs created before this migration start their chain at the documented genesis value.
INSERT INTO audit_heads (org_id, seq, hash)
SELECT id, 0, sha256(convert_to('ony-audit-genesis:' || id::text, 'UTF8')) FROM orgs;

-- The app submits entries (outbox) and reads; only the seal function writes the chain and its head.
GRANT INSERT ON audit_outbox TO ony_app;
GRANT SELECT ON audit_events, audit_heads TO ony_app;
GRANT SELECT, INSERT ON audit_checkpoints TO ony_app;

-- Orgs whose head moved past their last checkpoint: the periodic checkpoint job's to-do list.
CREATE FUNCTION ony_audit_orgs_needing_checkpoint()
RETURNS TABLE (org_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT h.org_id FROM audit_heads h
  WHERE h.seq > coalesce((SELECT max(c.seq) FROM audit_checkpoints c WHERE c.org_id = h.org_id), 0)
$$;
REVOKE ALL ON FUNCTION ony_audit_orgs_needing_checkpoint() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_audit_orgs_needing_checkpoint() TO ony_app;

-- Starts the current org's chain at its genesis value (called in the org-creating transaction).
CREATE FUNCTION ony_audit_init_head() RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  INSERT INTO audit_heads (org_id, seq, hash)
  SELECT o, 0, sha256(convert_to('ony-audit-genesis:' || o::text, 'UTF8'))
  FROM (SELECT nullif(current_setting('ony.org_id', true), '')::uuid AS o) s
  WHERE o IS NOT NULL
  ON CONFLICT (org_id) DO NOTHING
$$;
REVOKE ALL ON FUNCTION ony_audit_init_head() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_audit_init_head() TO ony_app;
