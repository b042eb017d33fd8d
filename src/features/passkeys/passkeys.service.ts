/**
 * Passkeys (WebAuthn, issue #23 part 2): members enrol, name and remove them; an admin resets a
 * member's; sign-in and decision step-up verify assertions. Every challenge is issued here, kept
 * durable in Postgres (hash only, purpose, expiry, single use) and, for a step-up, bound to one
 * handoff and one option inside the challenge bytes themselves (core/passkeys/challenge.ts).
 * Verification runs in the caller's transaction (`tx`), so a decision and the use of its
 * challenge commit together or not at all.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { auditEvents } from '../../core/audit-chain/events.js';
import {
  CHALLENGE_TTL_MS,
  challengeBinds,
  challengeBytes,
  challengeHash,
  challengeOfClientData,
  challengeUsable,
  NONCE_LENGTH,
  type ChallengePurpose,
} from '../../core/passkeys/challenge.js';
import { withTenant, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Config } from '../../config/index.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import { appendAudit } from '../audit/audit.repository.js';
import { actorOf, type Principal } from '../auth/principal.js';
import { findMember } from '../members/members.repository.js';
import {
  consumeChallenge,
  countPasskeys,
  credentialExists,
  deleteChallenges,
  deletePasskeys,
  insertChallenge,
  insertPasskey,
  listPasskeys,
  lockChallenge,
  lockPasskeyByCredential,
  recordPasskeyUse,
  renamePasskey,
  type Passkey,
} from './passkeys.repository.js';

export type { Passkey } from './passkeys.repository.js';
export type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

export interface PasskeysDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly config: Pick<Config, 'webauthn'>;
}

type MemberPrincipal = Principal & { kind: 'member' };

/** The bytes of a member id (a UUID) as the WebAuthn user handle: no personal data in it. */
const userHandleOf = (memberId: string): Uint8Array<ArrayBuffer> =>
  new Uint8Array(Buffer.from(memberId.replace(/-/g, ''), 'hex'));

const invalid = (detail: string) => new AppError('passkey_invalid', detail);

