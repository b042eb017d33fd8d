-- Phone calls and SMS (issue #7): a member's number becomes usable only once verified with a code;
-- SMS opt-out (STOP) is kept per member; call records keep the provider's call id, the masked number,
-- the status, the duration and the outcome, never audio, recordings or transcripts.
SET LOCAL ROLE ony_owner;

ALTER TABLE members
  ADD COLUMN phone_verified_at timestamptz,
  ADD COLUMN sms_opted_out_at timestamptz,
  ADD CONSTRAINT members_phone_verified_needs_phone CHECK (phone_verified_at IS NULL OR phone_e164 IS NOT NULL);
-- A verified number belongs to one member of an org (inbound SMS and calls map a number to a person).
CREATE UNIQUE INDEX members_verified_phone ON members (org_id, phone_e164) WHERE phone_verified_at IS NOT NULL;
CREATE INDEX members_phone_lookup ON members (phone_e164) WHERE phone_verified_at IS NOT NULL;

CREATE TABLE phone_calls (
  org_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  -- Null for a number-verification call.
  handoff_id uuid,
  member_id uuid NOT NULL,
  provider text NOT NULL CHECK (provider IN ('twilio', 'signalwire', 'telnyx', 'plivo')),
  provider_call_id text NOT NULL CHECK (length(provider_call_id) BETWEEN 1 AND 100),
  phone_masked text NOT NULL CHECK (length(phone_masked) <= 32),
  status text NOT NULL CHECK (status IN ('completed', 'busy', 'no_answer', 'failed', 'canceled')),
  duration_s integer CHECK (duration_s >= 0),
  outcome text NOT NULL CHECK (outcome IN (
    'approved', 'denied', 'recorded', 'refused', 'no_input', 'voicemail', 'totp_failed', 'hung_up',
    'not_answered', 'verification', 'notice')),
  ended_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, provider, provider_call_id),
  FOREIGN KEY (org_id, handoff_id) REFERENCES handoffs (org_id, id),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id)
);
CREATE INDEX phone_calls_handoff ON phone_calls (org_id, handoff_id);

SELECT ony_make_tenant_table('phone_calls'::regclass);
GRANT SELECT, INSERT ON phone_calls TO ony_app;

-- Which org members a verified number belongs to (one person may be in several orgs); ids only.
CREATE FUNCTION ony_resolve_phone(p_phone text)
RETURNS TABLE (org_id uuid, member_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT m.org_id, m.id FROM members m
  WHERE m.phone_e164 = p_phone AND m.phone_verified_at IS NOT NULL
  ORDER BY m.created_at LIMIT 20
$$;
REVOKE ALL ON FUNCTION ony_resolve_phone(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_resolve_phone(text) TO ony_app;

-- STOP / START from a number: every member who verified it stops (or resumes) getting SMS, in every
-- org (the carrier blocks the number for the whole sender anyway). Answers how many members changed.
CREATE FUNCTION ony_set_sms_opt_out(p_phone text, p_out boolean, p_now timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_count integer;
BEGIN
  UPDATE members SET sms_opted_out_at = CASE WHEN p_out THEN coalesce(sms_opted_out_at, p_now) END
  WHERE phone_e164 = p_phone AND phone_verified_at IS NOT NULL;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END $$;
REVOKE ALL ON FUNCTION ony_set_sms_opt_out(text, boolean, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_set_sms_opt_out(text, boolean, timestamptz) TO ony_app;

CREATE OR REPLACE FUNCTION ony_erase_member(p_member_id uuid, p_now timestamptz)
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
  -- Call records keep their outcome for the handoff's timeline; the (masked) number goes.
  UPDATE phone_calls SET phone_masked = 'erased' WHERE org_id = v_org AND member_id = p_member_id;
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
    phone_verified_at = NULL,
    sms_opted_out_at = NULL,
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
