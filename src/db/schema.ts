/** The Kysely view of the database. Rows stay in repositories; services see domain types. */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export type Role = 'admin' | 'member' | 'viewer';
export const ROLES = ['admin', 'member', 'viewer'] as const satisfies readonly Role[];

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
}

export interface RecoveryCodesTable {
  org_id: string;
  member_id: string;
  code_hash: Buffer;
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
}

export interface DevicesTable {
  org_id: string;
  id: Generated<string>;
  name: string;
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

export interface DB {
  audit_heads: AuditHeadsTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_outbox: AuditOutboxTable;
  orgs: OrgsTable;
  org_keys: OrgKeysTable;
  members: MembersTable;
  recovery_codes: RecoveryCodesTable;
  invites: InvitesTable;
  sessions: SessionsTable;
  devices: DevicesTable;
  setup_tokens: SetupTokensTable;
}
