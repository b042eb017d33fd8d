-- Approval-fatigue insights (issue #23 part 3, docs/insights.md).
--   handoff_views   one row per member and handoff: when the member first opened the handoff in the
--                   dashboard (or read its detail through the API), and when they first fetched its
--                   payload. Written once (first view only), never rewritten; per org, like every
--                   tenant table. It holds times only: no payload, no content.
-- Indexes for GET /v1/admin/insights, which reads a time window of an org's handoffs, their first
-- escalation attempt and their approvals (EXPLAIN at 1M handoffs: bench/insights.bench.ts).
SET LOCAL ROLE ony_owner;

CREATE TABLE handoff_views (
  org_id uuid NOT NULL,
  handoff_id uuid NOT NULL,
  member_id uuid NOT NULL,
  first_viewed_at timestamptz NOT NULL,
  payload_expanded_at timestamptz,
  PRIMARY KEY (org_id, handoff_id, member_id),
  FOREIGN KEY (org_id, handoff_id) REFERENCES handoffs (org_id, id),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id)
);

SELECT ony_make_tenant_table('handoff_views');
-- UPDATE only fills payload_expanded_at once (the app's statement guards on IS NULL).
GRANT SELECT, INSERT, UPDATE ON handoff_views TO ony_app;

-- The window of handoffs, by creation time.
CREATE INDEX handoffs_created ON handoffs (org_id, created_at);
-- The first escalation attempt of each handoff in the window.
CREATE INDEX escalation_attempts_at ON escalation_attempts (org_id, at) INCLUDE (handoff_id, outcome);
