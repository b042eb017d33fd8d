-- Mail: one-time tokens sent by mail (password reset, email change), a delivery record per message
-- (state only: no subject, no body, the address masked), and the sign-in devices a member has used
-- (a hash of the device class, for "new sign-in" notices). See docs/mail.md.
SET LOCAL ROLE ony_owner;

CREATE TABLE mail_tokens (
  org_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('password_reset', 'email_change')),
  -- SHA-256 of the token; the token itself exists only in the mail (and, encrypted, in its job).
  token_hash bytea NOT NULL UNIQUE,
  -- The address being verified (email change only).
  new_email text CHECK (new_email = lower(new_email) AND length(new_email) BETWEEN 3 AND 254),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id),
  CHECK ((purpose = 'email_change') = (new_email IS NOT NULL))
);
CREATE INDEX mail_tokens_member ON mail_tokens (org_id, member_id, purpose) WHERE used_at IS NULL;

CREATE TABLE mail_deliveries (
  org_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('invite', 'password_reset', 'email_change', 'email_changed',
    'sign_in_new_device', 'totp_reset', 'role_changed', 'erasure_scheduled')),
  -- The member it went to, when the recipient is one (an invitee is not yet).
  member_id uuid,
  -- The address, masked (j•••@example.com): enough for an admin to tell deliveries apart.
  recipient text NOT NULL CHECK (length(recipient) <= 300),
  status text NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
  -- A closed class of the last failure, never the server's text (it may echo the address).
  last_error text CHECK (last_error IN ('connection', 'timeout', 'tls', 'auth', 'rejected_temporary',
    'rejected_permanent', 'other')),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  sent_at timestamptz,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id),
  CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX mail_deliveries_recent ON mail_deliveries (org_id, created_at DESC);

CREATE TABLE sign_in_devices (
  org_id uuid NOT NULL,
  member_id uuid NOT NULL,
  -- SHA-256 of the device class (user-agent without version numbers + IPv4 /24 or IPv6 /48).
  device_hash bytea NOT NULL,
  first_seen_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, member_id, device_hash),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id)
);

SELECT ony_make_tenant_table(t)
FROM unnest(ARRAY['mail_tokens', 'mail_deliveries', 'sign_in_devices']::regclass[]) AS t;

GRANT SELECT, INSERT, UPDATE ON mail_tokens, mail_deliveries, sign_in_devices TO ony_app;

-- A mailed token's org and row, found by the token's hash without a session (password reset).
CREATE FUNCTION ony_resolve_mail_token(p_token_hash bytea, p_purpose text)
RETURNS TABLE (org_id uuid, token_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.org_id, t.id FROM mail_tokens t WHERE t.token_hash = p_token_hash AND t.purpose = p_purpose
$$;
REVOKE ALL ON FUNCTION ony_resolve_mail_token(bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_resolve_mail_token(bytea, text) TO ony_app;
