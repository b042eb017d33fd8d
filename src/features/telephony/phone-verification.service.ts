/**
 * Phone ownership: a member's number is called or texted only once they proved it with a 6-digit
 * code sent to it by SMS or read out on a call. A code lives 15 minutes, at most one is sent per
 * minute, five wrong tries burn it. The code is kept in the ephemeral store as a hash; losing the
 * store loses a pending verification, nothing else.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { TelephonyProvider } from '../../channels/telephony/provider.js';
import { placeTrackedCall, retryProvider } from '../../channels/telephony/adapter.js';
import { keys, WINDOW_15_MIN_MS } from '../../channels/telephony/state.js';
import { auditEvents } from '../../core/audit-chain/events.js';
import { withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { sha256 } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import type { EphemeralStore } from '../../state/store.js';
import { appendAudit } from '../audit/audit.repository.js';
import type { Principal } from '../auth/principal.js';
import { findMember, type Member } from '../members/members.repository.js';
import { markPhoneVerified, phoneTakenInOrg } from './telephony.repository.js';

export interface PhoneVerificationDeps {
  readonly db: Kysely<DB>;
  readonly store: Pick<EphemeralStore, 'get' | 'set' | 'take' | 'hit'>;
  readonly clock: Clock;
  /** Undefined: the operator configured no telephony provider. */
  readonly provider: Pick<TelephonyProvider, 'sendSms' | 'placeCall'> | undefined;
  /** The org's own account (docs/telephony.md), used before the server's; default: none. */
  readonly accountOf?: (orgId: string) => Promise<OwnAccount | undefined>;
  readonly config: {
    readonly publicUrl: string;
    readonly from: string;
    readonly callsPer15Min: number;
    readonly smsPer15Min: number;
  };
}

/** An org's own telephony account as the verification sends through it. */
export interface OwnAccount {
  readonly provider: Pick<TelephonyProvider, 'sendSms' | 'placeCall'>;
  readonly from: string;
  readonly webhookPath: string;
}

export const CODE_TTL_MS = 15 * 60_000;
const SEND_INTERVAL_MS = 60_000;
const MAX_WRONG = 5;

interface Pending {
  readonly phone: string;
  readonly via: 'sms' | 'call';
  readonly hash: string;
  readonly wrong: number;
  readonly expiresAt: number;
}

const hashOf = (memberId: string, code: string) => sha256(`${memberId}:${code}`).toString('base64');

export function createPhoneVerificationService({
  db,
  store,
  clock,
  provider: serverProvider,
  accountOf,
  config: serverConfig,
}: PhoneVerificationDeps) {
  const member = (p: Principal & { kind: 'member' }) =>
    withTenant(db, p.orgId, async (tx) => {
      const m = await findMember(tx, p.memberId);
      if (m === undefined || m.status !== 'active') throw new AppError('forbidden');
      return m;
    });

  return {
    /** Sends a fresh code to the member's number by SMS or by a call. */
    async request(p: Principal & { kind: 'member' }, via: 'sms' | 'call'): Promise<{ expiresAt: Date }> {
      const own = await accountOf?.(p.orgId);
      const provider = own?.provider ?? serverProvider;
      const config =
        own !== undefined ? { ...serverConfig, from: own.from, webhookPath: own.webhookPath } : serverConfig;
      if (provider === undefined)
        throw new AppError(
          'unprocessable',
          'phone calls and SMS are not configured on this server (ONY_TELEPHONY_PROVIDER)',
        );
      const m = await member(p);
      if (m.phone === null)
        throw new AppError('conflict', 'set your phone number first (PATCH /v1/me with phone in E.164 form)');
      if (m.phoneVerified) throw new AppError('conflict', 'this phone number is already verified');
      const { count } = await store.hit(keys.verificationSend(p.memberId), SEND_INTERVAL_MS);
      if (count > 1) throw new AppError('rate_limited', 'at most one code per minute; wait and try again');
      const window = await store.hit(
        via === 'sms' ? keys.smsWindow(m.phone) : keys.callsWindow(m.phone),
        WINDOW_15_MIN_MS,
      );
      if (window.count > (via === 'sms' ? config.smsPer15Min : config.callsPer15Min))
        throw new AppError(
          'rate_limited',
          `this number got too many ${via === 'sms' ? 'SMS' : 'calls'} lately; try later`,
        );
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      const expiresAt = clock.now().getTime() + CODE_TTL_MS;
      const pending: Pending = { phone: m.phone, via, hash: hashOf(m.id, code), wrong: 0, expiresAt };
      await store.set(keys.verification(m.id), JSON.stringify(pending), CODE_TTL_MS);
      await send(m.id, m.phone, via, code);
      return { expiresAt: new Date(expiresAt) };

      async function send(memberId: string, phone: string, how: 'sms' | 'call', c: string) {
        if (how === 'sms') {
          await retryProvider(() =>
            provider!.sendSms({
              to: phone,
              from: config.from,
              text: `ony: your verification code is ${c}. It expires in 15 minutes. If you did not ask for it, ignore this message.`,
            }),
          );
          return;
        }
        await placeTrackedCall(
          { provider: provider!, store, config },
          { kind: 'verification', phone, callId: undefined, orgId: p.orgId, memberId, code: c },
          false,
        );
      }
    },

    /** Checks the code; on success the number is verified (and audited). */
    async confirm(p: Principal & { kind: 'member' }, code: string): Promise<Member> {
      const raw = await store.get(keys.verification(p.memberId));
      if (raw === null) throw new AppError('gone', 'no code is pending, or it expired; ask for a new one');
      const pending = JSON.parse(raw) as Pending;
      const given = Buffer.from(hashOf(p.memberId, code.trim()));
      const expected = Buffer.from(pending.hash);
      if (!(given.length === expected.length && timingSafeEqual(given, expected))) {
        const wrong = pending.wrong + 1;
        const left = pending.expiresAt - clock.now().getTime();
        if (wrong >= MAX_WRONG || left <= 0) {
          await store.take(keys.verification(p.memberId));
          throw new AppError('rate_limited', 'too many wrong codes; ask for a new one');
        }
        await store.set(keys.verification(p.memberId), JSON.stringify({ ...pending, wrong }), left);
        throw new AppError('unprocessable', `that code is not right (${MAX_WRONG - wrong} tries left)`);
      }
      if ((await store.take(keys.verification(p.memberId))) === null)
        throw new AppError('gone', 'no code is pending, or it expired; ask for a new one');
      return withTenant(db, p.orgId, async (tx) => {
        const now = clock.now();
        if (await phoneTakenInOrg(tx, p.memberId, pending.phone))
          throw new AppError('conflict', 'another member of this organization already verified this number');
        if (!(await markPhoneVerified(tx, p.memberId, pending.phone, now)))
          throw new AppError('gone', 'your phone number changed since the code was sent; ask for a new one');
        await appendAudit(
          tx,
          auditEvents.memberPhoneVerified(
            { type: 'member', id: p.memberId },
            { id: p.memberId },
            pending.via,
          ),
          now,
        );
        return (await findMember(tx, p.memberId))!;
      });
    },
  };
}

export type PhoneVerificationService = ReturnType<typeof createPhoneVerificationService>;
