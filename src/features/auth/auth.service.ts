/**
 * Sign-in, sessions, TOTP and passwords. Sessions are server-side: the cookie holds a random
 * token, the database only its SHA-256. Failed sign-ins are slowed down per (account, address)
 * and budgeted per address, never locked per account (login-throttle.ts). Ending sessions closes
 * their open streams and long-polls (revocation.ts).
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { withApp, withTenant, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Config } from '../../config/index.js';
import type { Clock } from '../../lib/clock.js';
import { newToken, sha256 } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import type { Keyring } from '../orgs/keyring.js';
import { getOrg } from '../orgs/orgs.repository.js';
import {
  findMember,
  getCredentials,
  replaceRecoveryCodes,
  updateMember,
  useRecoveryCode,
  type Member,
} from '../members/members.repository.js';
import { assertPasswordPolicy, hashPassword, verifyPassword } from './password.js';
import { actorOf, type Principal } from './principal.js';
import type { Revocation } from './revocation.js';
import type { LoginAttempt, LoginThrottle } from './login-throttle.js';
import { auditEvents } from '../../core/audit-chain/events.js';
import { appendAudit } from '../audit/audit.repository.js';
import {
  findSessionWithMember,
  insertSession,
  listSessions,
  revokeSessions,
  touchSession,
  type SessionInfo,
  type SignInProof,
  findLoginCandidates,
} from './sessions.repository.js';
import { checkTotp, newTotpSecret, totpUri } from './totp.js';
import type { MailNotices } from '../mail/mail.notices.js';
import { passwordLoginBlocked } from '../sso/sso.repository.js';
import type { AuthenticationResponseJSON, PasskeysService } from '../passkeys/passkeys.service.js';

export const SESSION_PREFIX = 'ony_ses_';
const RECOVERY_CODE_COUNT = 10;

export interface AuthDeps {
  readonly db: Kysely<DB>;
  readonly keyring: Keyring;
  readonly config: Pick<Config, 'session'>;
  /** Delays per (account, address) and a budget per address; no lockout (login-throttle.ts). */
  readonly loginThrottle: Pick<LoginThrottle, 'begin'>;
  readonly clock: Clock;
  /** Records each sign-in's device class and mails a notice for a new one (docs/mail.md). */
  readonly notices: Pick<MailNotices, 'signIn'>;
  /** Closes the open streams and long-polls of sessions that end (sign out, revoke). */
  readonly revocation: Pick<Revocation, 'publish'>;
  /** Passkeys as a second factor (passkeys.service.ts). */
  readonly passkeys: Pick<PasskeysService, 'hasPasskeys' | 'signInOptions' | 'verifyAssertion'>;
}

export interface LoginInput {
  readonly email: string;
  readonly password: string;
  readonly totpCode?: string | undefined;
  readonly recoveryCode?: string | undefined;
  /** A passkey assertion answering the challenge of `POST /v1/auth/login/passkey-options`. */
  readonly passkey?: AuthenticationResponseJSON | undefined;
  /** The org's slug, needed only when one email belongs to several orgs. */
  readonly org?: string | undefined;
  readonly ip: string;
  readonly userAgent: string | null;
}

export interface NewSession {
  readonly token: string;
  readonly csrfToken: string;
  readonly orgId: string;
  readonly memberId: string;
  readonly expiresAt: Date;
}

/** CSRF token bound to the session token: only a holder of the cookie value can compute it. */
export const csrfTokenFor = (sessionToken: string): string =>
  sha256(`csrf:${sessionToken}`).toString('base64url');

const normalizeRecovery = (code: string): string => code.toLowerCase().replace(/[^a-z0-9]/g, '');
const totpAad = (memberId: string): string => `totp:${memberId}`;
const othersOf = (p: Principal & { kind: 'member' }) =>
  ({ kind: 'member', orgId: p.orgId, memberId: p.memberId, exceptSessionId: p.sessionId }) as const;

