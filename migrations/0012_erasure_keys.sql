-- Org erasure (DESIGN.md §3.4, docs/erasure.md) and data key rotation bookkeeping (§3.6, docs/keys.md).
--   org_erasures       a scheduled erasure (30-day grace) and its cancellation; a tenant table, so it
--                      goes with the org
--   org_tombstones     what is left of an erased org: the SHA-256 of its id, the last seq and hash of
--                      its audit chain, and when. Not a tenant table: owner-only, the app cannot read it
--   org_key_rotations  one row while an org's data is being re-encrypted under a fresh data key
--                      (`ony keys rotate --data`), so a run that crashed resumes with the same key
--   ony_erase_org()    the one privileged path that removes an org's rows, audit chain included
SET LOCAL ROLE ony_owner;

CREATE TABLE org_erasures (
  org_id uuid NOT NULL REFERENCES orgs (id),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  requested_by uuid NOT NULL,
  requested_at timestamptz NOT NULL,
  erase_at timestamptz NOT NULL,
  -- The pg-boss job that runs the erasure at erase_at (cancelled with the request).
  job_id uuid,
  cancelled_by uuid,
  cancelled_at timestamptz,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, requested_by) REFERENCES members (org_id, id),
  FOREIGN KEY (org_id, cancelled_by) REFERENCES members (org_id, id),
  CHECK (erase_at > requested_at),
  CHECK ((cancelled_at IS NULL) = (cancelled_by IS NULL))
);
-- At most one erasure scheduled per org.
CREATE UNIQUE INDEX org_erasures_one_scheduled ON org_erasures (org_id) WHERE cancelled_at IS NULL;

CREATE TABLE org_key_rotations (
  org_id uuid NOT NULL REFERENCES orgs (id),
  -- The fresh data key every blob is being re-encrypted under.
  to_key_id uuid NOT NULL,
  started_at timestamptz NOT NULL,
  PRIMARY KEY (org_id),
  FOREIGN KEY (org_id, to_key_id) REFERENCES org_keys (org_id, id)
);

SELECT ony_make_tenant_table(t)
FROM unnest(ARRAY['org_erasures', 'org_key_rotations']::regclass[]) AS t;

GRANT SELECT, INSERT, UPDATE ON org_erasures TO ony_app;
-- org_key_rotations: only operator commands (the owner role) touch it.

CREATE TABLE org_tombstones (
  org_id_sha256 bytea PRIMARY KEY CHECK (length(org_id_sha256) = 32),
  last_seq bigint NOT NULL CHECK (last_seq >= 0),
  last_hash bytea NOT NULL CHECK (length(last_hash) = 32),
  erased_at timestamptz NOT NULL
);
ALTER TABLE org_tombstones ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_tombstones FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON org_tombstones TO ony_owner USING (true) WITH CHECK (true);

