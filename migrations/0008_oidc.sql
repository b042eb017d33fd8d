-- OpenID Connect single sign-on (docs/sso.md): one provider configuration per org (the client secret
-- encrypted with the org's data key), the link of a member to the provider's stable subject, and the
-- break-glass admins who may still sign in with a password when the org requires SSO.
SET LOCAL ROLE ony_owner;

CREATE TABLE sso_configs (
  org_id uuid NOT NULL REFERENCES orgs (id),
  issuer text NOT NULL CHECK (length(issuer) BETWEEN 8 AND 500),
  client_id text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 255),
  -- AES-256-GCM under the org's data key (keyring, purpose "sso-client-secret"); never answered back.
  client_secret_enc bytea NOT NULL,
  display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 60),
  allowed_domains text[] NOT NULL CHECK (cardinality(allowed_domains) BETWEEN 1 AND 50),
  groups_claim text NOT NULL CHECK (length(groups_claim) BETWEEN 1 AND 100),
  -- [{"group": "...", "role": "admin|member|viewer"}, ...]; empty: roles are managed in ony.
  role_mapping jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(role_mapping) = 'array'),
  default_role text CHECK (default_role IN ('admin', 'member', 'viewer')),
  jit_provisioning boolean NOT NULL DEFAULT false,
  require_sso boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (org_id)
);

CREATE TABLE sso_identities (
  org_id uuid NOT NULL,
  member_id uuid NOT NULL,
  issuer text NOT NULL,
  -- The provider's stable subject (`sub`): the only key a returning person is matched by.
  subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  created_at timestamptz NOT NULL,
  last_login_at timestamptz,
  PRIMARY KEY (org_id, member_id),
  UNIQUE (org_id, issuer, subject),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id)
);

CREATE TABLE sso_break_glass (
  org_id uuid NOT NULL,
  member_id uuid NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, member_id),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id)
);

SELECT ony_make_tenant_table(t)
FROM unnest(ARRAY['sso_configs', 'sso_identities', 'sso_break_glass']::regclass[]) AS t;

GRANT SELECT, INSERT, UPDATE, DELETE ON sso_configs TO ony_app;
GRANT SELECT, INSERT, UPDATE ON sso_identities TO ony_app;
GRANT SELECT, INSERT, DELETE ON sso_break_glass TO ony_app;

-- The sign-in start and the public "Sign in with …" answer know only a slug and have no session:
-- this answers the org's id when (and only when) that org has SSO configured.
CREATE FUNCTION ony_find_sso_org(p_slug text)
RETURNS TABLE (org_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT o.id FROM orgs o JOIN sso_configs s ON s.org_id = o.id WHERE o.slug = p_slug
$$;
REVOKE ALL ON FUNCTION ony_find_sso_org(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_find_sso_org(text) TO ony_app;