export function createAuthService(deps: AuthDeps) {
  const { db, keyring, config, clock, notices, revocation, loginThrottle, passkeys } = deps;
  /**
   * Opens a session. With the client's `ip` (a sign-in, not an invite acceptance or setup) the
   * device class is recorded and a new one is mailed to the member as a security notice.
   */
  async function createSession(
    tx: TenantTx,
    memberId: string,
    userAgent: string | null,
    ip?: string,
    /** How the member proved who they are (docs/assurance.md); invites and setup set a password. */
    signIn: SignInProof = { method: 'password' },
  ): Promise<NewSession> {
    const now = clock.now();
    if (ip !== undefined) {
      const member = await findMember(tx, memberId);
      if (member !== undefined) await notices.signIn(tx, member, { ip, userAgent }, now);
    }
    const token = newToken(SESSION_PREFIX);
    const absoluteExpiresAt = new Date(now.getTime() + config.session.absoluteSeconds * 1000);
    const idleExpiresAt = new Date(
      Math.min(now.getTime() + config.session.idleSeconds * 1000, absoluteExpiresAt.getTime()),
    );
    await insertSession(tx, {
      memberId,
      tokenHash: sha256(token),
      now,
      idleExpiresAt,
      absoluteExpiresAt,
      userAgent: userAgent?.slice(0, 300) ?? null,
      signIn,
    });
    return { token, csrfToken: csrfTokenFor(token), orgId: tx.orgId, memberId, expiresAt: absoluteExpiresAt };
  }

  /** Verifies a second factor (TOTP code or a recovery code) and records its use. */
  async function checkSecondFactor(
    tx: TenantTx,
    memberId: string,
    input: { totpCode?: string | undefined; recoveryCode?: string | undefined },
  ): Promise<boolean> {
    const cred = await getCredentials(tx, memberId);
    if (!cred?.totpEnabled || cred.totpSecretEnc === null) return true;
    const now = clock.now();
    if (input.recoveryCode !== undefined) {
      return useRecoveryCode(tx, memberId, sha256(normalizeRecovery(input.recoveryCode)), now);
    }
    if (input.totpCode === undefined) return false;
    const secret = (await keyring.decrypt(tx, Buffer.from(cred.totpSecretEnc), totpAad(memberId))).toString(
      'utf8',
    );
    const step = checkTotp(secret, input.totpCode, now, cred.totpLastStep);
    if (step === undefined) return false;
    await updateMember(tx, memberId, { totpLastStep: step }, now);
    return true;
  }

  /**
   * The password check of a sign-in that passed the throttle; `then` runs in the member's org
   * once the password proved right (the second factor and the session, or passkey options).
   */
  async function passwordChecked<T>(
    email: string,
    input: Pick<LoginInput, 'password' | 'org'>,
    attempt: LoginAttempt,
    then: (tx: TenantTx, memberId: string) => Promise<T>,
  ): Promise<T> {
    const candidates = await withApp(db, (tx) => findLoginCandidates(tx, email));
    const matches: { orgId: string; memberId: string; slug: string; active: boolean }[] = [];
    for (const c of candidates) {
      const found = await withTenant(db, c.org_id, async (tx) => {
        const [member, cred, org] = await Promise.all([
          findMember(tx, c.member_id),
          getCredentials(tx, c.member_id),
          getOrg(tx),
        ]);
        return member && cred && org ? { member, cred, org } : undefined;
      });
      if (found && (await verifyPassword(found.cred.passwordHash, input.password))) {
        matches.push({
          orgId: c.org_id,
          memberId: c.member_id,
          slug: found.org.slug,
          active: found.member.status === 'active',
        });
      }
    }
    if (candidates.length === 0) await verifyPassword(null, input.password);
    const chosen = input.org !== undefined ? matches.filter((m) => m.slug === input.org) : matches;
    if (chosen.length === 0) {
      await attempt.failed();
      throw new AppError('invalid_credentials');
    }
    if (chosen.length > 1) {
      throw new AppError('conflict', 'this email belongs to several organizations; send `org` with its slug');
    }
    const match = chosen[0]!;
    if (!match.active) {
      throw new AppError('forbidden', 'this account is deactivated; ask an admin of your organization');
    }
    return withTenant(db, match.orgId, async (tx) => {
      // Only after the password proved right, so this answer is no oracle (docs/sso.md).
      if (await passwordLoginBlocked(tx, match.memberId)) {
        throw new AppError(
          'forbidden',
          'this organization requires single sign-on: use "Sign in with" your identity provider',
          { reason: 'sso_required' },
        );
      }
      return then(tx, match.memberId);
    });
  }

  /** The second factor of a sign-in (TOTP, a recovery code or a passkey), then the session. */
  async function secondFactorThenSession(
    tx: TenantTx,
    memberId: string,
    input: LoginInput,
    attempt: LoginAttempt,
  ): Promise<NewSession> {
    const cred = await getCredentials(tx, memberId);
    const totp = cred?.totpEnabled === true;
    const passkey = await passkeys.hasPasskeys(tx, memberId);
    // The factors this account can answer with, for the sign-in page to offer.
    const factors = [...(totp ? ['totp', 'recovery_code'] : []), ...(passkey ? ['passkey'] : [])];
    const none =
      input.totpCode === undefined && input.recoveryCode === undefined && input.passkey === undefined;
    if ((totp || passkey) && none) {
      if (totp)
        throw new AppError(
          'totp_required',
          passkey
            ? 'this account has two-factor sign-in: send `totp_code` or use a passkey'
            : 'this account has two-factor sign-in: send `totp_code`',
          { factors },
        );
      throw new AppError('passkey_required', 'this account signs in with a passkey as its second factor', {
        factors,
      });
    }
    if (input.passkey !== undefined) {
      if (!passkey) {
        await attempt.failed();
        throw new AppError('passkey_invalid', 'this account has no passkey');
      }
      try {
        await passkeys.verifyAssertion(tx, memberId, 'sign_in', input.passkey);
      } catch (err) {
        await attempt.failed();
        throw err;
      }
    } else if (!totp && passkey) {
      // A TOTP or recovery code cannot stand in for a passkey on an account without TOTP.
      throw new AppError('passkey_required', 'this account signs in with a passkey as its second factor', {
        factors,
      });
    } else if (!(await checkSecondFactor(tx, memberId, input))) {
      // Counted outside this (rolled back) transaction: the store is not transactional.
      await attempt.failed();
      throw new AppError('totp_invalid');
    }
    // A second factor (TOTP, a recovery code or a passkey) was checked when the account has one.
    return createSession(tx, memberId, input.userAgent, input.ip, {
      method: totp || passkey ? 'password_mfa' : 'password',
    });
  }

  /** Runs `fn` behind the sign-in throttle (429 with `retry_after` before any password is checked). */
  async function throttled<T>(
    email: string,
    ip: string,
    fn: (attempt: LoginAttempt) => Promise<T>,
  ): Promise<T> {
    const attempt = await loginThrottle.begin(email, ip);
    try {
      const r = await fn(attempt);
      await attempt.succeeded();
      return r;
    } finally {
      await attempt.release();
    }
  }

  return {
    createSession,

    /**
     * Step-up for approvals: the member's TOTP code (or a recovery code), checked and recorded in the
     * caller's transaction (so a code cannot be replayed). A member without TOTP cannot pass.
     */
    async checkStepUp(
      tx: TenantTx,
      memberId: string,
      code: string | undefined,
    ): Promise<'ok' | 'missing' | 'invalid' | 'not_enrolled'> {
      const cred = await getCredentials(tx, memberId);
      if (!cred?.totpEnabled) return 'not_enrolled';
      if (code === undefined) return 'missing';
      return (await checkSecondFactor(tx, memberId, { totpCode: code })) ? 'ok' : 'invalid';
    },

    /**
     * Signs in with a password. Throttled before any password is checked (429 with `retry_after`);
     * the same work and answers whether or not the email has an account.
     */
    async login(input: LoginInput): Promise<NewSession> {
      const email = input.email.trim().toLowerCase();
      return throttled(email, input.ip, (attempt) =>
        passwordChecked(email, input, attempt, (tx, memberId) =>
          secondFactorThenSession(tx, memberId, input, attempt),
        ),
      );
    },

    /**
     * The first half of a sign-in with a passkey as the second factor: the password is checked
     * (throttled like a sign-in) and the answer is WebAuthn request options with a fresh challenge
     * for this member's passkeys; `login` with `passkey` finishes it.
     */
    async passkeySignInOptions(input: Pick<LoginInput, 'email' | 'password' | 'org' | 'ip'>) {
      const email = input.email.trim().toLowerCase();
      return throttled(email, input.ip, (attempt) =>
        passwordChecked(email, input, attempt, (tx, memberId) => passkeys.signInOptions(tx, memberId)),
      );
    },

    /** Resolves a session cookie to a principal, or throws 401. Slides the idle expiry. */
    async resolveSession(token: string): Promise<Principal & { kind: 'member' }> {
      if (!token.startsWith(SESSION_PREFIX))
        throw new AppError('unauthenticated', 'no valid session; sign in');
      const hit = await withApp(db, async (tx) =>
        (
          await sql<{
            org_id: string;
            session_id: string;
          }>`select org_id, session_id from ony_resolve_session(${sha256(token)})`.execute(tx)
        ).rows.at(0),
      );
      if (hit === undefined) throw new AppError('unauthenticated', 'no valid session; sign in');
      return withTenant(db, hit.org_id, async (tx) => {
        const s = await findSessionWithMember(tx, hit.session_id);
        const now = clock.now();
        if (s === undefined || s.revokedAt !== null)
          throw new AppError('unauthenticated', 'no valid session; sign in');
        if (s.idleExpiresAt <= now || s.absoluteExpiresAt <= now) throw new AppError('session_expired');
        if (s.memberStatus !== 'active') throw new AppError('unauthenticated', 'this account is deactivated');
        if (now.getTime() - s.lastSeenAt.getTime() > 60_000) {
          const idle = Math.min(
            now.getTime() + config.session.idleSeconds * 1000,
            s.absoluteExpiresAt.getTime(),
          );
          await touchSession(tx, s.id, now, new Date(idle));
        }
        return {
          kind: 'member',
          orgId: hit.org_id,
          memberId: s.memberId,
          role: s.memberRole,
          sessionId: s.id,
        };
      });
    },

    async logout(p: Principal & { kind: 'member' }): Promise<void> {
      await withTenant(db, p.orgId, (tx) =>
        revokeSessions(tx, p.memberId, clock.now(), { only: p.sessionId }),
      );
      await revocation.publish({ kind: 'session', orgId: p.orgId, sessionId: p.sessionId });
    },

    listSessions(p: Principal & { kind: 'member' }): Promise<SessionInfo[]> {
      return withTenant(db, p.orgId, (tx) => listSessions(tx, p.memberId, clock.now()));
    },

    /** Revokes one of the caller's own sessions; another member's id answers 404. */
    async revokeSession(p: Principal & { kind: 'member' }, sessionId: string): Promise<void> {
      const n = await withTenant(db, p.orgId, (tx) =>
        revokeSessions(tx, p.memberId, clock.now(), { only: sessionId }),
      );
      if (n === 0) throw new AppError('not_found', 'session not found');
      await revocation.publish({ kind: 'session', orgId: p.orgId, sessionId });
    },

    /** "Sign out everywhere else": every session of the caller but this one. */
    async revokeOtherSessions(p: Principal & { kind: 'member' }): Promise<number> {
      const n = await withTenant(db, p.orgId, (tx) =>
        revokeSessions(tx, p.memberId, clock.now(), { except: p.sessionId }),
      );
      await revocation.publish(othersOf(p));
      return n;
    },

    async changePassword(p: Principal & { kind: 'member' }, current: string, next: string): Promise<void> {
      assertPasswordPolicy(next);
      const hash = await hashPassword(next);
      await withTenant(db, p.orgId, async (tx) => {
        const cred = await getCredentials(tx, p.memberId);
        if (!(await verifyPassword(cred?.passwordHash ?? null, current))) {
          throw new AppError('invalid_credentials', 'current password is wrong');
        }
        const now = clock.now();
        await updateMember(tx, p.memberId, { passwordHash: hash }, now);
        await revokeSessions(tx, p.memberId, now, { except: p.sessionId });
        await appendAudit(tx, auditEvents.memberPasswordChanged(actorOf(p), { id: p.memberId }), now);
      });
      await revocation.publish(othersOf(p));
    },

    /** Starts TOTP enrolment: a new secret, stored encrypted and not yet enabled. */
    async startTotpEnrolment(
      p: Principal & { kind: 'member' },
    ): Promise<{ secret: string; otpauthUri: string }> {
      return withTenant(db, p.orgId, async (tx) => {
        const member = await findMember(tx, p.memberId);
        if (member === undefined) throw new AppError('not_found', 'member not found');
        if (member.totpEnabled)
          throw new AppError('conflict', 'TOTP is already enabled; disable or reset it first');
        const secret = newTotpSecret();
        const enc = await keyring.encrypt(tx, Buffer.from(secret, 'utf8'), totpAad(p.memberId));
        await updateMember(
          tx,
          p.memberId,
          { totpSecretEnc: enc, totpEnabledAt: null, totpLastStep: null },
          clock.now(),
        );
        return { secret, otpauthUri: totpUri(secret, 'ony', member.email) };
      });
    },

    /** Confirms enrolment with a first code; answers the recovery codes (shown once). */
    async confirmTotp(p: Principal & { kind: 'member' }, code: string): Promise<string[]> {
      return withTenant(db, p.orgId, async (tx) => {
        const cred = await getCredentials(tx, p.memberId);
        if (cred?.totpSecretEnc == null) throw new AppError('conflict', 'start TOTP enrolment first');
        if (cred.totpEnabled) throw new AppError('conflict', 'TOTP is already enabled');
        const secret = (
          await keyring.decrypt(tx, Buffer.from(cred.totpSecretEnc), totpAad(p.memberId))
        ).toString();
        const now = clock.now();
        const step = checkTotp(secret, code, now, cred.totpLastStep);
        if (step === undefined) throw new AppError('totp_invalid');
        const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
          const raw = randomBytes(10).toString('hex');
          return `${raw.slice(0, 5)}-${raw.slice(5, 10)}-${raw.slice(10, 15)}-${raw.slice(15)}`;
        });
        await updateMember(tx, p.memberId, { totpEnabledAt: now, totpLastStep: step }, now);
        await replaceRecoveryCodes(
          tx,
          p.memberId,
          codes.map((c) => sha256(normalizeRecovery(c))),
        );
        await appendAudit(tx, auditEvents.memberTotpEnrolled(actorOf(p), { id: p.memberId }), now);
        return codes;
      });
    },

    /** Turns the caller's own TOTP off; needs a current code (or a recovery code). */
    async disableTotp(
      p: Principal & { kind: 'member' },
      proof: { totpCode?: string; recoveryCode?: string },
    ) {
      await withTenant(db, p.orgId, async (tx) => {
        const cred = await getCredentials(tx, p.memberId);
        if (!cred?.totpEnabled) throw new AppError('conflict', 'TOTP is not enabled');
        if (proof.totpCode === undefined && proof.recoveryCode === undefined)
          throw new AppError('totp_required');
        if (!(await checkSecondFactor(tx, p.memberId, proof))) throw new AppError('totp_invalid');
        await updateMember(
          tx,
          p.memberId,
          { totpSecretEnc: null, totpEnabledAt: null, totpLastStep: null },
          clock.now(),
        );
        await replaceRecoveryCodes(tx, p.memberId, []);
        await appendAudit(tx, auditEvents.memberTotpDisabled(actorOf(p), { id: p.memberId }), clock.now());
      });
    },

    async me(p: Principal & { kind: 'member' }): Promise<Member> {
      const m = await withTenant(db, p.orgId, (tx) => findMember(tx, p.memberId));
      if (m === undefined) throw new AppError('not_found', 'member not found');
      return m;
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