-- Erases one org: every row of every table in this schema that has an org_id column (read from the
-- catalog at run time, so a table added later is covered without touching this function), children
-- before parents by their foreign keys, then the orgs row, then the tombstone.
--   1. The org's data keys go first (crypto-shredding: a ciphertext that survives anywhere, e.g. in
--      a pg-boss job or a backup restored without the old master key, can no longer be decrypted).
--   2. The audit tables' append-only triggers let a DELETE through only for the owner role with
--      ony.erasing_org naming the row's org (0003_audit.sql); it is set here, transaction-local, and
--      cleared before returning. No trigger is disabled: DDL would lock the tables for every org.
--   3. A table whose row-level security would hide rows from the owner role, or one still holding a
--      row of the org after its DELETE, aborts the whole erasure: nothing is half-erased.
-- pg-boss jobs whose data names the org are removed by the caller in the same transaction (the
-- pg-boss schema belongs to the connection's role and is created after migrations).
CREATE FUNCTION ony_erase_org(p_org uuid) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  last_seq bigint;
  last_hash bytea;
  leftover boolean;
  blind text;
  remaining text[];
  t text;
  progressed boolean;
  n bigint;
  total bigint := 0;
BEGIN
  PERFORM 1 FROM orgs WHERE id = p_org FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'organization % does not exist', p_org USING ERRCODE = 'no_data_found';
  END IF;
  PERFORM set_config('ony.erasing_org', p_org::text, true);

  DELETE FROM org_key_rotations WHERE org_id = p_org;
  DELETE FROM org_keys WHERE org_id = p_org;
  GET DIAGNOSTICS n = ROW_COUNT;
  total := total + n;

  SELECT h.seq, h.hash INTO last_seq, last_hash FROM audit_heads h WHERE h.org_id = p_org FOR UPDATE;
  IF NOT FOUND THEN
    last_seq := 0;
    last_hash := sha256(convert_to('ony-audit-genesis:' || p_org::text, 'UTF8'));
  END IF;

  SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}') INTO remaining
  FROM pg_class c
  JOIN pg_namespace ns ON ns.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
  WHERE ns.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition;

  -- A table whose row-level security hides rows from the owner role would look empty here and keep
  -- the org's rows: refuse instead (tenant tables get the owner policy from ony_make_tenant_table).
  SELECT string_agg(c.relname::text, ', ') INTO blind
  FROM pg_class c
  JOIN pg_namespace ns ON ns.oid = c.relnamespace
  WHERE ns.nspname = 'public' AND c.relname = ANY (remaining) AND c.relrowsecurity
    AND (c.relforcerowsecurity OR c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = 'ony_owner'))
    AND NOT EXISTS (
      SELECT 1 FROM pg_policy p
      WHERE p.polrelid = c.oid AND p.polcmd IN ('*', 'd')
        AND (0::oid = ANY (p.polroles) OR (SELECT oid FROM pg_roles WHERE rolname = 'ony_owner') = ANY (p.polroles))
    );
  IF blind IS NOT NULL THEN
    RAISE EXCEPTION 'org erasure: row-level security hides rows of % from the owner role; give it the owner policy', blind;
  END IF;

  LOOP
    EXIT WHEN cardinality(remaining) = 0;
    progressed := false;
    FOREACH t IN ARRAY remaining LOOP
      -- Ready when no other table still to be emptied references it.
      IF NOT EXISTS (
        SELECT 1 FROM pg_constraint k
        JOIN pg_class src ON src.oid = k.conrelid
        JOIN pg_namespace sns ON sns.oid = src.relnamespace
        WHERE k.contype = 'f' AND k.confrelid = format('public.%I', t)::regclass
          AND sns.nspname = 'public' AND src.relname <> t AND src.relname = ANY (remaining)
      ) THEN
        EXECUTE format('DELETE FROM public.%I WHERE org_id = $1', t) USING p_org;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM public.%I WHERE org_id = $1)', t) INTO leftover USING p_org;
        IF leftover THEN
          RAISE EXCEPTION 'org erasure: table % still holds rows of the org', t;
        END IF;
        remaining := array_remove(remaining, t);
        progressed := true;
      END IF;
    END LOOP;
    IF NOT progressed THEN
      RAISE EXCEPTION 'org erasure: foreign keys form a cycle among %', remaining;
    END IF;
  END LOOP;

  DELETE FROM orgs WHERE id = p_org;
  total := total + 1;

  INSERT INTO org_tombstones (org_id_sha256, last_seq, last_hash, erased_at)
  VALUES (sha256(convert_to(p_org::text, 'UTF8')), last_seq, last_hash, now())
  ON CONFLICT (org_id_sha256) DO NOTHING;

  PERFORM set_config('ony.erasing_org', '', true);
  RETURN total;
END $$;
REVOKE ALL ON FUNCTION ony_erase_org(uuid) FROM PUBLIC;
-- Not granted to ony_app: only the owner role runs it (the erasure job and `ony org erase` use
-- withOwner). The app schedules; it cannot erase.
