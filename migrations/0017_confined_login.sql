-- The runtime login never needs owner rights (DESIGN.md §3 invariants 1 and 11, docs/audit.md):
-- the two runtime paths that used the owner role get narrow SECURITY DEFINER functions instead.
--   ony_issue_setup_token()    the one-time setup token `ony serve` prints at first start
--   ony_erase_scheduled_org()  the org erasure job: only an org whose erasure is scheduled, not
--                              cancelled, and due by the database's clock after the full grace
--                              period; the eraser itself stays owner-only (ony_erase_org)
-- So that a stolen runtime credential cannot schedule an erasure in the past, the database keeps
-- the request's times honest: requested_at is the time of the insert (give or take an hour of
-- clock skew), and the app role may update only the job id and the cancellation columns.
SET LOCAL ROLE ony_owner;

CREATE FUNCTION ony_org_erasure_requested_now() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.requested_at NOT BETWEEN now() - interval '1 hour' AND now() + interval '1 hour' THEN
    RAISE EXCEPTION 'an org erasure is requested now: requested_at % is not the current time', NEW.requested_at
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER requested_now BEFORE INSERT ON org_erasures
  FOR EACH ROW EXECUTE FUNCTION ony_org_erasure_requested_now();
ALTER TABLE org_erasures ENABLE ALWAYS TRIGGER requested_now;

REVOKE UPDATE ON org_erasures FROM ony_app;
GRANT UPDATE (job_id, cancelled_by, cancelled_at) ON org_erasures TO ony_app;

CREATE FUNCTION ony_issue_setup_token(p_token_hash bytea, p_created_at timestamptz, p_expires_at timestamptz)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (p_token_hash, p_created_at, p_expires_at)
$$;
REVOKE ALL ON FUNCTION ony_issue_setup_token(bytea, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_issue_setup_token(bytea, timestamptz, timestamptz) TO ony_app;

-- Erases an org whose erasure p_erasure is scheduled, not cancelled, requested at least 30 days
-- (ERASURE_GRACE_DAYS) before it is due, and due by the database's clock. The scheduled row is
-- locked, so a concurrent cancel waits for this.
CREATE FUNCTION ony_erase_scheduled_org(p_org uuid, p_erasure uuid) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM 1 FROM org_erasures e
  WHERE e.org_id = p_org AND e.id = p_erasure AND e.cancelled_at IS NULL
  FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'org % has no scheduled erasure %', p_org, p_erasure USING ERRCODE = 'no_data_found';
  END IF;
  PERFORM 1 FROM org_erasures e
  WHERE e.org_id = p_org AND e.id = p_erasure
    AND e.erase_at >= e.requested_at + interval '30 days' AND e.erase_at <= now();
  IF NOT FOUND THEN
    RAISE EXCEPTION 'org erasure % is not due', p_erasure USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  RETURN ony_erase_org(p_org);
END $$;
REVOKE ALL ON FUNCTION ony_erase_scheduled_org(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_erase_scheduled_org(uuid, uuid) TO ony_app;
