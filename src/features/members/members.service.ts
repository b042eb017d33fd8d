/**
 * Team management (admin) and the member's own profile. Invites are single-use token links;
 * deactivation keeps the row and revokes access; an org always keeps one active admin.
 */
import { sql, type Kysely } from 'kysely';
import { withApp, withTenant, type TenantTx } from '../../db/client.js';
import type { DB, Role } from '../../db/schema.js';
import type { Config } from '../../config/index.js';
import type { Clock } from '../../lib/clock.js';
import { newToken, sha256 } from '../../lib/crypto.js';
import { AppError, notFound } from '../../lib/errors.js';
import { isE164 } from '../../lib/phone.js';
import { revokeSessions } from '../auth/sessions.repository.js';
import { auditEvents } from '../../core/audit-chain/events.js';
import { appendAudit } from '../audit/audit.repository.js';
import { assertPasswordPolicy, hashPassword } from '../auth/password.js';
import type { AuthService, NewSession } from '../auth/auth.service.js';
import { actorOf, type Principal } from '../auth/principal.js';
import type { Revocation } from '../auth/revocation.js';
import {
  countActiveAdmins,
  eraseMember,
  findMember,
  findMemberByEmail,
  insertMember,
  isErased,
  listMembers,
  lockMember,
  replaceRecoveryCodes,
  updateMember,
  type Member,
} from './members.repository.js';
import { insertInvite, listOpenInvites, lockInvite, markInvite, type Invite } from './invites.repository.js';
import { ssoRequired } from '../sso/sso.repository.js';
import type { MailNotices } from '../mail/mail.notices.js';
import { canonicalTimeZone } from '../../core/time/time-zone.js';

export const INVITE_PREFIX = 'ony_inv_';
const INVITE_TTL_MS = 7 * 86400 * 1000;

export interface MembersDeps {
  readonly db: Kysely<DB>;
  readonly config: Pick<Config, 'publicUrl'>;
  readonly clock: Clock;
  readonly auth: Pick<AuthService, 'createSession'>;
  /** Mails the invite link and the security notices of role changes and TOTP resets (docs/mail.md). */
  readonly notices: Pick<MailNotices, 'invite' | 'totpReset' | 'roleChanged'>;
  /** Closes the open streams and long-polls of a member whose sessions end. */
  readonly revocation: Pick<Revocation, 'publish'>;
}

type MemberPrincipal = Principal & { kind: 'member' };

