import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decryptWithDataKey,
  encryptWithDataKey,
  masterKeyFrom,
  safeEqual,
  unwrapDataKey,
  wrapDataKey,
} from '../../src/lib/crypto.js';
import { createMemoryStore, createRedisStore, type EphemeralStore } from '../../src/state/store.js';
import { realRedisUrl } from '../helpers/db.js';

describe('envelope encryption', () => {
  const master = masterKeyFrom(randomBytes(32));
  const org = '11111111-1111-4111-8111-111111111111';
  const keyId = '22222222-2222-4222-8222-222222222222';

  it('round-trips, binds the org and the purpose, and detects tampering', () => {
    const dek = randomBytes(32);
    const wrapped = wrapDataKey(master, org, dek);
    expect(unwrapDataKey(master, org, wrapped).equals(dek)).toBe(true);
    expect(() => unwrapDataKey(master, '33333333-3333-4333-8333-333333333333', wrapped)).toThrow();
    expect(() => unwrapDataKey(masterKeyFrom(randomBytes(32)), org, wrapped)).toThrow();

    const blob = encryptWithDataKey(keyId, dek, Buffer.from('JBSWY3DPEHPK3PXP'), 'totp:m1');
    expect(blob.includes(Buffer.from('JBSWY3DPEHPK3PXP'))).toBe(false);
    expect(decryptWithDataKey(dek, blob, 'totp:m1').toString()).toBe('JBSWY3DPEHPK3PXP');
    expect(() => decryptWithDataKey(dek, blob, 'totp:m2')).toThrow();
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => decryptWithDataKey(dek, tampered, 'totp:m1')).toThrow();
    // Two encryptions of the same secret differ (random IV).
    expect(
      encryptWithDataKey(keyId, dek, Buffer.from('x'), 'a').equals(
        encryptWithDataKey(keyId, dek, Buffer.from('x'), 'a'),
      ),
    ).toBe(false);
  });

  it('compares secrets in constant time semantics', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});

const redisUrl = realRedisUrl;
const stores: [string, () => Promise<EphemeralStore>][] = [['memory', async () => createMemoryStore()]];
if (redisUrl !== undefined) {
  stores.push(['redis', () => createRedisStore(redisUrl, `ony-test-${randomBytes(4).toString('hex')}:`)]);
}

describe.each(stores)('%s ephemeral store', (_name, make) => {
  it('counts hits in a window, reads, sets with a TTL and deletes', async () => {
    const store = await make();
    try {
      expect((await store.hit('w', 60_000)).count).toBe(1);
      const second = await store.hit('w', 60_000);
      expect(second.count).toBe(2);
      expect(second.resetMs).toBeGreaterThan(0);
      expect(second.resetMs).toBeLessThanOrEqual(60_000);
      expect(await store.peek('w')).toBe(2);
      expect(await store.peek('never')).toBe(0);
      await store.set('k', 'v', 60_000);
      expect(await store.get('k')).toBe('v');
      await store.del('k');
      expect(await store.get('k')).toBeNull();
      // A one-time value: of racing takers exactly one gets it.
      await store.set('once', 'code', 60_000);
      const taken = await Promise.all([store.take('once'), store.take('once'), store.take('once')]);
      expect(taken.filter((v) => v === 'code')).toHaveLength(1);
      expect(await store.take('once')).toBeNull();
      // A claim: of racing claimers exactly one wins; a taken key is not overwritten.
      const claims = await Promise.all([1, 2, 3].map((n) => store.claim('slot', String(n), 60_000)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await store.get('slot')).toBe(String(claims.indexOf(true) + 1));
      expect(await store.claim('slot', 'x', 60_000)).toBe(false);
      await store.set('short', 'v', 20);
      await new Promise((r) => setTimeout(r, 60));
      expect(await store.get('short')).toBeNull();
      await store.ping();
    } finally {
      await store.close();
    }
  });
});
