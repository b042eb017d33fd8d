-- Approval-fatigue insights at scale (issue #23, docs/insights.md): per-day rollups.
--
-- A handoff's insight facts are final once it leaves `pending` (decided, expired or cancelled): its
-- votes are in, and a later first view or payload fetch cannot count (those count only before the
-- decision). Finished handoffs are folded, in batches, into per-org per-day (UTC, by creation)
-- counters and decision-time histograms; `handoffs.insights_folded` marks the folded ones, in the
-- same transaction as the counters, so nothing is counted twice or missed. GET /v1/admin/insights
-- reads whole days of the window from the rollups and the rest (partial days at the window's edges,
-- pending and not yet folded handoffs) from the handoffs themselves.
--
-- The rollups hold counts, sums of seconds, ids (member, device) and action types and targets,
-- which the handoffs already hold: no payload, no content. Org erasure empties them like every
-- tenant table.
SET LOCAL ROLE ony_owner;

ALTER TABLE handoffs ADD COLUMN insights_folded boolean NOT NULL DEFAULT false;

-- Handoff outcomes by day, level, action type and deciding channel (null: expired, cancelled).
CREATE TABLE insight_handoff_days (
  org_id uuid NOT NULL,
  day date NOT NULL,
  risk_level text NOT NULL,
  action_type text NOT NULL,
  decision_channel text,
  handoffs bigint NOT NULL,
  approved bigint NOT NULL,
  denied bigint NOT NULL,
  expired bigint NOT NULL,
  cancelled bigint NOT NULL,
  pending bigint NOT NULL,
  policy_allowed bigint NOT NULL,
  human_decided bigint NOT NULL,
  UNIQUE NULLS NOT DISTINCT (org_id, day, risk_level, action_type, decision_channel)
);

-- People's decisions (an approving vote, or a member's deny) by day, member, level, action type, channel.
CREATE TABLE insight_vote_days (
  org_id uuid NOT NULL,
  day date NOT NULL,
  member_id uuid NOT NULL,
  risk_level text NOT NULL,
  action_type text NOT NULL,
  channel text,
  decisions bigint NOT NULL,
  approvals bigint NOT NULL,
  denials bigint NOT NULL,
  opened_first bigint NOT NULL,
  fast_after_view bigint NOT NULL,
  with_payload bigint NOT NULL,
  payload_unopened bigint NOT NULL,
  UNIQUE NULLS NOT DISTINCT (org_id, day, member_id, risk_level, action_type, channel)
);

-- Decision-time histograms: series h (escalation to a person's decision, per handoff) and v (per
-- vote), by one dimension (all, risk, action, member) and a bucket of about 0.5% width; each bucket
-- keeps its count and the sum of its seconds, so a bucket of equal values gives them back exactly.
CREATE TABLE insight_second_days (
  org_id uuid NOT NULL,
  day date NOT NULL,
  series text NOT NULL CHECK (series IN ('h', 'v')),
  dim text NOT NULL CHECK (dim IN ('all', 'risk', 'action', 'member')),
  key text NOT NULL,
  bucket integer NOT NULL,
  n bigint NOT NULL,
  total double precision NOT NULL,
  PRIMARY KEY (org_id, day, series, dim, key, bucket)
);

-- Noisy-action candidates: finished, not policy-decided handoffs by action, normalised target, device.
CREATE TABLE insight_noisy_days (
  org_id uuid NOT NULL,
  day date NOT NULL,
  action_type text NOT NULL,
  target text,
  device_id uuid NOT NULL,
  handoffs bigint NOT NULL,
  fast bigint NOT NULL,
  max_risk smallint NOT NULL,
  UNIQUE NULLS NOT DISTINCT (org_id, day, action_type, target, device_id)
);

SELECT ony_make_tenant_table(t)
FROM unnest(ARRAY['insight_handoff_days', 'insight_vote_days', 'insight_second_days', 'insight_noisy_days']::regclass[]) AS t;
GRANT SELECT, INSERT, UPDATE ON insight_handoff_days, insight_vote_days, insight_second_days, insight_noisy_days TO ony_app;