export function createMembersService(deps: MembersDeps) {
  const { db, config, clock, auth, notices, revocation } = deps;
  const revokeMember = (p: MemberPrincipal, memberId: string) =>
    revocation.publish({ kind: 'member', orgId: p.orgId, memberId });

  /** Keeps the last active admin from being demoted or deactivated. */
  async function assertKeepsAnAdmin(tx: TenantTx, target: Member, next: { role?: Role; active?: boolean }) {
    const losesAdmin =
      target.role === 'admin' &&
      target.status === 'active' &&
      ((next.role !== undefined && next.role !== 'admin') || next.active === false);
    if (losesAdmin && (await countActiveAdmins(tx)) <= 1) throw new AppError('last_admin');
  }

  /** A member row that is still a person: an erased one is only a pseudonym, as good as gone (404). */
  async function lockLiveMember(tx: TenantTx, memberId: string): Promise<Member | undefined> {
    const target = await lockMember(tx, memberId);
    return target === undefined || (await isErased(tx, memberId)) ? undefined : target;
  }

  async function eraseIn(p: MemberPrincipal, memberId: string, self: boolean): Promise<void> {
    await withTenant(db, p.orgId, async (tx) => {
      const target = await lockLiveMember(tx, memberId);
      if (target === undefined) throw notFound('member');
      await assertKeepsAnAdmin(tx, target, { active: false });
      const now = clock.now();
      if (!(await eraseMember(tx, memberId, now))) throw notFound('member');
      await appendAudit(tx, auditEvents.memberErased(actorOf(p), target, self), now);
    });
    await revokeMember(p, memberId);
  }

  return {
    list(p: MemberPrincipal): Promise<Member[]> {
      return withTenant(db, p.orgId, (tx) => listMembers(tx));
    },

    async invite(
      p: MemberPrincipal,
      input: { email: string; role: Role },
    ): Promise<{ invite: Invite; url: string; token: string }> {
      const email = input.email.trim().toLowerCase();
      return withTenant(db, p.orgId, async (tx) => {
        if (await findMemberByEmail(tx, email))
          throw new AppError('conflict', 'a member with this email already exists');
        const now = clock.now();
        const token = newToken(INVITE_PREFIX);
        const invite = await insertInvite(tx, {
          email,
          role: input.role,
          tokenHash: sha256(token),
          invitedBy: p.memberId,
          now,
          expiresAt: new Date(now.getTime() + INVITE_TTL_MS),
        });
        await appendAudit(tx, auditEvents.memberInvited(actorOf(p), invite), now);
        const url = `${config.publicUrl}/invite#${token}`;
        const inviter = await findMember(tx, p.memberId);
        await notices.invite(tx, {
          email,
          inviterName: inviter?.name ?? 'An admin',
          role: invite.role,
          url,
          expiresAt: invite.expiresAt,
        });
        return { invite, token, url };
      });
    },

    listInvites(p: MemberPrincipal): Promise<Invite[]> {
      return withTenant(db, p.orgId, (tx) => listOpenInvites(tx, clock.now()));
    },

    async revokeInvite(p: MemberPrincipal, id: string): Promise<void> {
      await withTenant(db, p.orgId, async (tx) => {
        const invite = await lockInvite(tx, id);
        if (invite === undefined) throw notFound('invite');
        if (invite.acceptedAt !== null || invite.revokedAt !== null)
          throw new AppError('conflict', 'invite is no longer open');
        const now = clock.now();
        await markInvite(tx, id, { revokedAt: now });
        await appendAudit(tx, auditEvents.inviteRevoked(actorOf(p), invite), now);
      });
    },

    /** Accepts an invite: creates the member and signs them in. A used or expired token is 410. */
    async acceptInvite(input: {
      token: string;
      name: string;
      password: string;
      userAgent: string | null;
      /** The client's address: the first sign-in device is recorded (no notice for it). */
      ip?: string;
    }): Promise<NewSession> {
      assertPasswordPolicy(input.password);
      const hit = input.token.startsWith(INVITE_PREFIX)
        ? await withApp(db, async (tx) =>
            (
              await sql<{
                org_id: string;
                invite_id: string;
              }>`select org_id, invite_id from ony_resolve_invite(${sha256(input.token)})`.execute(tx)
            ).rows.at(0),
          )
        : undefined;
      if (hit === undefined) throw new AppError('gone', 'this invite link is not valid');
      const passwordHash = await hashPassword(input.password);
      return withTenant(db, hit.org_id, async (tx) => {
        const invite = await lockInvite(tx, hit.invite_id);
        const now = clock.now();
        if (invite === undefined || invite.acceptedAt !== null || invite.revokedAt !== null) {
          throw new AppError('gone', 'this invite was already used or revoked');
        }
        if (invite.expiresAt <= now)
          throw new AppError('gone', 'this invite has expired; ask an admin for a new one');
        // A password account would bypass the org's SSO rule: the invite is used at the first SSO sign-in.
        if (await ssoRequired(tx))
          throw new AppError(
            'forbidden',
            'this organization requires single sign-on: sign in with your identity provider to accept the invite',
            { reason: 'sso_required' },
          );
        if (await findMemberByEmail(tx, invite.email))
          throw new AppError('conflict', 'a member with this email already exists');
        const member = await insertMember(tx, {
          email: invite.email,
          name: input.name,
          role: invite.role,
          passwordHash,
        });
        await markInvite(tx, invite.id, { acceptedAt: now });
        await appendAudit(
          tx,
          auditEvents.inviteAccepted({ type: 'member', id: member.id }, invite, member),
          now,
        );
        return auth.createSession(tx, member.id, input.userAgent, input.ip);
      });
    },

    async changeRole(p: MemberPrincipal, memberId: string, role: Role): Promise<Member> {
      return withTenant(db, p.orgId, async (tx) => {
        const target = await lockLiveMember(tx, memberId);
        if (target === undefined) throw notFound('member');
        if (target.role === role) return target;
        await assertKeepsAnAdmin(tx, target, { role });
        const now = clock.now();
        await updateMember(tx, memberId, { role }, now);
        await appendAudit(tx, auditEvents.memberRoleChanged(actorOf(p), target, target.role, role), now);
        await notices.roleChanged(tx, target, target.role, role, now);
        return (await findMember(tx, memberId))!;
      });
    },

    async deactivate(p: MemberPrincipal, memberId: string): Promise<Member> {
      const member = await withTenant(db, p.orgId, async (tx) => {
        const target = await lockMember(tx, memberId);
        if (target === undefined) throw notFound('member');
        if (target.status === 'deactivated') return target;
        await assertKeepsAnAdmin(tx, target, { active: false });
        const now = clock.now();
        await updateMember(tx, memberId, { status: 'deactivated', deactivatedAt: now }, now);
        await revokeSessions(tx, memberId, now);
        await appendAudit(tx, auditEvents.memberDeactivated(actorOf(p), target), now);
        return (await findMember(tx, memberId))!;
      });
      await revokeMember(p, memberId);
      return member;
    },

    async reactivate(p: MemberPrincipal, memberId: string): Promise<Member> {
      return withTenant(db, p.orgId, async (tx) => {
        const target = await lockLiveMember(tx, memberId);
        if (target === undefined) throw notFound('member');
        if (target.status === 'active') return target;
        const now = clock.now();
        await updateMember(tx, memberId, { status: 'active', deactivatedAt: null }, now);
        await appendAudit(tx, auditEvents.memberReactivated(actorOf(p), target), now);
        return (await findMember(tx, memberId))!;
      });
    },

    /**
     * Deletes a person (issue #10 item 3): everything that identifies or reaches them is erased, the
     * member id stays as a pseudonym so their decisions and the audit chain stay intact. The last
     * active admin cannot be deleted (409 last_admin); an unknown or already erased member is 404.
     */
    async erase(p: MemberPrincipal, memberId: string): Promise<void> {
      await eraseIn(p, memberId, false);
    },

    /** A member deletes themselves: the same erasure, audited as their own request. */
    async eraseSelf(p: MemberPrincipal): Promise<void> {
      await eraseIn(p, p.memberId, true);
    },

    /** An admin clears a member's TOTP (lost phone); the member enrols again. Their sessions end. */
    async resetTotp(p: MemberPrincipal, memberId: string): Promise<void> {
      await withTenant(db, p.orgId, async (tx) => {
        const target = await lockLiveMember(tx, memberId);
        if (target === undefined) throw notFound('member');
        const now = clock.now();
        await updateMember(
          tx,
          memberId,
          { totpSecretEnc: null, totpEnabledAt: null, totpLastStep: null },
          now,
        );
        await replaceRecoveryCodes(tx, memberId, []);
        await revokeSessions(tx, memberId, now);
        await appendAudit(tx, auditEvents.memberTotpReset(actorOf(p), target), now);
        await notices.totpReset(tx, target, now);
      });
      await revokeMember(p, memberId);
    },

    async updateProfile(
      p: MemberPrincipal,
      patch: { name?: string; phone?: string | null; timezone?: string | null },
    ): Promise<Member> {
      if (patch.phone != null && !isE164(patch.phone)) {
        throw new AppError('validation_failed', 'phone must be in E.164 form, e.g. +14155550123');
      }
      let timezone = patch.timezone;
      if (timezone != null) {
        const canonical = canonicalTimeZone(timezone);
        if (canonical === null)
          throw new AppError(
            'validation_failed',
            "timezone must be an IANA timezone name, e.g. Europe/Paris or America/New_York (or null for the browser's)",
          );
        timezone = canonical;
      }
      return withTenant(db, p.orgId, async (tx) => {
        const now = clock.now();
        await updateMember(tx, p.memberId, { ...patch, ...(timezone !== undefined && { timezone }) }, now);
        await appendAudit(tx, auditEvents.memberProfileUpdated(actorOf(p), { id: p.memberId }, patch), now);
        const m = await findMember(tx, p.memberId);
        if (m === undefined) throw notFound('member');
        return m;
      });
    },
  };
}

export type MembersService = ReturnType<typeof createMembersService>;
