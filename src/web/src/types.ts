import type { RejectionReason } from '../../core/approval/rejection.js';
/** The API's answers as the dashboard reads them (see /openapi.json). */

/** How strong an answer was (docs/assurance.md): the level and the three facts it comes from. */
export interface Assurance {
  readonly level: 'A1' | 'A2' | 'A3';
  readonly channel: 'web' | 'slack' | 'telegram' | 'sms' | 'phone';
  readonly session_age_s: number | null;
  readonly step_up: 'none' | 'totp' | 'passkey';
  readonly identity: 'password' | 'password_mfa' | 'sso' | 'chat_link' | 'phone_number';
  readonly amr: readonly string[] | null;
  readonly acr: string | null;
}

export type Role = 'viewer' | 'member' | 'admin';
export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';
export type HandoffStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';

export interface Member {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly role: Role;
  readonly status: string;
  readonly phone: string | null;
  /** The number was proved with a code; calls and SMS reach only a verified number. */
  readonly phone_verified: boolean;
  readonly totp_enabled: boolean;
  readonly created_at: string;
  readonly deactivated_at: string | null;
  /** Your own profile only: the IANA timezone times are shown in; null = the browser's. */
  readonly timezone?: string | null;
}

export interface SessionInfo {
  readonly csrf_token: string;
  readonly org_id: string;
  readonly member: Member;
}

export interface SessionAnswer {
  readonly org_id: string;
  readonly member_id: string;
  readonly csrf_token: string;
  readonly expires_at: string;
}

export interface Handoff {
  readonly id: string;
  readonly short_code: string;
  readonly status: HandoffStatus;
  readonly action: { readonly type: string; readonly target: string | null };
  readonly title: string;
  readonly summary: string;
  /** docs/summarizer.md: `model` when model_summary holds a model's checked summary. */
  readonly summary_source: 'model' | 'deterministic' | null;
  readonly model_summary: string | null;
  readonly risk: { readonly level: RiskLevel; readonly reasons: readonly string[] };
  readonly options: readonly { readonly id: string; readonly label: string }[];
  readonly approvals: { readonly required: number; readonly received: number };
  readonly totp_required: boolean;
  readonly decision: {
    readonly option: string;
    readonly outcome: 'approved' | 'denied';
    readonly decided_by: { readonly member_id: string; readonly name: string } | null;
    readonly channel: string;
    /** A deny's reason code (src/core/approval/rejection.ts); older servers send none. */
    readonly reason?: RejectionReason | null;
    readonly comment: string | null;
    readonly at: string;
    /** docs/assurance.md; null for a decision by policy or one made before assurance was recorded. */
    readonly assurance: Assurance | null;
  } | null;
  readonly min_assurance?: Assurance['level'];
  readonly expires_at: string;
  readonly created_at: string;
  /** What became of the payload (retention may remove it; an org may keep none). */
  readonly payload?: {
    readonly status: 'none' | 'stored' | 'removed' | 'not_stored';
    readonly removed_at: string | null;
    readonly note: string | null;
  };
}

/** GET /v1/dashboard/handoffs and the org stream: the view and its device. */
export interface HandoffRow {
  readonly handoff: Handoff;
  readonly device: { readonly id: string; readonly name: string } | null;
}

export interface HandoffDetail {
  readonly handoff: Handoff;
  readonly device: { readonly id: string; readonly name: string } | null;
  readonly payload: { readonly kind: string; readonly content: string } | null;
  /** A payload is kept but was left out (?payload=omit): "Show payload" fetches it. */
  readonly payload_withheld: boolean;
  readonly context: Readonly<Record<string, string>>;
  readonly reasons: readonly {
    readonly code: string;
    readonly level: string | null;
    readonly explanation: string | null;
  }[];
  readonly approvals: readonly {
    readonly member_id: string;
    readonly name: string | null;
    readonly option: string;
    readonly channel: string;
    readonly at: string;
    readonly assurance: Assurance | null;
  }[];
  readonly attempts: readonly {
    readonly step: number;
    readonly channel: string;
    readonly at: string;
    readonly outcome: string;
    readonly skip_reason: 'rate_limited' | 'no_reply_code' | 'no_address' | null;
  }[];
}

/** GET /v1/handoffs/{id}/calls: one phone call made for a handoff (no audio, no content). */
export interface CallRecord {
  readonly id: string;
  readonly member_id: string;
  readonly provider: string;
  readonly provider_call_id: string;
  /** Masked, e.g. +1•••••••4567. */
  readonly phone: string;
  /** completed, busy, no_answer, failed or canceled. */
  readonly status: string;
  readonly duration_s: number | null;
  /** approved, denied, recorded, refused, no_input, voicemail, totp_failed, hung_up or not_answered. */
  readonly outcome: string;
  readonly ended_at: string;
}

export interface DeviceName {
  readonly id: string;
  readonly name: string;
}
