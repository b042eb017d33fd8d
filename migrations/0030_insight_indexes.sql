-- ony:no-transaction
-- For the insights rollups (0029): the handoffs not folded yet (pending ones and those that finished
-- since the last fold), by creation time; and each handoff's escalation attempts (its first sent
-- attempt is its escalation time). Built CONCURRENTLY: both tables are big.
CREATE INDEX CONCURRENTLY IF NOT EXISTS handoffs_insights_unfolded ON handoffs (org_id, created_at) WHERE NOT insights_folded;
CREATE INDEX CONCURRENTLY IF NOT EXISTS escalation_attempts_handoff ON escalation_attempts (org_id, handoff_id) INCLUDE (at, outcome);