export function createPasskeysService(deps: PasskeysDeps) {
  const { db, clock, config } = deps;
  const { rpId, rpName, origins } = config.webauthn;

  /** Issues and stores a challenge; answers it base64url-encoded (what the options carry). */
  async function issue(
    tx: TenantTx,
    memberId: string,
    purpose: ChallengePurpose,
    binding?: { handoffId: string; option: string },
  ): Promise<Uint8Array<ArrayBuffer>> {
    const now = clock.now();
    const bytes = challengeBytes(randomBytes(NONCE_LENGTH), binding);
    await insertChallenge(tx, {
      memberId,
      purpose,
      challengeHash: challengeHash(bytes.toString('base64url')),
      ...(binding !== undefined && { handoffId: binding.handoffId, option: binding.option }),
      now,
      expiresAt: new Date(now.getTime() + CHALLENGE_TTL_MS),
    });
    return new Uint8Array(bytes);
  }

  /**
   * Finds the member's usable challenge the browser answered and uses it up (once). A challenge of
   * another purpose, another member, or one that is unknown, expired or used is refused.
   */
  async function take(
    tx: TenantTx,
    memberId: string,
    purpose: ChallengePurpose,
    clientDataJSON: string,
  ): Promise<string> {
    const challenge = challengeOfClientData(clientDataJSON);
    if (challenge === undefined) throw invalid('the passkey answer carries no readable challenge');
    const now = clock.now();
    const stored = await lockChallenge(tx, memberId, purpose, challengeHash(challenge));
    if (stored === undefined) throw invalid('this passkey challenge was not issued to you for this purpose');
    if (stored.usedAt !== null) throw invalid('this passkey challenge was already used; ask for a new one');
    if (!challengeUsable(stored, now)) throw invalid('this passkey challenge expired; ask for a new one');
    if (!(await consumeChallenge(tx, stored.id, now)))
      throw invalid('this passkey challenge was already used; ask for a new one');
    return challenge;
  }

  async function requestOptions(
    tx: TenantTx,
    memberId: string,
    purpose: 'sign_in' | 'step_up',
    binding?: { handoffId: string; option: string },
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const keys = await listPasskeys(tx, memberId);
    if (keys.length === 0)
      throw new AppError('conflict', 'you have no passkey; add one on your Account page');
    return generateAuthenticationOptions({
      rpID: rpId,
      challenge: await issue(tx, memberId, purpose, binding),
      allowCredentials: keys.map((k) => ({
        id: k.credentialId.toString('base64url'),
        transports: [...k.transports],
      })),
      userVerification: 'preferred',
      timeout: CHALLENGE_TTL_MS,
    });
  }

  /**
   * Verifies an assertion of the member's own passkey against a challenge issued to them for
   * `purpose` (and, for a step-up, bound to this handoff and option). Uses the challenge up and
   * advances the signature counter; a counter that did not advance (where the authenticator
   * counts) is a cloned or replayed key and is refused.
   */
  async function verifyAssertion(
    tx: TenantTx,
    memberId: string,
    purpose: 'sign_in' | 'step_up',
    response: AuthenticationResponseJSON,
    binding?: { handoffId: string; option: string },
  ): Promise<Passkey> {
    const challenge = await take(tx, memberId, purpose, response.response.clientDataJSON);
    if (binding !== undefined && !challengeBinds(challenge, binding.handoffId, binding.option))
      throw invalid('this passkey challenge was issued for another handoff or option');
    const key = await lockPasskeyByCredential(tx, memberId, Buffer.from(response.rawId, 'base64url'));
    if (key === undefined) throw invalid('this passkey is not one of yours (or it was removed)');
    let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: [...origins],
        expectedRPID: rpId,
        credential: {
          id: key.credentialId.toString('base64url'),
          publicKey: new Uint8Array(key.publicKey),
          counter: key.counter,
          transports: [...key.transports],
        },
        requireUserVerification: false,
      });
    } catch (err) {
      throw invalid(`the passkey answer does not verify: ${(err as Error).message}`);
    }
    if (!verified.verified) throw invalid('the passkey signature does not verify');
    await recordPasskeyUse(tx, key.id, verified.authenticationInfo.newCounter, clock.now());
    return key;
  }

  return {
    verifyAssertion,

    /** Options for a sign-in's second factor (after the password was right). */
    signInOptions: (tx: TenantTx, memberId: string) => requestOptions(tx, memberId, 'sign_in'),

    hasPasskeys: async (tx: TenantTx, memberId: string) => (await countPasskeys(tx, memberId)) > 0,

    /** Options to approve `option` of handoff `handoffId` with a passkey (checked by the caller). */
    stepUpOptions: (tx: TenantTx, memberId: string, handoffId: string, option: string) =>
      requestOptions(tx, memberId, 'step_up', { handoffId, option }),

    list: (p: MemberPrincipal) => withTenant(db, p.orgId, (tx) => listPasskeys(tx, p.memberId)),

    /** Starts enrolment: creation options with a fresh challenge; the member's keys are excluded. */
    async registrationOptions(p: MemberPrincipal): Promise<PublicKeyCredentialCreationOptionsJSON> {
      return withTenant(db, p.orgId, async (tx) => {
        const member = await findMember(tx, p.memberId);
        if (member === undefined) throw notFound('member');
        const keys = await listPasskeys(tx, p.memberId);
        if (keys.length >= 20) throw new AppError('conflict', 'you have 20 passkeys; remove one first');
        return generateRegistrationOptions({
          rpName,
          rpID: rpId,
          userName: member.email,
          userID: userHandleOf(p.memberId),
          userDisplayName: member.name,
          challenge: await issue(tx, p.memberId, 'register'),
          attestationType: 'none',
          excludeCredentials: keys.map((k) => ({
            id: k.credentialId.toString('base64url'),
            transports: [...k.transports],
          })),
          authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
          timeout: CHALLENGE_TTL_MS,
        });
      });
    },

    /** Finishes enrolment: verifies the attestation against the member's registration challenge. */
    async register(p: MemberPrincipal, name: string, response: RegistrationResponseJSON): Promise<Passkey> {
      return withTenant(db, p.orgId, async (tx) => {
        const challenge = await take(tx, p.memberId, 'register', response.response.clientDataJSON);
        let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
        try {
          verified = await verifyRegistrationResponse({
            response,
            expectedChallenge: challenge,
            expectedOrigin: [...origins],
            expectedRPID: rpId,
            requireUserVerification: false,
          });
        } catch (err) {
          throw invalid(`the passkey registration does not verify: ${(err as Error).message}`);
        }
        if (!verified.verified) throw invalid('the passkey registration does not verify');
        const cred = verified.registrationInfo.credential;
        const credentialId = Buffer.from(cred.id, 'base64url');
        if (await credentialExists(tx, credentialId))
          throw new AppError('conflict', 'this passkey is already registered');
        const now = clock.now();
        const key = await insertPasskey(tx, {
          memberId: p.memberId,
          credentialId,
          publicKey: Buffer.from(cred.publicKey),
          counter: cred.counter,
          transports: (cred.transports ?? []).filter((t) => /^[a-z-]{1,20}$/.test(t)).slice(0, 8),
          name,
          now,
        });
        await appendAudit(tx, auditEvents.memberPasskeyAdded(actorOf(p), { id: p.memberId }, key), now);
        return key;
      });
    },

    async rename(p: MemberPrincipal, id: string, name: string): Promise<Passkey> {
      const key = await withTenant(db, p.orgId, (tx) => renamePasskey(tx, p.memberId, id, name));
      if (key === undefined) throw notFound('passkey');
      return key;
    },

    async remove(p: MemberPrincipal, id: string): Promise<void> {
      await withTenant(db, p.orgId, async (tx) => {
        if ((await deletePasskeys(tx, p.memberId, id)) === 0) throw notFound('passkey');
        await appendAudit(
          tx,
          auditEvents.memberPasskeyRemoved(actorOf(p), { id: p.memberId }, { id }),
          clock.now(),
        );
      });
    },

    /**
     * An admin removes every passkey of a member (lost device); the member enrols again. The audit
     * entry says how many went, never a key or a credential id. An unknown member is 404.
     */
    async reset(p: MemberPrincipal, memberId: string): Promise<number> {
      return withTenant(db, p.orgId, async (tx) => {
        const member = await findMember(tx, memberId);
        if (member === undefined) throw notFound('member');
        const n = await deletePasskeys(tx, memberId);
        await deleteChallenges(tx, memberId);
        await appendAudit(tx, auditEvents.memberPasskeysReset(actorOf(p), { id: memberId }, n), clock.now());
        return n;
      });
    },
  };
}

export type PasskeysService = ReturnType<typeof createPasskeysService>;
