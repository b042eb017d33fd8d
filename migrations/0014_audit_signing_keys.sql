-- Checkpoint signing keys (docs/audit.md, issue #18 item 1.2). Every key that ever signed a
-- checkpoint, with the name it signed under and when it started, so that the published key list
-- never loses one and a verifier can resolve any checkpoint's key, whatever the server listens on.
--   audit_signing_keys   server-wide, not a tenant table; append-only (a key's period ends where the
--                        next row's begins); the app reads it, only ony_audit_use_key() writes it
--   ony_audit_use_key()  makes (name, public key) the current key unless it already is, under a lock,
--                        first importing the names older checkpoints were signed under (given by
--                        the app, which checked that the current key signed them)
--   ony_audit_checkpoint_key_names()  the names on existing checkpoints, across orgs, with a sample
--                        note, for that import; empty once any key is recorded
SET LOCAL ROLE ony_owner;

CREATE TABLE audit_signing_keys (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- A signed-note key name: no whitespace, no '+'.
  name text NOT NULL CHECK (name ~ '^[^[:space:]+]{1,100}$'),
  public_key bytea NOT NULL CHECK (length(public_key) = 32),
  valid_from timestamptz NOT NULL
);

CREATE FUNCTION ony_audit_keys_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit signing key list is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON audit_signing_keys
  FOR EACH ROW EXECUTE FUNCTION ony_audit_keys_append_only();
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON audit_signing_keys
  FOR EACH STATEMENT EXECUTE FUNCTION ony_audit_keys_append_only();
ALTER TABLE audit_signing_keys ENABLE ALWAYS TRIGGER append_only;
ALTER TABLE audit_signing_keys ENABLE ALWAYS TRIGGER no_truncate;

-- Server-wide public data (public keys): the app reads every row, writes none.
ALTER TABLE audit_signing_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_signing_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY read_all ON audit_signing_keys FOR SELECT TO ony_app USING (true);
CREATE POLICY owner_all ON audit_signing_keys TO ony_owner USING (true) WITH CHECK (true);
GRANT SELECT ON audit_signing_keys TO ony_app;

CREATE FUNCTION ony_audit_checkpoint_key_names()
RETURNS TABLE (key_name text, first_at timestamptz, note text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT DISTINCT ON (c.key_name) c.key_name,
         min(c.at) OVER (PARTITION BY c.key_name), c.note
  FROM audit_checkpoints c
  -- Only for the one-time import: once a key is recorded it answers nothing (no cross-org reads).
  WHERE NOT EXISTS (SELECT 1 FROM audit_signing_keys)
  ORDER BY c.key_name, c.at DESC
$$;
REVOKE ALL ON FUNCTION ony_audit_checkpoint_key_names() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_audit_checkpoint_key_names() TO ony_app;

-- p_name null: keep the latest stored name (or, on first use, the newest imported one, else
-- p_default_name). The legacy arrays are used only while the list is empty, in the order given.
CREATE FUNCTION ony_audit_use_key(
  p_name text, p_default_name text, p_public_key bytea, p_now timestamptz,
  p_legacy_names text[], p_legacy_from timestamptz[]
) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  latest record;
  chosen text;
BEGIN
  LOCK TABLE audit_signing_keys IN SHARE ROW EXCLUSIVE MODE;
  IF NOT EXISTS (SELECT 1 FROM audit_signing_keys) THEN
    INSERT INTO audit_signing_keys (name, public_key, valid_from)
    SELECT n, p_public_key, f FROM unnest(p_legacy_names, p_legacy_from) AS l (n, f);
  END IF;
  SELECT name, public_key INTO latest FROM audit_signing_keys ORDER BY id DESC LIMIT 1;
  chosen := coalesce(p_name, latest.name, p_default_name);
  IF latest IS NULL OR latest.name IS DISTINCT FROM chosen OR latest.public_key IS DISTINCT FROM p_public_key THEN
    INSERT INTO audit_signing_keys (name, public_key, valid_from) VALUES (chosen, p_public_key, p_now);
  END IF;
END $$;
REVOKE ALL ON FUNCTION ony_audit_use_key(text, text, bytea, timestamptz, text[], timestamptz[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_audit_use_key(text, text, bytea, timestamptz, text[], timestamptz[]) TO ony_app;
