-- Orgs, members, sessions, devices, invites, recovery codes, org data keys, setup tokens.
-- Every tenant table: org_id NOT NULL and immutable, RLS ENABLE + FORCE, a tenant policy that reads
-- ony.org_id once per statement, and composite (org_id, id) keys so no row can point into another org.
SET LOCAL ROLE ony_owner;

CREATE FUNCTION ony_forbid_org_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.org_id IS DISTINCT FROM OLD.org_id THEN
    RAISE EXCEPTION 'org_id is immutable (table %)', TG_TABLE_NAME USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END $$;

CREATE FUNCTION ony_forbid_id_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id IS DISTINCT FROM OLD.id THEN
    RAISE EXCEPTION 'id is immutable (table %)', TG_TABLE_NAME USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END $$;

CREATE TABLE orgs (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE org_keys (
  org_id uuid NOT NULL REFERENCES orgs (id),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  master_key_id text NOT NULL,
  wrapped_key bytea NOT NULL,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX org_keys_one_active ON org_keys (org_id) WHERE active;

CREATE TABLE members (
  org_id uuid NOT NULL REFERENCES orgs (id),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  role text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
  password_hash text,
  phone_e164 text CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
  totp_secret_enc bytea,
  totp_enabled_at timestamptz,
  totp_last_step bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deactivated_at timestamptz,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, email)
);
CREATE INDEX members_email ON members (email);

CREATE TABLE recovery_codes (
  org_id uuid NOT NULL,
  member_id uuid NOT NULL,
  code_hash bytea NOT NULL,
  used_at timestamptz,
  PRIMARY KEY (org_id, member_id, code_hash),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id)
);

CREATE TABLE invites (
  org_id uuid NOT NULL REFERENCES orgs (id),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  email text NOT NULL CHECK (email = lower(email)),
  role text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
  token_hash bytea NOT NULL UNIQUE,
  invited_by uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz,
  revoked_at timestamptz,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, invited_by) REFERENCES members (org_id, id)
);

CREATE TABLE sessions (
  org_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL,
  token_hash bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  idle_expires_at timestamptz NOT NULL,
  absolute_expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  user_agent text CHECK (length(user_agent) <= 300),
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id)
);

CREATE TABLE devices (
  org_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  token_hash bytea NOT NULL UNIQUE,
  token_hint text NOT NULL,
  created_by uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz,
  revoked_at timestamptz,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, created_by) REFERENCES members (org_id, id)
);

-- Not a tenant table: first-run setup tokens, reached by the app only through definer functions.
CREATE TABLE setup_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_hash bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
ALTER TABLE setup_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE setup_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON setup_tokens TO ony_owner USING (true) WITH CHECK (true);

-- Makes a table a tenant table: RLS enabled and forced, the tenant policy on ony.org_id (read once
-- per statement through a sub-select), the owner's privileged policy, and an ENABLE ALWAYS trigger
-- that keeps the tenant key immutable. Every later migration's tenant tables go through it too.
CREATE FUNCTION ony_make_tenant_table(t regclass, key_col text DEFAULT 'org_id') RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  trig text := CASE WHEN key_col = 'id' THEN 'id_immutable' ELSE 'org_id_immutable' END;
  fn text := CASE WHEN key_col = 'id' THEN 'ony_forbid_id_change' ELSE 'ony_forbid_org_change' END;
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s USING (%I = (select nullif(current_setting(''ony.org_id'', true), '''')::uuid)) WITH CHECK (%I = (select nullif(current_setting(''ony.org_id'', true), '''')::uuid))',
    t, key_col, key_col);
  -- The owner role is the privileged path (definer look-ups, operator commands, org erasure).
  EXECUTE format('CREATE POLICY owner_access ON %s TO ony_owner USING (true) WITH CHECK (true)', t);
  EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %I()', trig, t, fn);
  EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t, trig);
END $$;
REVOKE ALL ON FUNCTION ony_make_tenant_table(regclass, text) FROM PUBLIC;

SELECT ony_make_tenant_table('orgs', 'id');
SELECT ony_make_tenant_table(t)
FROM unnest(ARRAY['org_keys', 'members', 'recovery_codes', 'invites', 'sessions', 'devices']::regclass[]) AS t;

GRANT SELECT, INSERT, UPDATE ON orgs, members, invites, sessions, devices TO ony_app;
GRANT SELECT, INSERT ON org_keys TO ony_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON recovery_codes TO ony_app;

-- Narrow cross-org look-ups, run as the owner. Each takes a hash or an email and answers ids only.
CREATE FUNCTION ony_resolve_device(p_token_hash bytea)
RETURNS TABLE (org_id uuid, device_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT d.org_id, d.id FROM devices d WHERE d.token_hash = p_token_hash AND d.revoked_at IS NULL
$$;

CREATE FUNCTION ony_resolve_session(p_token_hash bytea)
RETURNS TABLE (org_id uuid, session_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.org_id, s.id FROM sessions s WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL
$$;

CREATE FUNCTION ony_resolve_invite(p_token_hash bytea)
RETURNS TABLE (org_id uuid, invite_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT i.org_id, i.id FROM invites i WHERE i.token_hash = p_token_hash
$$;

CREATE FUNCTION ony_find_login(p_email text)
RETURNS TABLE (org_id uuid, member_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT m.org_id, m.id FROM members m WHERE m.email = lower(p_email) ORDER BY m.created_at LIMIT 10
$$;

CREATE FUNCTION ony_org_exists() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM orgs)
$$;

-- Consumes a first-run setup token exactly once; answers whether it was valid.
CREATE FUNCTION ony_consume_setup_token(p_token_hash bytea) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH used AS (
    UPDATE setup_tokens SET used_at = now()
    WHERE token_hash = p_token_hash AND used_at IS NULL AND expires_at > now()
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM used)
$$;

REVOKE ALL ON FUNCTION ony_resolve_device(bytea), ony_resolve_session(bytea), ony_resolve_invite(bytea),
  ony_find_login(text), ony_org_exists(), ony_consume_setup_token(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_resolve_device(bytea), ony_resolve_session(bytea), ony_resolve_invite(bytea),
  ony_find_login(text), ony_org_exists(), ony_consume_setup_token(bytea) TO ony_app;
