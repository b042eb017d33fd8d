-- Each org's own Telegram bot and telephony account (issue #24 part 2). One row per org and kind:
--   config_enc  AES-256-GCM under the org's data key (keyring, purpose "channel-credentials:<kind>"):
--               telegram {bot_token, webhook_secret}; telephony {provider, credentials…, from}.
--               Never answered back by the API, never logged; `ony keys rotate` re-wraps the data
--               key (and `--data` re-encrypts this column); org erasure deletes the row after the
--               data key (crypto-shred).
--   route_id    a random, non-secret id in the org's own webhook URLs
--               (/webhooks/telegram/o/<route_id>, /webhooks/telephony/o/<route_id>/…): a provider
--               request is mapped to its org through it before any tenant is known. A request with
--               an unknown route id and one with a bad secret or signature get the same answer.
--   account_key SHA-256 (hex) of the kind and the account (the bot's id; the provider and its
--               account id): one bot or account serves one org on this server, so a second org
--               cannot take over another's webhook by saving the same token.
--   summary     non-secret facts the channel page shows (bot @username, provider, masked From).
SET LOCAL ROLE ony_owner;

CREATE TABLE org_channel_credentials (
  org_id uuid NOT NULL REFERENCES orgs (id),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('telegram', 'telephony')),
  route_id text NOT NULL UNIQUE CHECK (route_id ~ '^[A-Za-z0-9_-]{22,64}$'),
  account_key text NOT NULL CHECK (account_key ~ '^[0-9a-f]{64}$'),
  config_enc bytea NOT NULL,
  summary jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(summary) = 'object'),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, kind),
  UNIQUE (account_key)
);

SELECT ony_make_tenant_table('org_channel_credentials'::regclass);
GRANT SELECT, INSERT, UPDATE, DELETE ON org_channel_credentials TO ony_app;

-- A provider's request names only a route id: this answers the org (and the kind) it belongs to,
-- ids only, nothing about the credentials.
CREATE FUNCTION ony_resolve_channel_route(p_route_id text)
RETURNS TABLE (org_id uuid, kind text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT c.org_id, c.kind FROM org_channel_credentials c WHERE c.route_id = p_route_id
$$;
REVOKE ALL ON FUNCTION ony_resolve_channel_route(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_resolve_channel_route(text) TO ony_app;

-- At start-up each replica brings up the org bots (webhook registration or one poller per bot):
-- which orgs have a row of a kind, ids only.
CREATE FUNCTION ony_list_channel_routes(p_kind text)
RETURNS TABLE (org_id uuid, route_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT c.org_id, c.route_id FROM org_channel_credentials c WHERE c.kind = p_kind ORDER BY c.created_at
$$;
REVOKE ALL ON FUNCTION ony_list_channel_routes(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_list_channel_routes(text) TO ony_app;

-- Whether another org already connected this bot or account (ids only; the caller holds the token).
CREATE FUNCTION ony_channel_account_taken(p_account_key text, p_org uuid)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM org_channel_credentials c WHERE c.account_key = p_account_key AND c.org_id <> p_org)
$$;
REVOKE ALL ON FUNCTION ony_channel_account_taken(text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ony_channel_account_taken(text, uuid) TO ony_app;
