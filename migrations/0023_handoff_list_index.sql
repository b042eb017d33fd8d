-- ony:no-transaction
-- The queue and history list (GET /v1/handoffs, the dashboard), newest first with keyset paging
-- (`before`): without it an unfiltered list was a scan of the org's handoffs plus a top-N sort,
-- growing with the org (issue #19 §6). Built CONCURRENTLY: handoffs is a big table.
CREATE INDEX CONCURRENTLY IF NOT EXISTS handoffs_list ON handoffs (org_id, created_at DESC, id DESC);
