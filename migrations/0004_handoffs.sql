-- Handoffs: what an agent asks, the derived risk, the decision (exactly once), approvals for
-- quorum, escalation attempts (no content), encrypted payloads, per-org policy settings.
SET LOCAL ROLE ony_owner;

CREATE TABLE org_settings (
  org_id uuid PRIMARY KEY REFERENCES orgs (id),
  -- The org's risk policy (docs/risk.md) and escalation policy (docs/handoffs.md), validated by the app.
  risk_policy jsonb NOT NULL DEFAULT '{}',
  escalation_policy jsonb NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE devices ADD COLUMN webhook_secret_enc bytea;

CREATE TABLE handoffs (
  org_id uuid NOT NULL,
  id uuid NOT NULL,
  short_code text NOT NULL CHECK (short_code ~ '^[A-Z2-9]{6}$'),
  device_id uuid NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
  action_type text NOT NULL,
  action_target text,
  -- Title and summary are stored redacted; the raw text never reaches the database.
  title text NOT NULL,
  summary text NOT NULL,
  options jsonb NOT NULL,
  risk_level text NOT NULL CHECK (risk_level IN ('low', 'medium', 'high', 'critical')),
  risk_reasons text[] NOT NULL,
  context jsonb NOT NULL DEFAULT '{}',
  required_approvals integer NOT NULL CHECK (required_approvals BETWEEN 1 AND 10),
  totp_required boolean NOT NULL,
  callback_url text,
  idempotency_key text,
  request_sha256 text NOT NULL,
  payload_sha256 bytea,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  decided_at timestamptz,
  decision_option text,
  decided_by uuid,
  decision_channel text,
  decision_comment text,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, device_id) REFERENCES devices (org_id, id),
  FOREIGN KEY (org_id, decided_by) REFERENCES members (org_id, id),
  CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE UNIQUE INDEX handoffs_idempotency ON handoffs (org_id, device_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX handoffs_pending_short_code ON handoffs (org_id, short_code) WHERE status = 'pending';
CREATE INDEX handoffs_queue ON handoffs (org_id, status, created_at DESC);

CREATE TABLE handoff_payloads (
  org_id uuid NOT NULL,
  handoff_id uuid NOT NULL,
  kind text NOT NULL,
  salt bytea NOT NULL,
  content_enc bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, handoff_id),
  FOREIGN KEY (org_id, handoff_id) REFERENCES handoffs (org_id, id)
);

CREATE TABLE handoff_approvals (
  org_id uuid NOT NULL,
  handoff_id uuid NOT NULL,
  member_id uuid NOT NULL,
  option text NOT NULL,
  channel text NOT NULL,
  comment text,
  at timestamptz NOT NULL,
  PRIMARY KEY (org_id, handoff_id, member_id),
  FOREIGN KEY (org_id, handoff_id) REFERENCES handoffs (org_id, id),
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id)
);

CREATE TABLE escalation_attempts (
  org_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  handoff_id uuid NOT NULL,
  step integer NOT NULL,
  channel text NOT NULL,
  at timestamptz NOT NULL,
  outcome text NOT NULL,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, handoff_id) REFERENCES handoffs (org_id, id)
);

SELECT ony_make_tenant_table(t)
FROM unnest(ARRAY['org_settings', 'handoffs', 'handoff_payloads', 'handoff_approvals', 'escalation_attempts']::regclass[]) AS t;

GRANT SELECT, INSERT, UPDATE ON org_settings, handoffs TO ony_app;
GRANT SELECT, INSERT, DELETE ON handoff_payloads TO ony_app;
GRANT SELECT, INSERT ON handoff_approvals, escalation_attempts TO ony_app;
