/**
 * Password reset and email change, both through a one-time link sent by mail.
 *
 * Password reset cannot be used to learn who has an account: the request always answers the same,
 * and does the same work whatever the address (it only enqueues a job); the job looks the address
 * up and, for each active member it belongs to, stores a token (SHA-256 only, single use, 30 min)
 * and queues the mail. An unknown address sends nothing. Confirming sets the password, ends every
 * session of the member and is recorded in the audit chain.
 *
 * An email change sends a link to the NEW address; confirming needs the same member's session, so
 * the link alone (forwarded, guessed) changes nothing. The old address is told afterwards.
 */
import type { Kysely } from 'kysely';
import { withApp, withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import { auditEvents } from '../../core/audit-chain/events.js';
import { maskEmail } from '../../core/mail/templates.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { Clock } from '../../lib/clock.js';
import { newToken, sha256, sha256Hex } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { EphemeralStore } from '../../state/store.js';
import { appendAudit } from '../audit/audit.repository.js';
import { assertPasswordPolicy, hashPassword } from '../auth/password.js';
import type { Principal } from '../auth/principal.js';
import type { LoginThrottle } from '../auth/login-throttle.js';
import type { Revocation } from '../auth/revocation.js';
import { findLoginCandidates, revokeSessions } from '../auth/sessions.repository.js';
import {
  findMember,
  findMemberByEmail,
  lockMember,
  updateMember,
  type Member,
} from '../members/members.repository.js';
import { getOrg } from '../orgs/orgs.repository.js';
import {
  insertToken,
  lockToken,
  lockTokenByHash,
  markTokenUsed,
  resolveToken,
  retireOpenTokens,
  setMemberEmail,
} from './mail.repository.js';
import type { MailNotices } from './mail.notices.js';
import { MAIL_JOBS, type MailOutbox } from './mail.service.js';

export const RESET_PREFIX = 'ony_pwr_';
export const EMAIL_CHANGE_PREFIX = 'ony_eml_';
export const RESET_TTL_MS = 30 * 60 * 1000;
export const EMAIL_CHANGE_TTL_MS = 24 * 3600 * 1000;
const WINDOW_MS = 15 * 60 * 1000;
/** Reset requests one address may cause per window (more are dropped silently: no mail bombing). */
const RESETS_PER_ADDRESS = 3;
/** Reset requests one client address may make per window (answered 429, whatever the email). */
const RESETS_PER_IP = 20;
const EMAIL_CHANGES_PER_HOUR = 5;

export interface AccountMailDeps {
  readonly db: Kysely<DB>;
  readonly store: EphemeralStore;
  readonly jobs: Pick<JobQueue, 'send'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly mail: { readonly outbox: MailOutbox; readonly notices: Pick<MailNotices, 'emailChanged'> };
  readonly config: { readonly publicUrl: string };
  /** A reset ends the member's sessions: their open streams and long-polls close too. */
  readonly revocation: Pick<Revocation, 'publish'>;
  /** A reset clears the sign-in throttle of the account (docs/sessions.md). */
  readonly loginThrottle: Pick<LoginThrottle, 'clearAccount'>;
}

type MemberPrincipal = Principal & { kind: 'member' };

const normalizeEmail = (email: string) => email.trim().toLowerCase();

export function createAccountMailService(deps: AccountMailDeps) {
  const { db, store, jobs, clock, config, revocation, loginThrottle } = deps;
  const { outbox, notices } = deps.mail;
  const log = deps.logger.child({ component: 'mail' });

  return {
    /**
     * POST /v1/auth/password-reset: the same answer and the same work for every address (a job is
     * enqueued; with mail off, nothing). Only a flood from one client address is refused (429).
     */
    async requestPasswordReset(input: {
      email: string;
      org?: string | undefined;
      ip: string;
    }): Promise<void> {
      const hit = await store.hit(`pwreset:ip:${input.ip}`, WINDOW_MS);
      if (hit.count > RESETS_PER_IP)
        throw new AppError(
          'rate_limited',
          'too many password reset requests from this address; try again later',
        );
      if (!outbox.enabled) return;
      await jobs.send(
        MAIL_JOBS.passwordReset,
        { email: normalizeEmail(input.email), org: input.org ?? null },
        { retryLimit: 3, retryDelaySeconds: 10, expireInSeconds: 120 },
      );
    },

    /** Job: find the address's members, store a token for each and queue the mail. */
    async passwordResetJob(data: Record<string, unknown>): Promise<void> {
      const email = typeof data.email === 'string' ? normalizeEmail(data.email) : undefined;
      const orgSlug = typeof data.org === 'string' ? data.org : undefined;
      if (email === undefined) throw new Error('password reset job lacks email');
      const perAddress = await store.hit(`pwreset:acct:${sha256Hex(email)}`, WINDOW_MS);
      if (perAddress.count > RESETS_PER_ADDRESS) {
        log.warn('password reset dropped: too many requests for one address in 15 minutes');
        return;
      }
      const candidates = await withApp(db, (tx) => findLoginCandidates(tx, email));
      for (const c of candidates) {
        await withTenant(db, c.org_id, async (tx) => {
          const [member, org] = await Promise.all([findMember(tx, c.member_id), getOrg(tx)]);
          if (member === undefined || org === undefined || member.status !== 'active') return;
          if (orgSlug !== undefined && org.slug !== orgSlug) return;
          const now = clock.now();
          const token = newToken(RESET_PREFIX);
          const expiresAt = new Date(now.getTime() + RESET_TTL_MS);
          await retireOpenTokens(tx, member.id, 'password_reset', now);
          await insertToken(tx, {
            memberId: member.id,
            purpose: 'password_reset',
            tokenHash: sha256(token),
            newEmail: null,
            now,
            expiresAt,
          });
          await outbox.enqueue(tx, {
            to: { address: member.email, memberId: member.id },
            data: {
              kind: 'password_reset',
              orgName: org.name,
              memberName: member.name,
              // In the fragment: it never reaches a server log or a Referer header.
              url: `${config.publicUrl}/reset-password#${token}`,
              expiresAt: expiresAt.toISOString(),
            },
          });
        });
      }
    },

    /** Sets a new password with a reset token; ends every session of the member. */
    async confirmPasswordReset(input: { token: string; password: string }): Promise<void> {
      assertPasswordPolicy(input.password);
      const invalid = () => new AppError('gone', 'this reset link is not valid; ask for a new one');
      const hit = input.token.startsWith(RESET_PREFIX)
        ? await resolveToken(db, 'password_reset', sha256(input.token))
        : undefined;
      if (hit === undefined) throw invalid();
      const passwordHash = await hashPassword(input.password);
      const member = await withTenant(db, hit.orgId, async (tx) => {
        const token = await lockToken(tx, hit.tokenId);
        const now = clock.now();
        if (token === undefined) throw invalid();
        if (token.usedAt !== null)
          throw new AppError('gone', 'this reset link was already used or replaced by a newer one');
        if (token.expiresAt <= now)
          throw new AppError('gone', 'this reset link has expired; ask for a new one');
        const member = await lockMember(tx, token.memberId);
        if (member === undefined || member.status !== 'active')
          throw new AppError('gone', 'this account is deactivated; ask an admin of your organization');
        await markTokenUsed(tx, token.id, now);
        await updateMember(tx, member.id, { passwordHash }, now);
        await revokeSessions(tx, member.id, now);
        await appendAudit(
          tx,
          auditEvents.memberPasswordReset({ type: 'member', id: member.id }, member),
          now,
        );
        return member;
      });
      await revocation.publish({ kind: 'member', orgId: hit.orgId, memberId: member.id });
      // The reset is committed: a store that cannot clear the throttle only leaves the delays to run out.
      await loginThrottle
        .clearAccount(member.email)
        .catch((err: unknown) => log.warn({ err }, 'password reset: could not clear the sign-in throttle'));
    },

    /** Sends a confirmation link to the new address. Needs mail. */
    async requestEmailChange(
      p: MemberPrincipal,
      newEmail: string,
    ): Promise<{ sentTo: string; expiresAt: Date }> {
      if (!outbox.enabled)
        throw new AppError(
          'conflict',
          'changing your email needs mail, and this server has no SMTP relay configured; ask the operator',
        );
      const email = normalizeEmail(newEmail);
      const hit = await store.hit(`emailchg:${p.memberId}`, 3600_000);
      if (hit.count > EMAIL_CHANGES_PER_HOUR)
        throw new AppError('rate_limited', 'too many email change requests; try again in an hour');
      return withTenant(db, p.orgId, async (tx) => {
        const member = await findMember(tx, p.memberId);
        if (member === undefined) throw new AppError('not_found', 'member not found');
        if (member.email === email) throw new AppError('conflict', 'this is already your email address');
        if (await findMemberByEmail(tx, email))
          throw new AppError('conflict', 'another member of your organization uses this address');
        const org = await getOrg(tx);
        const now = clock.now();
        const token = newToken(EMAIL_CHANGE_PREFIX);
        const expiresAt = new Date(now.getTime() + EMAIL_CHANGE_TTL_MS);
        await retireOpenTokens(tx, member.id, 'email_change', now);
        await insertToken(tx, {
          memberId: member.id,
          purpose: 'email_change',
          tokenHash: sha256(token),
          newEmail: email,
          now,
          expiresAt,
        });
        await outbox.enqueue(tx, {
          to: { address: email, memberId: member.id },
          data: {
            kind: 'email_change',
            orgName: org?.name ?? 'your organization',
            memberName: member.name,
            url: `${config.publicUrl}/confirm-email#${token}`,
            expiresAt: expiresAt.toISOString(),
          },
        });
        return { sentTo: maskEmail(email), expiresAt };
      });
    },

    /** Confirms an email change: the token must be the signed-in member's own. */
    async confirmEmailChange(p: MemberPrincipal, tokenText: string): Promise<Member> {
      const invalid = () => new AppError('gone', 'this confirmation link is not valid for your account');
      if (!tokenText.startsWith(EMAIL_CHANGE_PREFIX)) throw invalid();
      return withTenant(db, p.orgId, async (tx) => {
        const token = await lockTokenByHash(tx, 'email_change', sha256(tokenText));
        const now = clock.now();
        if (token === undefined || token.memberId !== p.memberId || token.newEmail === null) throw invalid();
        if (token.usedAt !== null)
          throw new AppError('gone', 'this confirmation link was already used or replaced by a newer one');
        if (token.expiresAt <= now)
          throw new AppError('gone', 'this confirmation link has expired; ask for a new one');
        const member = await lockMember(tx, p.memberId);
        if (member === undefined) throw new AppError('not_found', 'member not found');
        if (await findMemberByEmail(tx, token.newEmail))
          throw new AppError('conflict', 'another member of your organization uses this address now');
        await markTokenUsed(tx, token.id, now);
        await setMemberEmail(tx, member.id, token.newEmail, now);
        await appendAudit(tx, auditEvents.memberEmailChanged({ type: 'member', id: member.id }, member), now);
        await notices.emailChanged(tx, member, member.email, token.newEmail, now);
        return (await findMember(tx, member.id))!;
      });
    },
  };
}

export type AccountMailService = ReturnType<typeof createAccountMailService>;
