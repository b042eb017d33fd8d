-- The runtime login never needs owner rights (DESIGN.md §3 invariants 1 and 11, docs/audit.md):
-- the two runtime paths that used the owner role get narrow SECURITY DEFINER functions instead.
--   ony_issue_setup_token()    the one-time setup token `ony serve` prints at first start
--   ony_erase_scheduled_org()  the org erasure job: only an org with that erasure scheduled and not
--                              cancelled; the eraser itself stays owner-only (ony_erase_org)
SET LOCAL ROLE ony_owner;

CREATE FUNCTION ony_issue_setup_token(p_token_hash bytea, p_created_at timestamptz, p_expires_at timestamptz)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (p_token_hash, p_created_at, p_expires_at)
$$;
REVOKE ALL ON FUNCTION ony_issue_setup_token(bytea, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_issue_setup_token(bytea, timestamptz, timestamptz) TO ony_app;

-- Erases an org whose erasure p_erasure is scheduled and not cancelled (the job checks that it is
-- due by the server's clock). The scheduled row is locked, so a concurrent cancel waits for this.
CREATE FUNCTION ony_erase_scheduled_org(p_org uuid, p_erasure uuid) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM 1 FROM org_erasures e
  WHERE e.org_id = p_org AND e.id = p_erasure AND e.cancelled_at IS NULL
  FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'org % has no scheduled erasure %', p_org, p_erasure USING ERRCODE = 'no_data_found';
  END IF;
  RETURN ony_erase_org(p_org);
END $$;
REVOKE ALL ON FUNCTION ony_erase_scheduled_org(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_erase_scheduled_org(uuid, uuid) TO ony_app;
