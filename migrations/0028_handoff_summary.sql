-- The optional payload summarizer (issue #22 §5, docs/summarizer.md). The first escalation step of a
-- handoff asks the operator's model for a short plain-language summary of the redacted payload,
-- off the request path; what the channels and the dashboard then show is stored here:
--   summary_source  'model': model_summary holds the model's answer, checked (1-3 plain sentences,
--                   at most 300 characters, nothing the redactor would redact; src/core/summary);
--                   'deterministic': the model failed, timed out or answered something refused,
--                   and the deterministic gist is what people read;
--                   null: not summarised (the summarizer is off, or no step has run yet).
-- Only the checked summary is kept, never the model's raw response.
SET LOCAL ROLE ony_owner;

ALTER TABLE handoffs
  ADD COLUMN summary_source text CHECK (summary_source IN ('model', 'deterministic')),
  ADD COLUMN model_summary text CHECK (length(model_summary) <= 300),
  ADD CONSTRAINT handoffs_model_summary_source
    CHECK ((summary_source IS NOT DISTINCT FROM 'model') = (model_summary IS NOT NULL));
