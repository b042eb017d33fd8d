-- Notifications on the phone (issue #22 §2): Web Push subscriptions and each member's choice of the
-- risk levels that notify them.
--   push_subscriptions   tenant table: one row per browser a member subscribed (the push service's
--                        endpoint URL, and its p256dh public key + auth secret encrypted with the org
--                        data key in keys_enc). A subscription the push service answers 404/410 for is
--                        deleted; so are a member's subscriptions when the member is deactivated or
--                        erased (triggers below), and every row with its org (ony_erase_org).
--   members.notify_levels  the risk levels of new handoffs that notify the member (tab-open browser
--                        notifications and Web Push); high and critical by default, empty: none.
SET LOCAL ROLE ony_owner;

ALTER TABLE members
  ADD COLUMN notify_levels text[] NOT NULL DEFAULT ARRAY['high', 'critical']::text[]
    CHECK (notify_levels <@ ARRAY['high', 'critical']::text[]);

CREATE TABLE push_subscriptions (
  org_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL,
  endpoint text NOT NULL CHECK (length(endpoint) BETWEEN 12 AND 2048 AND endpoint ~ '^https?://'),
  keys_enc bytea NOT NULL,
  created_at timestamptz NOT NULL,
  last_sent_at timestamptz,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, endpoint),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id)
);
CREATE INDEX push_subscriptions_member ON push_subscriptions (org_id, member_id);

SELECT ony_make_tenant_table('push_subscriptions'::regclass);

GRANT SELECT, INSERT, UPDATE, DELETE ON push_subscriptions TO ony_app;

-- A deactivated or erased member gets no more pushes: their subscriptions go with the change.
CREATE FUNCTION ony_push_subscriptions_drop_with_member() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM push_subscriptions WHERE org_id = NEW.org_id AND member_id = NEW.id;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION ony_push_subscriptions_drop_with_member() FROM PUBLIC;
CREATE TRIGGER push_subscriptions_drop_with_member AFTER UPDATE OF status, erased_at ON members
  FOR EACH ROW WHEN ((OLD.status = 'active' AND NEW.status <> 'active')
    OR (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL))
  EXECUTE FUNCTION ony_push_subscriptions_drop_with_member();
ALTER TABLE members ENABLE ALWAYS TRIGGER push_subscriptions_drop_with_member;
