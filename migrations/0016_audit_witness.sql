-- Automatic checkpoints for the witnesses (docs/audit.md "Witnesses", issue #18 item 1.4).
--   ony_audit_checkpoint_status()  every org's chain head beside its latest checkpoint (seq and
--                        time), across orgs, for the durable checkpoint tick: it signs (and sends to
--                        the configured witnesses) the heads that moved N entries, or moved and
--                        whose last checkpoint is older than the interval. Ids and counters only.
SET LOCAL ROLE ony_owner;

CREATE FUNCTION ony_audit_checkpoint_status()
RETURNS TABLE (org_id uuid, head_seq bigint, checkpoint_seq bigint, checkpoint_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT h.org_id, h.seq, c.seq, c.at
  FROM audit_heads h
  LEFT JOIN LATERAL (
    SELECT seq, at FROM audit_checkpoints c WHERE c.org_id = h.org_id ORDER BY seq DESC LIMIT 1
  ) c ON true
  WHERE h.seq > coalesce(c.seq, 0)
$$;
REVOKE ALL ON FUNCTION ony_audit_checkpoint_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_audit_checkpoint_status() TO ony_app;
