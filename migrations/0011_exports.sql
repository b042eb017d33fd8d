-- Exports (docs/export.md): an admin's export of the whole org, or a member's export of their own
-- data. The record holds state only: who asked, when, what it counted, and the SHA-256 of the one
-- download token (single use, 15 minutes). The zip itself is never stored: it is produced from the
-- database at download time, in one REPEATABLE READ snapshot, and streamed to the response.
SET LOCAL ROLE ony_owner;

CREATE TABLE exports (
  org_id uuid NOT NULL,
  id uuid NOT NULL,
  scope text NOT NULL CHECK (scope IN ('org', 'member')),
  requested_by uuid NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'ready', 'downloading', 'downloaded', 'failed', 'expired')),
  created_at timestamptz NOT NULL,
  -- After this no link is issued and the export stops counting as running.
  expires_at timestamptz NOT NULL,
  ready_at timestamptz,
  -- What the snapshot held when the job validated it (row counts by file; no content).
  counts jsonb,
  -- SHA-256 of the current download token; cleared when it is used.
  link_token_hash bytea UNIQUE,
  link_expires_at timestamptz,
  downloaded_at timestamptz,
  -- A closed class of the failure, never an error text.
  failure text CHECK (failure IN ('prepare_failed', 'stream_failed')),
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, requested_by) REFERENCES members (org_id, id),
  CHECK ((link_token_hash IS NULL) = (link_expires_at IS NULL)),
  CHECK ((status = 'downloaded') = (downloaded_at IS NOT NULL))
);
-- One running export per org (admin exports) and per member (self-exports); a second insert fails.
CREATE UNIQUE INDEX exports_one_running_org ON exports (org_id)
  WHERE scope = 'org' AND status IN ('queued', 'ready', 'downloading');
CREATE UNIQUE INDEX exports_one_running_member ON exports (org_id, requested_by)
  WHERE scope = 'member' AND status IN ('queued', 'ready', 'downloading');
-- The daily limit counts recent exports.
CREATE INDEX exports_recent ON exports (org_id, scope, created_at DESC);

SELECT ony_make_tenant_table('exports');

GRANT SELECT, INSERT, UPDATE ON exports TO ony_app;
