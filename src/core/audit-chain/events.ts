/**
 * Audit event builders: one per action, each taking typed inputs and copying only allow-listed
 * fields into `meta` (DESIGN.md §3.4: never payloads, commands, secrets, tokens, passwords, TOTP
 * codes or full phone numbers). Free-text labels (org and device names) pass through the redactor
 * and are bounded, so even a secret pasted into a name does not reach the chain.
 */
import { redact } from '../redact/index.js';
import type { Assurance } from '../approval/assurance.js';
import { isRejectionReason, type RejectionReason } from '../approval/rejection.js';
import type { ActorType, AuditEvent } from './entry.js';
import type { SkipReason } from '../policy/attempt-outcome.js';

export const AUDIT_ACTIONS = [
  'org.created',
  'org.erasure_scheduled',
  'org.erasure_cancelled',
  'org.data_key_rotated',
  'member.created',
  'member.invited',
  'invite.revoked',
  'invite.accepted',
  'member.role_changed',
  'member.deactivated',
  'member.reactivated',
  'member.profile_updated',
  'member.password_changed',
  'member.totp_enrolled',
  'member.totp_disabled',
  'member.totp_reset',
  'member.passkey_added',
  'member.passkey_removed',
  'member.passkeys_reset',
  'member.password_reset',
  'member.email_changed',
  'member.channel_linked',
  'member.channel_unlinked',
  'member.phone_verified',
  'member.sso_linked',
  'member.provisioned',
  'member.erased',
  'sso.configured',
  'sso.removed',
  'slack.installed',
  'slack.uninstalled',
  'device.created',
  'device.renamed',
  'device.revoked',
  'channel.tested',
  'channel.credentials_set',
  'channel.credentials_removed',
  'policy.updated',
  'retention.updated',
  'retention.swept',
  'handoff.created',
  'handoff.escalated',
  'handoff.approval_recorded',
  'handoff.decided',
  'handoff.step_up_failed',
  'handoff.expired',
  'handoff.cancelled',
  'handoff.extended',
  'export.requested',
  'export.downloaded',
  'audit.exported',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * Why an agent withdrew a pending handoff, when it says. `local_prompt`: the Claude Code hook
 * answered `ask` (ONY_HOOK_ON_PENDING=ask), so the person at the agent's own prompt decides instead.
 */
export const CANCEL_REASONS = ['local_prompt'] as const;
export type CancelReason = (typeof CANCEL_REASONS)[number];

export type Role = 'admin' | 'member' | 'viewer';

/** Who did it: a member, an agent device, or the system (an operator command on the server). */
export interface Actor {
  readonly type: ActorType;
  readonly id: string | null;
}

export const systemActor: Actor = { type: 'system', id: null };

const LABEL_MAX = 100;
/** A user-chosen label, redacted and bounded. */
export const safeLabel = (text: string): string => redact(text).text.slice(0, LABEL_MAX);

/**
 * An answer's assurance in the chain (docs/assurance.md): the level and its three facts. No secret:
 * the step-up says which kind was verified, never the code or the assertion; amr/acr are the
 * provider's method names.
 */
const assuranceMeta = (a: Assurance) => ({
  level: a.level,
  channel: a.channel,
  session_age_s: a.session_age_s,
  step_up: a.step_up,
  identity: a.identity,
  amr: a.amr === null ? null : [...a.amr],
  acr: a.acr,
});

function event(
  actor: Actor,
  action: AuditAction,
  subjectType: string,
  subjectId: string | null,
  meta: AuditEvent['meta'] = {},
): AuditEvent {
  return { actorType: actor.type, actorId: actor.id, action, subjectType, subjectId, meta };
}

export const auditEvents = {
  orgCreated: (actor: Actor, org: { readonly id: string; readonly name: string; readonly slug: string }) =>
    event(actor, 'org.created', 'org', org.id, { name: safeLabel(org.name), slug: org.slug }),

  orgErasureScheduled: (actor: Actor, e: { readonly id: string; readonly eraseAt: Date }) =>
    event(actor, 'org.erasure_scheduled', 'org_erasure', e.id, { erase_at: e.eraseAt.toISOString() }),

  orgErasureCancelled: (actor: Actor, e: { readonly id: string }) =>
    event(actor, 'org.erasure_cancelled', 'org_erasure', e.id),

  /** `ony keys rotate --data` finished re-encrypting the org's secrets under a fresh data key. */
  orgDataKeyRotated: (key: { readonly id: string }, reencrypted: number) =>
    event(systemActor, 'org.data_key_rotated', 'org_key', key.id, { reencrypted }),

  memberCreated: (actor: Actor, member: { readonly id: string; readonly role: Role }) =>
    event(actor, 'member.created', 'member', member.id, { role: member.role }),

  memberInvited: (actor: Actor, invite: { readonly id: string; readonly role: Role }) =>
    event(actor, 'member.invited', 'invite', invite.id, { role: invite.role }),

  inviteRevoked: (actor: Actor, invite: { readonly id: string }) =>
    event(actor, 'invite.revoked', 'invite', invite.id),

  inviteAccepted: (
    actor: Actor,
    invite: { readonly id: string },
    member: { readonly id: string; readonly role: Role },
  ) => event(actor, 'invite.accepted', 'member', member.id, { invite_id: invite.id, role: member.role }),

  memberRoleChanged: (actor: Actor, member: { readonly id: string }, from: Role, to: Role) =>
    event(actor, 'member.role_changed', 'member', member.id, { from, to }),

  memberDeactivated: (actor: Actor, member: { readonly id: string }) =>
    event(actor, 'member.deactivated', 'member', member.id),

  /** Which channel only: the person's id on it is personal data and stays out of the chain. */
  memberChannelLinked: (actor: Actor, member: { readonly id: string }, channel: string) =>
    event(actor, 'member.channel_linked', 'member', member.id, { channel }),

  memberChannelUnlinked: (actor: Actor, member: { readonly id: string }, channel: string) =>
    event(actor, 'member.channel_unlinked', 'member', member.id, { channel }),

  /** How the code was delivered; never the number or the code. */
  memberPhoneVerified: (actor: Actor, member: { readonly id: string }, via: 'sms' | 'call') =>
    event(actor, 'member.phone_verified', 'member', member.id, { via }),

  /** The issuer only: the provider's subject identifies a person and stays out of the chain. */
  memberSsoLinked: (actor: Actor, member: { readonly id: string }, issuer: string) =>
    event(actor, 'member.sso_linked', 'member', member.id, { issuer: issuer.slice(0, 500) }),

  /** Created just in time at a first single sign-on. */
  memberProvisioned: (actor: Actor, member: { readonly id: string; readonly role: Role }, via: 'sso') =>
    event(actor, 'member.provisioned', 'member', member.id, { role: member.role, via }),

  /** Never the client secret: only whether it changed. */
  ssoConfigured: (
    actor: Actor,
    orgId: string,
    c: {
      issuer: string;
      created: boolean;
      secretChanged: boolean;
      requireSso: boolean;
      jitProvisioning: boolean;
      mappedGroups: number;
      breakGlassAdmins: number;
    },
  ) =>
    event(actor, 'sso.configured', 'org', orgId, {
      issuer: c.issuer.slice(0, 500),
      created: c.created,
      secret_changed: c.secretChanged,
      require_sso: c.requireSso,
      jit_provisioning: c.jitProvisioning,
      mapped_groups: c.mappedGroups,
      break_glass_admins: c.breakGlassAdmins,
    }),

  ssoRemoved: (actor: Actor, orgId: string) => event(actor, 'sso.removed', 'org', orgId),

  /** The org's own bot or phone account: the kind and provider, never a credential or a number. */
  channelCredentialsSet: (
    actor: Actor,
    orgId: string,
    c: { kind: 'telegram' | 'telephony'; provider: string; created: boolean },
  ) =>
    event(actor, 'channel.credentials_set', 'org', orgId, {
      kind: c.kind,
      provider: c.provider,
      created: c.created,
    }),

  channelCredentialsRemoved: (actor: Actor, orgId: string, kind: 'telegram' | 'telephony') =>
    event(actor, 'channel.credentials_removed', 'org', orgId, { kind }),
  /** The org's own Slack workspace was connected ("Add to Slack"); never the bot token. */
  slackInstalled: (actor: Actor, team: { readonly id: string }, replaced: boolean) =>
    event(actor, 'slack.installed', 'slack_team', team.id, { replaced }),

  /** The org's Slack installation was removed: by an admin, or by Slack (app uninstalled, token revoked). */
  slackUninstalled: (
    actor: Actor,
    team: { readonly id: string },
    reason: 'admin' | 'app_uninstalled' | 'tokens_revoked',
  ) => event(actor, 'slack.uninstalled', 'slack_team', team.id, { reason }),

  memberReactivated: (actor: Actor, member: { readonly id: string }) =>
    event(actor, 'member.reactivated', 'member', member.id),

  /** Names which fields changed, never their values (a phone number is PII). */
  memberProfileUpdated: (
    actor: Actor,
    member: { readonly id: string },
    changed: { readonly name?: unknown; readonly phone?: unknown; readonly timezone?: unknown },
  ) =>
    event(actor, 'member.profile_updated', 'member', member.id, {
      fields: (['name', 'phone', 'timezone'] as const).filter((f) => changed[f] !== undefined),
    }),

  memberPasswordChanged: (actor: Actor, member: { readonly id: string }) =>
    event(actor, 'member.password_changed', 'member', member.id),

  memberTotpEnrolled: (actor: Actor, member: { readonly id: string }) =>
    event(actor, 'member.totp_enrolled', 'member', member.id),

  memberTotpDisabled: (actor: Actor, member: { readonly id: string }) =>
    event(actor, 'member.totp_disabled', 'member', member.id),

  memberTotpReset: (actor: Actor, member: { readonly id: string }) =>
    event(actor, 'member.totp_reset', 'member', member.id),

  /** A passkey enrolled: its id and (redacted) name, never the credential id or public key. */
  memberPasskeyAdded: (
    actor: Actor,
    member: { readonly id: string },
    passkey: { readonly id: string; readonly name: string },
  ) =>
    event(actor, 'member.passkey_added', 'member', member.id, {
      passkey_id: passkey.id,
      name: safeLabel(passkey.name),
    }),

  memberPasskeyRemoved: (actor: Actor, member: { readonly id: string }, passkey: { readonly id: string }) =>
    event(actor, 'member.passkey_removed', 'member', member.id, { passkey_id: passkey.id }),

  /** An admin removed every passkey of a member (lost device): how many, nothing else. */
  memberPasskeysReset: (actor: Actor, member: { readonly id: string }, removed: number) =>
    event(actor, 'member.passkeys_reset', 'member', member.id, { removed }),

  /** A password set through a mailed reset link (the member's sessions ended). */
  memberPasswordReset: (actor: Actor, member: { readonly id: string }) =>
    event(actor, 'member.password_reset', 'member', member.id),

  /** Neither address: an email address is personal data and stays out of the chain. */
  memberEmailChanged: (actor: Actor, member: { readonly id: string }) =>
    event(actor, 'member.email_changed', 'member', member.id),

  /** The person is gone (name, email, phone, linked identities, TOTP, sessions); the id stays as a pseudonym. */
  memberErased: (actor: Actor, member: { readonly id: string }, self: boolean) =>
    event(actor, 'member.erased', 'member', member.id, { self }),

  deviceCreated: (actor: Actor, device: { readonly id: string; readonly name: string }) =>
    event(actor, 'device.created', 'device', device.id, { name: safeLabel(device.name) }),

  deviceRenamed: (actor: Actor, device: { readonly id: string; readonly name: string }) =>
    event(actor, 'device.renamed', 'device', device.id, { name: safeLabel(device.name) }),

  deviceRevoked: (actor: Actor, device: { readonly id: string }) =>
    event(actor, 'device.revoked', 'device', device.id),

  /** An admin sent a channel's test message to themselves (docs: the dashboard's Channels page). */
  channelTested: (actor: Actor, channel: string, outcome: 'sent' | 'failed') =>
    event(actor, 'channel.tested', 'channel', channel.slice(0, 32), { outcome }),

  policyUpdated: (actor: Actor, orgId: string, changed: readonly ('risk_policy' | 'escalation_policy')[]) =>
    event(actor, 'policy.updated', 'org', orgId, { fields: [...changed] }),

  retentionUpdated: (actor: Actor, orgId: string, from: number, to: number) =>
    event(actor, 'retention.updated', 'org', orgId, { from_days: from, to_days: to }),

  /** One sweep of the org's expired payloads (docs/privacy.md): counts only. */
  retentionSwept: (
    orgId: string,
    r: {
      readonly retentionDays: number;
      readonly cutoff: Date;
      readonly removed: number;
      readonly batches: number;
    },
  ) =>
    event(systemActor, 'retention.swept', 'org', orgId, {
      retention_days: r.retentionDays,
      cutoff: r.cutoff.toISOString(),
      removed: r.removed,
      batches: r.batches,
    }),

  /** Never the payload: its salted SHA-256 only (the salt lives with the payload and goes with it). */
  handoffCreated: (
    actor: Actor,
    h: {
      readonly id: string;
      readonly shortCode: string;
      readonly actionType: string;
      readonly riskLevel: string;
      readonly riskReasons: readonly string[];
      readonly requiredApprovals: number;
    },
    payloadSha256: string | null,
  ) =>
    event(actor, 'handoff.created', 'handoff', h.id, {
      short_code: h.shortCode,
      action_type: h.actionType,
      risk_level: h.riskLevel,
      reasons: [...h.riskReasons],
      required_approvals: h.requiredApprovals,
      payload_sha256: payloadSha256,
    }),

  /**
   * An escalation step ran: its outcome (`sent`, `skipped`, `failed`, `channel_not_configured`) and,
   * when recipients were skipped on purpose, how many and the closed-enum reason.
   */
  handoffEscalated: (
    h: { readonly id: string },
    step: number,
    channel: string,
    targets: number,
    r: { readonly outcome: string; readonly skipped: number; readonly skipReason: SkipReason | null },
  ) =>
    event(systemActor, 'handoff.escalated', 'handoff', h.id, {
      step,
      channel,
      targets,
      outcome: r.outcome,
      ...(r.skipReason !== null && { skipped: r.skipped, skip_reason: r.skipReason }),
    }),

  handoffApprovalRecorded: (
    actor: Actor,
    h: { readonly id: string },
    v: { option: string; channel: string; received: number; required: number; assurance: Assurance },
  ) =>
    event(actor, 'handoff.approval_recorded', 'handoff', h.id, {
      option: v.option,
      channel: v.channel,
      received: v.received,
      required: v.required,
      assurance: assuranceMeta(v.assurance),
    }),

  /** Wrong TOTP codes ended a step-up (a phone call after three); nothing was decided. */
  handoffStepUpFailed: (actor: Actor, h: { readonly id: string }, f: { channel: string; attempts: number }) =>
    event(actor, 'handoff.step_up_failed', 'handoff', h.id, { channel: f.channel, attempts: f.attempts }),

  /**
   * The comment is a human's free text: the handoff row keeps it, the chain does not. A deny's
   * `reason` is a closed code (src/core/approval/rejection.ts), so it is.
   */
  handoffDecided: (
    actor: Actor,
    h: { readonly id: string },
    d: {
      option: string;
      outcome: 'approved' | 'denied';
      channel: string;
      assurance: Assurance;
      reason?: RejectionReason | null;
    },
  ) =>
    event(actor, 'handoff.decided', 'handoff', h.id, {
      option: d.option,
      outcome: d.outcome,
      channel: d.channel,
      assurance: assuranceMeta(d.assurance),
      ...(d.reason != null && isRejectionReason(d.reason) ? { reason: d.reason } : {}),
    }),

  /** A member gave a pending handoff more time: the expiry before and after, and the seconds added. */
  handoffExtended: (
    actor: Actor,
    h: { readonly id: string },
    e: { readonly from: Date; readonly to: Date },
  ) =>
    event(actor, 'handoff.extended', 'handoff', h.id, {
      expires_at_before: e.from.toISOString(),
      expires_at: e.to.toISOString(),
      added_s: Math.round((e.to.getTime() - e.from.getTime()) / 1000),
    }),

  /** The org's rule for this risk level decided it on arrival (no human asked). */
  handoffDecidedByPolicy: (
    h: { readonly id: string; readonly riskLevel: string },
    /** `by`: the org's MCP tool rule that decided it (`mcp_tools[2]`), when not the level's rule. */
    d: { option: string; outcome: 'approved' | 'denied'; rule: 'allow' | 'deny'; by?: string },
  ) =>
    event(systemActor, 'handoff.decided', 'handoff', h.id, {
      option: d.option,
      outcome: d.outcome,
      channel: 'policy',
      rule: d.rule,
      risk_level: h.riskLevel,
      ...(d.by !== undefined ? { by: d.by } : {}),
    }),

  handoffExpired: (h: { readonly id: string }) =>
    event(systemActor, 'handoff.expired', 'handoff', h.id, { outcome: 'denied' }),

  /** The agent withdrew it; `reason` when it said why (a closed code, never free text). */
  handoffCancelled: (actor: Actor, h: { readonly id: string }, reason?: CancelReason) =>
    event(actor, 'handoff.cancelled', 'handoff', h.id, reason !== undefined ? { reason } : {}),

  /** An org export (admin) or a member's export of their own data was asked for. */
  exportRequested: (actor: Actor, x: { readonly id: string; readonly scope: 'org' | 'member' }) =>
    event(actor, 'export.requested', 'export', x.id, { scope: x.scope }),

  /** Its single-use link was used: the zip was streamed to the one who asked. */
  exportDownloaded: (actor: Actor, x: { readonly id: string; readonly scope: 'org' | 'member' }) =>
    event(actor, 'export.downloaded', 'export', x.id, { scope: x.scope }),

  /** An admin downloaded the audit view as CSV; which filters it had (ids, action, times). */
  auditExported: (
    actor: Actor,
    filters: {
      readonly action: string | null;
      readonly actorId: string | null;
      readonly from: string | null;
      readonly to: string | null;
    },
  ) =>
    event(actor, 'audit.exported', 'audit', null, {
      action: filters.action,
      actor_id: filters.actorId,
      from: filters.from,
      to: filters.to,
    }),
} satisfies Record<string, (...args: never[]) => AuditEvent>;
