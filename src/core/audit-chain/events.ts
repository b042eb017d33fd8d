/**
 * Audit event builders: one per action, each taking typed inputs and copying only allow-listed
 * fields into `meta` (DESIGN.md §3.4: never payloads, commands, secrets, tokens, passwords, TOTP
 * codes or full phone numbers). Free-text labels (org and device names) pass through the redactor
 * and are bounded, so even a secret pasted into a name does not reach the chain.
 */
import { redact } from '../redact/index.js';
import type { ActorType, AuditEvent } from './entry.js';

export const AUDIT_ACTIONS = [
  'org.created',
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
  'device.created',
  'device.renamed',
  'device.revoked',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

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

  memberReactivated: (actor: Actor, member: { readonly id: string }) =>
    event(actor, 'member.reactivated', 'member', member.id),

  /** Names which fields changed, never their values (a phone number is PII). */
  memberProfileUpdated: (
    actor: Actor,
    member: { readonly id: string },
    changed: { readonly name?: unknown; readonly phone?: unknown },
  ) =>
    event(actor, 'member.profile_updated', 'member', member.id, {
      fields: (['name', 'phone'] as const).filter((f) => changed[f] !== undefined),
    }),

  memberPasswordChanged: (actor: Actor, member: { readonly id: string }) =>
    event(actor, 'member.password_changed', 'member', member.id),

  memberTotpEnrolled: (actor: Actor, member: { readonly id: string }) =>
    event(actor, 'member.totp_enrolled', 'member', member.id),

  memberTotpDisabled: (actor: Actor, member: { readonly id: string }) =>
    event(actor, 'member.totp_disabled', 'member', member.id),

  memberTotpReset: (actor: Actor, member: { readonly id: string }) =>
    event(actor, 'member.totp_reset', 'member', member.id),

  deviceCreated: (actor: Actor, device: { readonly id: string; readonly name: string }) =>
    event(actor, 'device.created', 'device', device.id, { name: safeLabel(device.name) }),

  deviceRenamed: (actor: Actor, device: { readonly id: string; readonly name: string }) =>
    event(actor, 'device.renamed', 'device', device.id, { name: safeLabel(device.name) }),

  deviceRevoked: (actor: Actor, device: { readonly id: string }) =>
    event(actor, 'device.revoked', 'device', device.id),
} satisfies Record<string, (...args: never[]) => AuditEvent>;
