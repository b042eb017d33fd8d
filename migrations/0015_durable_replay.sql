-- Durable replay protection and skipped escalation steps (issue #18 items 2.1 and 2.2).
--   replay_claims            server-wide, not a tenant table (webhooks arrive before the org is
--                            known): one row per provider message id, nonce, signature, Slack
--                            signature or Telegram update id seen, as the SHA-256 of a namespaced
--                            key, until it expires. The app cannot read or write it; it only calls
--                            ony_claim_replay() / ony_release_replay().
--   sms_reply_code_counters  server-wide: the last SMS reply code given to each phone number (as
--                            the SHA-256 of the number), so a number's codes count up and are never
--                            given to a second handoff; only ony_next_sms_reply_code() touches it.
--   escalation_attempts      gains skip_reason: a step that sent nothing because every recipient
--                            was skipped is recorded as outcome 'skipped' with the reason.
SET LOCAL ROLE ony_owner;

CREATE TABLE replay_claims (
  key_hash bytea PRIMARY KEY CHECK (length(key_hash) = 32),
  expires_at timestamptz NOT NULL
);
CREATE INDEX replay_claims_expiry ON replay_claims (expires_at);
-- No policy for the app role and no grant: the definer functions below are the only way in.
ALTER TABLE replay_claims ENABLE ROW LEVEL SECURITY;
ALTER TABLE replay_claims FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON replay_claims TO ony_owner USING (true) WITH CHECK (true);

-- Claims a key once: true if it was free (or its earlier claim expired), false if it is held.
-- Each call also sweeps up to 100 expired rows, so the table stays as small as the live claims.
CREATE FUNCTION ony_claim_replay(p_key_hash bytea, p_expires_at timestamptz, p_now timestamptz)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_claimed boolean;
BEGIN
  IF p_key_hash IS NULL OR length(p_key_hash) <> 32 THEN
    RAISE EXCEPTION 'ony_claim_replay: the key must be a SHA-256 hash' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_expires_at IS NULL OR p_now IS NULL OR p_expires_at <= p_now
     OR p_expires_at > p_now + interval '31 days' THEN
    RAISE EXCEPTION 'ony_claim_replay: expiry out of range' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  DELETE FROM replay_claims WHERE key_hash IN (
    SELECT key_hash FROM replay_claims WHERE expires_at <= p_now
    ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED);
  INSERT INTO replay_claims AS r (key_hash, expires_at) VALUES (p_key_hash, p_expires_at)
  ON CONFLICT (key_hash) DO UPDATE SET expires_at = EXCLUDED.expires_at
    WHERE r.expires_at <= p_now
  RETURNING true INTO v_claimed;
  RETURN coalesce(v_claimed, false);
END $$;
REVOKE ALL ON FUNCTION ony_claim_replay(bytea, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_claim_replay(bytea, timestamptz, timestamptz) TO ony_app;

-- Gives a claim back: the handling of a verified request failed, and the provider's retry of the
-- same request must not be refused as a replay.
CREATE FUNCTION ony_release_replay(p_key_hash bytea)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  DELETE FROM replay_claims WHERE key_hash = p_key_hash
$$;
REVOKE ALL ON FUNCTION ony_release_replay(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_release_replay(bytea) TO ony_app;

CREATE TABLE sms_reply_code_counters (
  phone_hash bytea PRIMARY KEY CHECK (length(phone_hash) = 32),
  last_code integer NOT NULL CHECK (last_code BETWEEN 1 AND 999999)
);
ALTER TABLE sms_reply_code_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE sms_reply_code_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON sms_reply_code_counters TO ony_owner USING (true) WITH CHECK (true);

-- The number's next reply code: 1, 2, 3, … up to 999999, then 1 again (years at the per-number
-- SMS limit). Concurrent callers for one number get distinct codes (the row lock orders them).
CREATE FUNCTION ony_next_sms_reply_code(p_phone_hash bytea)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_code integer;
BEGIN
  IF p_phone_hash IS NULL OR length(p_phone_hash) <> 32 THEN
    RAISE EXCEPTION 'ony_next_sms_reply_code: the number must be a SHA-256 hash'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO sms_reply_code_counters AS c (phone_hash, last_code) VALUES (p_phone_hash, 1)
  ON CONFLICT (phone_hash) DO UPDATE SET last_code = c.last_code % 999999 + 1
  RETURNING last_code INTO v_code;
  RETURN v_code;
END $$;
REVOKE ALL ON FUNCTION ony_next_sms_reply_code(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_next_sms_reply_code(bytea) TO ony_app;

ALTER TABLE escalation_attempts
  ADD COLUMN skip_reason text CHECK (skip_reason IN ('rate_limited', 'no_reply_code', 'no_address')),
  ADD CONSTRAINT escalation_attempts_skipped_has_reason CHECK (outcome <> 'skipped' OR skip_reason IS NOT NULL);
