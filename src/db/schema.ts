/** The Kysely view of the database. Rows stay in repositories; services see domain types. */
import type { ColumnType, Generated } from 'kysely';
import type { SkipReason } from '../core/policy/attempt-outcome.js';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export type Role = 'admin' | 'member' | 'viewer';
export const ROLES = ['admin', 'member', 'viewer'] as const satisfies readonly Role[];

export interface SlackInstallationsTable {
  org_id: string;
  team_id: string;
  team_name: string;
  enterprise_id: string | null;
  app_id: string | null;
  bot_user_id: string;
  bot_id: string | null;
  channel_id: string | null;
  scopes: string;
  bot_token_enc: Buffer;
  installed_by: string;
  created_at: Timestamp;
}

export interface SlackInstallStatesTable {
  org_id: string;
  id: Generated<string>;
  state_sha256: string;
  session_sha256: string;
  member_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface OrgsTable {
  id: string;
  name: string;
  slug: string;
  created_at: CreatedAt;
}

export interface OrgKeysTable {
  org_id: string;
  id: Generated<string>;
  master_key_id: string;
  wrapped_key: Buffer;
  active: Generated<boolean>;
  created_at: CreatedAt;
}

export interface MembersTable {
  org_id: string;
  id: Generated<string>;
  email: string;
  name: string;
  role: Role;
  status: Generated<'active' | 'deactivated'>;
  password_hash: string | null;
  phone_e164: string | null;
  totp_secret_enc: Buffer | null;
  totp_enabled_at: Timestamp | null;
  totp_last_step: number | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  deactivated_at: Timestamp | null;
  /** Migration 0010: the person was erased; the row stays as a pseudonymous id. */
  erased_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Migration 0013: the number was proved with a code; unusable for calls and SMS until then. */
  phone_verified_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Migration 0013: the person replied STOP; no SMS until START. */
  sms_opted_out_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Migration 0024: the member's IANA timezone for the dashboard's times; null = the browser's. */
  timezone: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0026: the risk levels of new handoffs that notify the member (browser, Web Push). */
  notify_levels: ColumnType<string[], string[] | undefined, string[]>;
}

/** Migration 0026: a browser's Web Push subscription (keys encrypted with the org data key). */
export interface PushSubscriptionsTable {
  org_id: string;
  id: Generated<string>;
  member_id: string;
  endpoint: string;
  keys_enc: Buffer;
  created_at: ColumnType<Date, Date | string, never>;
  last_sent_at: Timestamp | null;
}

export interface RecoveryCodesTable {
  org_id: string;
  member_id: string;
  code_hash: Buffer;
  used_at: Timestamp | null;
}

/** Migration 0019: a member's WebAuthn credentials (public keys only). */
export interface PasskeysTable {
  org_id: string;
  id: Generated<string>;
  member_id: string;
  credential_id: Buffer;
  public_key: Buffer;
  counter: number;
  transports: ColumnType<string[], string[] | undefined, string[]>;
  name: string;
  created_at: ColumnType<Date, Date | string, never>;
  last_used_at: Timestamp | null;
}

/** Migration 0019: issued WebAuthn challenges (hash only), single use, bound for step-up. */
export interface PasskeyChallengesTable {
  org_id: string;
  id: Generated<string>;
  member_id: string;
  purpose: 'register' | 'sign_in' | 'step_up';
  challenge_hash: Buffer;
  handoff_id: string | null;
  option: string | null;
  created_at: ColumnType<Date, Date | string, never>;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface InvitesTable {
  org_id: string;
  id: Generated<string>;
  email: string;
  role: Role;
  token_hash: Buffer;
  invited_by: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
  accepted_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface SessionsTable {
  org_id: string;
  id: Generated<string>;
  member_id: string;
  token_hash: Buffer;
  created_at: CreatedAt;
  last_seen_at: Timestamp;
  idle_expires_at: Timestamp;
  absolute_expires_at: Timestamp;
  revoked_at: Timestamp | null;
  user_agent: string | null;
  /** Migration 0018: how the session was signed in (docs/assurance.md); SSO keeps the ID token's amr/acr. */
  auth_method: ColumnType<
    'password' | 'password_mfa' | 'sso',
    'password' | 'password_mfa' | 'sso' | undefined
  >;
  amr: ColumnType<string[] | null, string[] | null | undefined>;
  acr: ColumnType<string | null, string | null | undefined>;
}

export interface DevicesTable {
  org_id: string;
  id: Generated<string>;
  name: string;
  webhook_secret_enc: Buffer | null;
  token_hash: Buffer;
  token_hint: string;
  created_by: string;
  created_at: CreatedAt;
  last_seen_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface SetupTokensTable {
  id: Generated<string>;
  token_hash: Buffer;
  created_at: CreatedAt;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface AuditHeadsTable {
  org_id: string;
  seq: number;
  hash: Buffer;
}

/** Only org_id, seq, prev_hash, hash and canonical are written; the rest is generated from canonical. */
export interface AuditEventsTable {
  org_id: string;
  seq: number;
  prev_hash: Buffer;
  hash: Buffer;
  canonical: string;
  at: ColumnType<Date, never, never>;
  actor_type: ColumnType<string, never, never>;
  actor_id: ColumnType<string | null, never, never>;
  action: ColumnType<string, never, never>;
  subject_type: ColumnType<string, never, never>;
  subject_id: ColumnType<string | null, never, never>;
  meta: ColumnType<unknown, never, never>;
}

export interface AuditOutboxTable {
  org_id: string;
  id: Generated<number>;
  before_prev: string;
  between: string;
  after_seq: string;
}

export interface AuditCheckpointsTable {
  org_id: string;
  seq: number;
  hash: Buffer;
  at: Timestamp;
  key_name: string;
  note: string;
}

export interface AuditSigningKeysTable {
  id: Generated<number>;
  name: string;
  public_key: Buffer;
  valid_from: Timestamp;
}

export interface OrgSettingsTable {
  org_id: string;
  risk_policy: ColumnType<unknown, string | undefined, string>;
  escalation_policy: ColumnType<unknown, string | undefined, string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** Migration 0010: days a decided/expired handoff keeps its payload (0..365, 0 = never stored). */
  payload_retention_days: Generated<number>;
  /** Migration 0032: bumped by a trigger on every change (int8: a string from pg, a number from PGlite). */
  version: ColumnType<string | number, never, never>;
}

export interface HandoffsTable {
  org_id: string;
  id: string;
  short_code: string;
  device_id: string;
  status: 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';
  action_type: string;
  action_target: string | null;
  title: string;
  summary: string;
  options: ColumnType<unknown, string, string>;
  risk_level: 'low' | 'medium' | 'high' | 'critical';
  risk_reasons: string[];
  context: ColumnType<unknown, string, string>;
  required_approvals: number;
  totp_required: boolean;
  callback_url: string | null;
  idempotency_key: string | null;
  request_sha256: string;
  payload_sha256: Buffer | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  decided_at: Timestamp | null;
  decision_option: string | null;
  decided_by: string | null;
  decision_channel: string | null;
  decision_comment: string | null;
  /** Agent integrations (migration 0006): the tool call's fingerprint, and which call used the decision. */
  fingerprint: string | null;
  consumed_at: Timestamp | null;
  consumed_by: string | null;
  /** Migration 0010: when retention removed the payload (or, at creation, that it was never stored). */
  payload_removed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Migration 0028: where the summary people read came from, and the model's checked summary. */
  summary_source: ColumnType<
    'model' | 'deterministic' | null,
    'model' | 'deterministic' | null | undefined,
    'model' | 'deterministic' | null
  >;
  model_summary: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0018: the policy's minimum assurance, snapshotted at creation, and the decision's assurance. */
  min_assurance: ColumnType<'A1' | 'A2' | 'A3', 'A1' | 'A2' | 'A3' | undefined, never>;
  decision_assurance: ColumnType<unknown, string | null | undefined, string | null>;
  /** Migration 0025: why a deny denied (a closed code, src/core/approval/rejection.ts). */
  decision_reason: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface HandoffPayloadsTable {
  org_id: string;
  handoff_id: string;
  kind: string;
  salt: Buffer;
  content_enc: Buffer;
  created_at: CreatedAt;
}

export interface HandoffApprovalsTable {
  org_id: string;
  handoff_id: string;
  member_id: string;
  option: string;
  channel: string;
  comment: string | null;
  at: Timestamp;
  /** Migration 0018: the approval's assurance (level and facts, docs/assurance.md). */
  assurance: ColumnType<unknown, string | null | undefined, never>;
}

/** The first time a member opened a handoff, and first fetched its payload (migration 0020). */
export interface HandoffViewsTable {
  org_id: string;
  handoff_id: string;
  member_id: string;
  first_viewed_at: Timestamp;
  payload_expanded_at: Timestamp | null;
}

export interface EscalationAttemptsTable {
  org_id: string;
  id: Generated<string>;
  handoff_id: string;
  step: number;
  channel: string;
  at: Timestamp;
  outcome: string;
  skip_reason: Generated<SkipReason | null>;
}

export interface ChannelIdentitiesTable {
  org_id: string;
  id: Generated<string>;
  member_id: string;
  channel: 'slack' | 'telegram';
  external_id: string;
  label: string;
  created_at: Timestamp;
}

export interface ChannelMessagesTable {
  org_id: string;
  id: Generated<string>;
  handoff_id: string;
  channel: string;
  member_id: string | null;
  ref: string;
  created_at: Timestamp;
}

/** Migration 0013: what happened on a phone call; never audio, recordings or transcripts. */
export interface PhoneCallsTable {
  org_id: string;
  id: Generated<string>;
  handoff_id: string | null;
  member_id: string;
  provider: 'twilio' | 'signalwire' | 'telnyx' | 'plivo';
  provider_call_id: string;
  phone_masked: string;
  status: 'completed' | 'busy' | 'no_answer' | 'failed' | 'canceled';
  duration_s: number | null;
  outcome: string;
  ended_at: Timestamp;
}

export interface OrgChannelCredentialsTable {
  org_id: string;
  id: Generated<string>;
  kind: 'telegram' | 'telephony';
  route_id: string;
  account_key: string;
  /** Encrypted with the org's data key; never answered back. */
  config_enc: Buffer;
  /** Non-secret facts for the channel page; jsonb, written as a JSON string. */
  summary: ColumnType<Record<string, string>, string, string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SsoConfigsTable {
  org_id: string;
  issuer: string;
  client_id: string;
  client_secret_enc: Buffer;
  display_name: string;
  allowed_domains: string[];
  groups_claim: string;
  /** [{ group, role }]; jsonb, written as a JSON string. */
  role_mapping: ColumnType<{ group: string; role: Role }[], string, string>;
  default_role: Role | null;
  jit_provisioning: boolean;
  require_sso: boolean;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SsoIdentitiesTable {
  org_id: string;
  member_id: string;
  issuer: string;
  subject: string;
  created_at: Timestamp;
  last_login_at: Timestamp | null;
}

export interface SsoBreakGlassTable {
  org_id: string;
  member_id: string;
  created_at: Timestamp;
}

export interface MailTokensTable {
  org_id: string;
  id: Generated<string>;
  member_id: string;
  purpose: 'password_reset' | 'email_change';
  token_hash: Buffer;
  new_email: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface MailDeliveriesTable {
  org_id: string;
  id: Generated<string>;
  kind: string;
  member_id: string | null;
  recipient: string;
  status: 'queued' | 'sent' | 'failed';
  attempts: Generated<number>;
  max_attempts: number;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  sent_at: Timestamp | null;
}

export interface SignInDevicesTable {
  org_id: string;
  member_id: string;
  device_hash: Buffer;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
}

/** Exports (migration 0011): state only; the zip is produced at download time. */
export interface ExportsTable {
  org_id: string;
  id: string;
  scope: 'org' | 'member';
  requested_by: string;
  status: 'queued' | 'ready' | 'downloading' | 'downloaded' | 'failed' | 'expired';
  created_at: Timestamp;
  expires_at: Timestamp;
  ready_at: Timestamp | null;
  counts: ColumnType<unknown, string | null | undefined, string | null>;
  link_token_hash: Buffer | null;
  link_expires_at: Timestamp | null;
  downloaded_at: Timestamp | null;
  failure: 'prepare_failed' | 'stream_failed' | null;
}

export interface OrgErasuresTable {
  org_id: string;
  id: Generated<string>;
  requested_by: string;
  requested_at: Timestamp;
  erase_at: Timestamp;
  job_id: string | null;
  cancelled_by: string | null;
  cancelled_at: Timestamp | null;
}

export interface OrgKeyRotationsTable {
  org_id: string;
  to_key_id: string;
  started_at: Timestamp;
}

export interface OrgTombstonesTable {
  org_id_sha256: Buffer;
  last_seq: number;
  last_hash: Buffer;
  erased_at: Timestamp;
}

export interface DB {
  exports: ExportsTable;
  mail_tokens: MailTokensTable;
  mail_deliveries: MailDeliveriesTable;
  sign_in_devices: SignInDevicesTable;
  sso_configs: SsoConfigsTable;
  org_channel_credentials: OrgChannelCredentialsTable;
  sso_identities: SsoIdentitiesTable;
  sso_break_glass: SsoBreakGlassTable;
  channel_identities: ChannelIdentitiesTable;
  slack_installations: SlackInstallationsTable;
  slack_install_states: SlackInstallStatesTable;
  channel_messages: ChannelMessagesTable;
  org_settings: OrgSettingsTable;
  handoffs: HandoffsTable;
  handoff_payloads: HandoffPayloadsTable;
  handoff_approvals: HandoffApprovalsTable;
  handoff_views: HandoffViewsTable;
  escalation_attempts: EscalationAttemptsTable;
  audit_heads: AuditHeadsTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_signing_keys: AuditSigningKeysTable;
  audit_outbox: AuditOutboxTable;
  orgs: OrgsTable;
  org_keys: OrgKeysTable;
  org_erasures: OrgErasuresTable;
  org_key_rotations: OrgKeyRotationsTable;
  org_tombstones: OrgTombstonesTable;
  members: MembersTable;
  phone_calls: PhoneCallsTable;
  recovery_codes: RecoveryCodesTable;
  invites: InvitesTable;
  sessions: SessionsTable;
  devices: DevicesTable;
  setup_tokens: SetupTokensTable;
  passkeys: PasskeysTable;
  push_subscriptions: PushSubscriptionsTable;
  passkey_challenges: PasskeyChallengesTable;
}
