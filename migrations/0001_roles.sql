-- Roles (cluster-wide, so created idempotently; several databases may share them).
--   ony_owner: owns every table and function; runs migrations and the narrow SECURITY DEFINER
--              look-ups. NOLOGIN: reached only by SET ROLE from the migrating connection.
--   ony_app:   what every request runs as (SET LOCAL ROLE). NOLOGIN, no BYPASSRLS, owns nothing,
--              so row-level security always applies to it.
DO $$
BEGIN
  BEGIN
    CREATE ROLE ony_owner NOLOGIN NOBYPASSRLS;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
  END;
  BEGIN
    CREATE ROLE ony_app NOLOGIN NOBYPASSRLS NOSUPERUSER NOCREATEDB NOCREATEROLE;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
  END;
  -- The migrating (and, in the default setup, serving) connection must be able to SET ROLE to both.
  IF NOT pg_has_role(current_user, 'ony_owner', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT ony_owner TO %I', current_user);
    EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL;
    END;
  END IF;
  IF NOT pg_has_role(current_user, 'ony_app', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT ony_app TO %I', current_user);
    EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL;
    END;
  END IF;
END $$;

GRANT USAGE, CREATE ON SCHEMA public TO ony_owner;
GRANT USAGE ON SCHEMA public TO ony_app;
