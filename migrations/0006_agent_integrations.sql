-- Agent integrations (Claude Code hooks, docs/integrations.md). A hook asks before every tool call and
-- must answer within its own timeout, so a human's approval outlives the hook: the same tool call
-- retried in the same session joins the handoff it created (found by its fingerprint) and gets the
-- decision, once. `consumed_*` records which tool call used the decision, so an approval is used once.
SET LOCAL ROLE ony_owner;

ALTER TABLE handoffs
  -- SHA-256 (hex) of the canonical {session_id, tool_name, tool_input}; no content, only a hash.
  ADD COLUMN fingerprint text CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
  ADD COLUMN consumed_at timestamptz,
  -- The tool call (Claude Code tool_use_id) that used the decision.
  ADD COLUMN consumed_by text CHECK (length(consumed_by) BETWEEN 1 AND 200),
  ADD CONSTRAINT handoffs_consumed_once CHECK ((consumed_at IS NULL) = (consumed_by IS NULL)),
  ADD CONSTRAINT handoffs_consumed_decided CHECK (consumed_at IS NULL OR status IN ('approved', 'denied'));

CREATE INDEX handoffs_fingerprint ON handoffs (org_id, device_id, fingerprint) WHERE fingerprint IS NOT NULL;
