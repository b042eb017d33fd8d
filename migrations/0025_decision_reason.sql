-- Rejection reasons (issue #22 §1): why an approver denied, as a closed code the agent, the audit
-- chain and the exports can read (src/core/approval/rejection.ts). The approver's free text stays in
-- decision_comment. Only a deny has one.
ALTER TABLE handoffs ADD COLUMN decision_reason text;
ALTER TABLE handoffs ADD CONSTRAINT handoffs_decision_reason_known CHECK (
  decision_reason IS NULL
  OR (
    decision_reason IN ('too_risky', 'wrong_target', 'needs_context', 'not_now', 'policy', 'other')
    AND status = 'denied'
  )
);
