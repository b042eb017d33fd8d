-- Org settings carry a version that every change bumps (a trigger, so no writer can forget it), and
-- device authentication answers it. A replica keeps an org's settings in memory and knows, from the
-- look-up every device request makes anyway, whether they are still current: a create reads the
-- settings only when they changed (docs/scaling.md, "The create path"). Expand-only: the previous
-- version selects the look-up's columns by name and never sees the new one.
SET LOCAL ROLE ony_owner;

ALTER TABLE org_settings ADD COLUMN version bigint NOT NULL DEFAULT 1;

CREATE FUNCTION ony_bump_settings_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  RETURN NEW;
END $$;

CREATE TRIGGER bump_version BEFORE UPDATE ON org_settings
  FOR EACH ROW EXECUTE FUNCTION ony_bump_settings_version();
ALTER TABLE org_settings ENABLE ALWAYS TRIGGER bump_version;

-- An org without a settings row (the defaults) is version 0.
DROP FUNCTION ony_resolve_device(bytea);
CREATE FUNCTION ony_resolve_device(p_token_hash bytea)
RETURNS TABLE (org_id uuid, device_id uuid, last_seen_at timestamptz, settings_version bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT d.org_id, d.id, d.last_seen_at, coalesce(s.version, 0)
  FROM devices d LEFT JOIN org_settings s ON s.org_id = d.org_id
  WHERE d.token_hash = p_token_hash AND d.revoked_at IS NULL
$$;
REVOKE ALL ON FUNCTION ony_resolve_device(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_resolve_device(bytea) TO ony_app;
