/**
 * The replay guard (DESIGN.md §3.10, issue #18 item 2.1): provider message ids, nonces, signatures
 * and chat update ids are claimed once, durably, in Postgres (replay_claims, through a narrow
 * definer function; keys stored only as SHA-256 hashes, with an expiry; expired rows are swept by
 * the claims themselves). The ephemeral store is only a fast first check that spares Postgres a
 * round trip for an obvious repeat: losing it (a Redis restart or FLUSHDB) re-opens no replay.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { sha256 } from '../../lib/crypto.js';
import type { EphemeralStore } from '../../state/store.js';
import { claimReplayKey, releaseReplayKey } from './replay.repository.js';

/** The longest a claim may be held (the definer function refuses more than 31 days). */
export const MAX_REPLAY_TTL_MS = 30 * 24 * 3600_000;

export interface ReplayGuard {
  /** True the first time `key` is claimed within `ttlMs`; false for a repeat (a replay). */
  claim(key: string, ttlMs: number): Promise<boolean>;
  /** Gives the claim back, so the same request can be handled again (its handling failed). */
  release(key: string): Promise<void>;
}

export interface ReplayGuardDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly store: Pick<EphemeralStore, 'claim' | 'del'>;
}

export function createReplayGuard({ db, clock, store }: ReplayGuardDeps): ReplayGuard {
  const hashOf = (key: string) => sha256(`ony-replay:${key}`);
  const fastKey = (hash: Buffer) => `replay:${hash.toString('hex')}`;
  return {
    async claim(key, ttlMs) {
      if (!(ttlMs > 0 && ttlMs <= MAX_REPLAY_TTL_MS))
        throw new RangeError(`replay ttl out of range: ${ttlMs}`);
      const hash = hashOf(key);
      if (!(await store.claim(fastKey(hash), '1', ttlMs))) return false;
      const now = clock.now();
      try {
        return await claimReplayKey(db, hash, new Date(now.getTime() + ttlMs), now);
      } catch (err) {
        // Postgres did not answer: the provider's retry must find the fast check free again.
        await store.del(fastKey(hash)).catch(() => undefined);
        throw err;
      }
    },
    async release(key) {
      const hash = hashOf(key);
      await releaseReplayKey(db, hash);
      await store.del(fastKey(hash));
    },
  };
}
