-- Device authentication in one round trip: the look-up also answers when the device was last seen,
-- so the request only writes (to refresh last_seen_at, once a minute) when it has to.
SET LOCAL ROLE ony_owner;

DROP FUNCTION ony_resolve_device(bytea);
CREATE FUNCTION ony_resolve_device(p_token_hash bytea)
RETURNS TABLE (org_id uuid, device_id uuid, last_seen_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT d.org_id, d.id, d.last_seen_at FROM devices d WHERE d.token_hash = p_token_hash AND d.revoked_at IS NULL
$$;
REVOKE ALL ON FUNCTION ony_resolve_device(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_resolve_device(bytea) TO ony_app;
