-- Payload retention and member erasure (issue #10, docs/privacy.md).
--   org_settings.payload_retention_days  how long a decided/expired handoff keeps its payload (0: never stored)
--   handoffs.payload_removed_at          when retention removed the payload (the handoff, its decision and the
--                                        chain stay; the chain only ever held the salted payload hash)
--   members.erased_at                    the person was erased; the row stays as a pseudonymous id so
--                                        decisions and the audit chain keep pointing at something
SET LOCAL ROLE ony_owner;

ALTER TABLE org_settings
  ADD COLUMN payload_retention_days integer NOT NULL DEFAULT 30
    CHECK (payload_retention_days BETWEEN 0 AND 365);

ALTER TABLE handoffs ADD COLUMN payload_removed_at timestamptz;

-- The sweep's work list: handoffs that still have a payload, oldest first. Swept rows leave the index,
-- so a daily run reads only what is due, and each batch is a short index range scan.
CREATE INDEX handoffs_payload_retention ON handoffs (org_id, created_at, id)
  WHERE payload_sha256 IS NOT NULL AND payload_removed_at IS NULL;

ALTER TABLE members ADD COLUMN erased_at timestamptz;
ALTER TABLE members ADD CONSTRAINT members_erased_deactivated
  CHECK (erased_at IS NULL OR (status = 'deactivated' AND password_hash IS NULL AND phone_e164 IS NULL
    AND totp_secret_enc IS NULL));

-- Orgs and their retention window, for the daily sweep (which then works inside each org's scope).
CREATE FUNCTION ony_retention_orgs()
RETURNS TABLE (org_id uuid, payload_retention_days integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT o.id, coalesce(s.payload_retention_days, 30)
  FROM orgs o LEFT JOIN org_settings s ON s.org_id = o.id
  ORDER BY o.id
$$;
REVOKE ALL ON FUNCTION ony_retention_orgs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_retention_orgs() TO ony_app;

-- Erases one member of the current org (ony.org_id, set by withTenant): everything that names or
-- reaches the person goes, the row stays as a pseudonym (its random id) so the decisions they made,
-- the approvals and the audit chain stay intact and verifiable. The chain never held names, emails
-- or phone numbers (src/core/audit-chain/events.ts), so it needs no change.
-- A definer function because the app role has (on purpose) no DELETE on sessions, SSO links, mail
-- tokens and sign-in devices; this is the one path that removes them, confined to one org and member.
-- Answers false when the member does not exist in the org or was already erased.
CREATE FUNCTION ony_erase_member(p_member_id uuid, p_now timestamptz)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_org uuid := nullif(current_setting('ony.org_id', true), '')::uuid;
  v_email text;
BEGIN
  IF v_org IS NULL THEN
    RAISE EXCEPTION 'ony_erase_member: no org in scope' USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT m.email INTO v_email FROM members m
  WHERE m.org_id = v_org AND m.id = p_member_id AND m.erased_at IS NULL FOR UPDATE;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  DELETE FROM recovery_codes WHERE org_id = v_org AND member_id = p_member_id;
  DELETE FROM sessions WHERE org_id = v_org AND member_id = p_member_id;
  DELETE FROM channel_identities WHERE org_id = v_org AND member_id = p_member_id;
  -- Direct messages sent to the person: a Telegram private chat's id is the person's own id.
  DELETE FROM channel_messages WHERE org_id = v_org AND member_id = p_member_id;
  DELETE FROM sso_identities WHERE org_id = v_org AND member_id = p_member_id;
  DELETE FROM sso_break_glass WHERE org_id = v_org AND member_id = p_member_id;
  DELETE FROM mail_tokens WHERE org_id = v_org AND member_id = p_member_id;
  DELETE FROM sign_in_devices WHERE org_id = v_org AND member_id = p_member_id;
  -- Delivery records keep their state for the admin's log; the (masked) address goes.
  UPDATE mail_deliveries SET recipient = 'erased member'
  WHERE org_id = v_org AND member_id = p_member_id;
  -- Invites sent to the person's address: the address goes, an open one is revoked.
  UPDATE invites SET email = 'erased-' || id::text || '@erased.invalid', revoked_at = coalesce(revoked_at, p_now)
  WHERE org_id = v_org AND email = v_email;
  UPDATE members SET
    name = 'Erased member',
    email = 'erased-' || id::text || '@erased.invalid',
    phone_e164 = NULL,
    password_hash = NULL,
    totp_secret_enc = NULL,
    totp_enabled_at = NULL,
    totp_last_step = NULL,
    status = 'deactivated',
    deactivated_at = coalesce(deactivated_at, p_now),
    erased_at = p_now,
    updated_at = p_now
  WHERE org_id = v_org AND id = p_member_id;
  RETURN true;
END $$;
REVOKE ALL ON FUNCTION ony_erase_member(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_erase_member(uuid, timestamptz) TO ony_app;
