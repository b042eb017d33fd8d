-- Chat channels: the identities members linked (Slack team+user, Telegram user), and the messages an
-- escalation posted (provider refs only, no content) so they can be updated in place after the decision.
SET LOCAL ROLE ony_owner;

CREATE TABLE channel_identities (
  org_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL,
  channel text NOT NULL CHECK (channel IN ('slack', 'telegram')),
  -- The channel's own id of the person: Slack "<team id>:<user id>", Telegram user id.
  external_id text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
  -- What the person is called there (a handle), for the member's own list.
  label text NOT NULL CHECK (length(label) <= 100),
  created_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, channel, external_id),
  UNIQUE (org_id, member_id, channel),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id)
);
CREATE INDEX channel_identities_lookup ON channel_identities (channel, external_id);

CREATE TABLE channel_messages (
  org_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  handoff_id uuid NOT NULL,
  channel text NOT NULL,
  member_id uuid,
  ref text NOT NULL CHECK (length(ref) <= 200),
  created_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, handoff_id) REFERENCES handoffs (org_id, id),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id)
);
CREATE INDEX channel_messages_handoff ON channel_messages (org_id, handoff_id);

SELECT ony_make_tenant_table(t)
FROM unnest(ARRAY['channel_identities', 'channel_messages']::regclass[]) AS t;

GRANT SELECT, INSERT, DELETE ON channel_identities TO ony_app;
GRANT SELECT, INSERT ON channel_messages TO ony_app;

-- Which org members a channel identity is linked to (one person may be in several orgs); ids only.
CREATE FUNCTION ony_resolve_channel_identity(p_channel text, p_external_id text)
RETURNS TABLE (org_id uuid, member_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT c.org_id, c.member_id FROM channel_identities c
  WHERE c.channel = p_channel AND c.external_id = p_external_id
  ORDER BY c.created_at LIMIT 20
$$;
REVOKE ALL ON FUNCTION ony_resolve_channel_identity(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_resolve_channel_identity(text, text) TO ony_app;
