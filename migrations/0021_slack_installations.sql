-- Slack installed per organization (issue #24 part 1, docs/channels.md): an org's admin installs the
-- server's Slack app in the org's own workspace with Slack's OAuth v2 flow. The installation keeps
-- the bot token encrypted with the org's data key (keyring purpose "slack-bot-token"); one workspace
-- (team) belongs to at most one org, so every request from that team is routed to that org alone.
-- The OAuth state is durable, bound to the admin's session (hash), single use and short-lived.
SET LOCAL ROLE ony_owner;

CREATE TABLE slack_installations (
  org_id uuid NOT NULL REFERENCES orgs (id),
  -- Slack's workspace id; unique across orgs (a second org installing the same team is refused).
  team_id text NOT NULL CHECK (team_id ~ '^T[A-Z0-9]{2,40}$'),
  team_name text NOT NULL CHECK (length(team_name) <= 200),
  enterprise_id text CHECK (enterprise_id ~ '^E[A-Z0-9]{2,40}$'),
  app_id text CHECK (app_id ~ '^A[A-Z0-9]{2,40}$'),
  bot_user_id text NOT NULL CHECK (bot_user_id ~ '^[UW][A-Z0-9]{2,40}$'),
  bot_id text CHECK (bot_id ~ '^B[A-Z0-9]{2,40}$'),
  -- The channel the installer picked on Slack's install page (incoming-webhook scope); null: DMs only.
  channel_id text CHECK (channel_id ~ '^[CG][A-Z0-9]{2,40}$'),
  scopes text NOT NULL CHECK (length(scopes) <= 2000),
  -- AES-256-GCM under the org's data key; never answered back, never logged.
  bot_token_enc bytea NOT NULL,
  installed_by uuid NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (org_id),
  FOREIGN KEY (org_id, installed_by) REFERENCES members (org_id, id)
);
CREATE UNIQUE INDEX slack_installations_team ON slack_installations (team_id);

CREATE TABLE slack_install_states (
  org_id uuid NOT NULL REFERENCES orgs (id),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  -- SHA-256 of the state sent to Slack, and of the admin's session id: the callback must come back
  -- in the same session, once, before expires_at.
  state_sha256 text NOT NULL UNIQUE CHECK (state_sha256 ~ '^[0-9a-f]{64}$'),
  session_sha256 text NOT NULL CHECK (session_sha256 ~ '^[0-9a-f]{64}$'),
  member_id uuid NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id)
);

SELECT ony_make_tenant_table(t)
FROM unnest(ARRAY['slack_installations', 'slack_install_states']::regclass[]) AS t;

GRANT SELECT, INSERT, UPDATE, DELETE ON slack_installations TO ony_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON slack_install_states TO ony_app;

-- Which org installed a Slack workspace (routing an inbound request, refusing a duplicate install);
-- the org id only.
CREATE FUNCTION ony_find_slack_team(p_team_id text)
RETURNS TABLE (org_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.org_id FROM slack_installations s WHERE s.team_id = p_team_id
$$;
REVOKE ALL ON FUNCTION ony_find_slack_team(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_find_slack_team(text) TO ony_app;
