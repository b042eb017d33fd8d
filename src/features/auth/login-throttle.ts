/**
 * The sign-in throttle over the ephemeral store (the delays themselves: core/sign-in/throttle.ts).
 *
 * - Per (account, client address): after `freeFailures` failures, each further attempt waits an
 *   exponentially growing, capped delay; an attempt during the delay answers 429 with Retry-After
 *   and no password is checked. Attempts of one pair run one at a time, so parallel guesses cannot
 *   slip past the delay.
 * - Per client address: a budget of failures across all accounts in the window; spent, 429.
 * - Nothing is per account alone: the owner signing in from another address is never slowed by an
 *   attacker's failures (no lockout denial of service).
 * - A successful sign-in clears its own pair; a password reset clears the account at every address.
 *
 * Keys hold the email's SHA-256, never the email; the same keys are used whether or not an account
 * exists, so the answers tell nothing about existence. Times come from the injected clock; the
 * store's expiry only removes stale keys.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/index.js';
import { delayAfterFailure, retryAfterSeconds } from '../../core/sign-in/throttle.js';
import type { Clock } from '../../lib/clock.js';
import { sha256Hex } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import type { EphemeralStore } from '../../state/store.js';

export interface LoginThrottleDeps {
  readonly store: Pick<EphemeralStore, 'hit' | 'get' | 'set' | 'claim' | 'del'>;
  readonly clock: Clock;
  readonly config: Pick<Config, 'loginThrottle'>;
}

/** One sign-in attempt that passed the throttle: report its outcome, then release it. */
export interface LoginAttempt {
  failed(): Promise<void>;
  succeeded(): Promise<void>;
  release(): Promise<void>;
}

/** A running attempt of the same pair holds the pair this long at most (a crashed one frees it). */
const BUSY_MS = 30_000;

const tooMany = (detail: string, retryAfter: number) =>
  new AppError('rate_limited', detail, { retry_after: retryAfter });

export function createLoginThrottle(deps: LoginThrottleDeps) {
  const { store, clock } = deps;
  const c = deps.config.loginThrottle;
  const policy = {
    freeFailures: c.freeFailures,
    baseDelayMs: c.delayBaseSeconds * 1000,
    maxDelayMs: c.delayMaxSeconds * 1000,
  };
  const windowMs = c.windowSeconds * 1000;
  const account = (email: string) => sha256Hex(email.trim().toLowerCase());
  // The account's generation: a password reset starts a new one, which forgets every pair's failures.
  const genKey = (acct: string) => `login:gen:${acct}`;
  const ipFailKey = (ip: string) => `login:ip:${ip}`;
  const ipWaitKey = (ip: string) => `login:ipwait:${ip}`;
  const until = (v: string | null) => (v === null ? 0 : Number(v) || 0);

  return {
    /**
     * Lets an attempt through or throws 429 (rate_limited, `retry_after` seconds). Call before any
     * password is checked; on success, report the outcome and release the attempt.
     */
    async begin(email: string, ip: string): Promise<LoginAttempt> {
      const acct = account(email);
      const [gen, ipUntil] = await Promise.all([store.get(genKey(acct)), store.get(ipWaitKey(ip))]);
      const now = clock.now().getTime();
      if (until(ipUntil) > now) {
        throw tooMany(
          'too many failed sign-ins from this address; try again later',
          retryAfterSeconds(until(ipUntil), now),
        );
      }
      const pair = `${acct}:${gen ?? '0'}:${ip}`;
      const pairUntil = until(await store.get(`login:wait:${pair}`));
      if (pairUntil > now) {
        const s = retryAfterSeconds(pairUntil, now);
        throw tooMany(`too many failed sign-ins for this account from this address; try again in ${s} s`, s);
      }
      if (!(await store.claim(`login:busy:${pair}`, '1', BUSY_MS))) {
        throw tooMany('another sign-in to this account from this address is running; try again', 1);
      }
      return {
        async failed() {
          const [pairHit, ipHit] = await Promise.all([
            store.hit(`login:fail:${pair}`, windowMs),
            store.hit(ipFailKey(ip), windowMs),
          ]);
          const t = clock.now().getTime();
          const delay = delayAfterFailure(pairHit.count, policy);
          await Promise.all([
            delay > 0
              ? store.set(`login:wait:${pair}`, String(t + delay), Math.max(windowMs, delay))
              : undefined,
            ipHit.count >= c.perIp
              ? store.set(ipWaitKey(ip), String(t + ipHit.resetMs), Math.max(ipHit.resetMs, 1))
              : undefined,
          ]);
        },
        async succeeded() {
          await Promise.all([store.del(`login:fail:${pair}`), store.del(`login:wait:${pair}`)]);
        },
        async release() {
          await store.del(`login:busy:${pair}`);
        },
      };
    },

    /** Forgets the account's failures at every address (after a password reset). */
    async clearAccount(email: string): Promise<void> {
      // Outlives every pair key of the old generation (they expire within one window).
      await store.set(genKey(account(email)), randomBytes(8).toString('hex'), 2 * windowMs);
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
