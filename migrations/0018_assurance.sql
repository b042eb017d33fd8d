-- Assurance levels (docs/assurance.md): how strong the proof behind each answer to a handoff was.
--   sessions      remember how they were signed in: a password, a password and a second factor,
--                 or single sign-on with the ID token's amr/acr claims as the provider sent them
--   handoffs      snapshot the policy's minimum at creation (a policy change applies to new handoffs
--                 only; handoffs pending at the upgrade keep A1) and store the decision's assurance
--   approvals     store each approval's assurance (level + channel, session age, step-up, identity)
-- No new table: RLS, the immutable org_id and the grants of the three tables cover the new columns.
SET LOCAL ROLE ony_owner;

ALTER TABLE sessions
  ADD COLUMN auth_method text NOT NULL DEFAULT 'password'
    CHECK (auth_method IN ('password', 'password_mfa', 'sso')),
  ADD COLUMN amr text[] CHECK (amr IS NULL OR cardinality(amr) <= 16),
  ADD COLUMN acr text CHECK (acr IS NULL OR length(acr) <= 200);

ALTER TABLE handoffs
  ADD COLUMN min_assurance text NOT NULL DEFAULT 'A1' CHECK (min_assurance IN ('A1', 'A2', 'A3')),
  ADD COLUMN decision_assurance jsonb;

ALTER TABLE handoff_approvals ADD COLUMN assurance jsonb;
