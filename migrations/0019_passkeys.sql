-- WebAuthn passkeys (issue #23 part 2): a second factor at sign-in and a step-up for decisions.
--   passkeys             tenant table: a member's registered credentials (credential id, COSE public
--                        key, signature counter, transports, a name the member chose, last use).
--                        Public keys only: nothing here is a secret.
--   passkey_challenges   tenant table: every challenge the server issued, durable (DESIGN §3.10: what
--                        guards against replay lives in Postgres, not only in Redis). Only the
--                        SHA-256 of the challenge is kept; a challenge has a purpose (register,
--                        sign_in, step_up), an expiry and is used at most once (used_at). A step-up
--                        challenge is bound to one handoff and one option.
-- Erasing a member (ony_erase_member sets members.erased_at) deletes the member's passkeys and
-- challenges through a trigger, so that function needs no change here.
SET LOCAL ROLE ony_owner;

CREATE TABLE passkeys (
  org_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL,
  credential_id bytea NOT NULL CHECK (length(credential_id) BETWEEN 16 AND 1023),
  public_key bytea NOT NULL CHECK (length(public_key) BETWEEN 16 AND 2048),
  counter bigint NOT NULL DEFAULT 0 CHECK (counter >= 0),
  transports text[] NOT NULL DEFAULT '{}',
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  created_at timestamptz NOT NULL,
  last_used_at timestamptz,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, credential_id),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id)
);
CREATE INDEX passkeys_member ON passkeys (org_id, member_id);

CREATE TABLE passkey_challenges (
  org_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('register', 'sign_in', 'step_up')),
  challenge_hash bytea NOT NULL CHECK (length(challenge_hash) = 32),
  handoff_id uuid,
  option text CHECK (option ~ '^[a-z0-9_-]{1,32}$'),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
  used_at timestamptz,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, challenge_hash),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id),
  FOREIGN KEY (org_id, handoff_id) REFERENCES handoffs (org_id, id),
  CONSTRAINT passkey_challenges_step_up_bound CHECK (
    (purpose = 'step_up') = (handoff_id IS NOT NULL AND option IS NOT NULL))
);
CREATE INDEX passkey_challenges_member ON passkey_challenges (org_id, member_id, expires_at);

SELECT ony_make_tenant_table(t)
FROM unnest(ARRAY['passkeys', 'passkey_challenges']::regclass[]) AS t;

GRANT SELECT, INSERT, UPDATE, DELETE ON passkeys TO ony_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON passkey_challenges TO ony_app;

CREATE FUNCTION ony_passkeys_erase_with_member() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM passkey_challenges WHERE org_id = NEW.org_id AND member_id = NEW.id;
  DELETE FROM passkeys WHERE org_id = NEW.org_id AND member_id = NEW.id;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION ony_passkeys_erase_with_member() FROM PUBLIC;
CREATE TRIGGER passkeys_erase_with_member AFTER UPDATE OF erased_at ON members
  FOR EACH ROW WHEN (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL)
  EXECUTE FUNCTION ony_passkeys_erase_with_member();
ALTER TABLE members ENABLE ALWAYS TRIGGER passkeys_erase_with_member;
