/**
 * Issue #18 item 3.2: no lockout denial of service. Failed sign-ins slow down the (account, client
 * address) pair with exponentially growing, capped delays, and each address has a budget of
 * failures across accounts; the owner signing in from another address is never held back. Time
 * moves by the test clock (no sleeps).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../src/db/client.js';
import { newToken, sha256 } from '../../src/lib/crypto.js';
import { insertToken } from '../../src/features/mail/mail.repository.js';
import { RESET_PREFIX } from '../../src/features/mail/account-mail.service.js';
import { createOrgWithAdmin, PASSWORD, startTestServer, type TestServer } from '../helpers/app.js';

let t: TestServer;
const OWNER = 'owner@throttle.test';
const WRONG = 'not the password at all';

beforeAll(async () => {
  t = await startTestServer({
    ONY_LOGIN_FREE_FAILURES: '3',
    ONY_LOGIN_DELAY_BASE_SECONDS: '1',
    ONY_LOGIN_DELAY_MAX_SECONDS: '60',
    ONY_LOGIN_MAX_FAILURES_PER_IP: '20',
    // Longer than every clock move below, so the memory and Redis stores agree on what is remembered.
    ONY_LOGIN_WINDOW_SECONDS: '86400',
  });
  await createOrgWithAdmin(t, 'throttle', OWNER);
});
afterAll(async () => t?.close());

let nextIp = 1;
/** A fresh client address for each test, so tests do not share a pair or a budget. */
const freshIp = () => `198.51.100.${nextIp++}`;

const attempt = (email: string, password: string, ip: string) =>
  t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, remoteAddress: ip });

/** Fails `n` times from `ip`, moving the clock past each delay; answers the last answer. */
async function failTimes(email: string, ip: string, n: number) {
  let last;
  for (let i = 0; i < n; i++) {
    last = await attempt(email, WRONG, ip);
    if (last.statusCode === 429) {
      t.clock.advance(Number(last.headers['retry-after']) * 1000);
      last = await attempt(email, WRONG, ip);
    }
    expect(last.statusCode).toBe(401);
  }
  return last!;
}

describe('progressive delays per (account, address)', () => {
  it('the attacker from one address is slowed; the owner from another address signs in at once', async () => {
    const attacker = freshIp();
    await failTimes(OWNER, attacker, 3);
    // The delay runs: answered 429 without checking the password, even the right one.
    const held = await attempt(OWNER, PASSWORD, attacker);
    expect(held.statusCode).toBe(429);
    expect(held.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(held.headers['retry-after']).toBe('1');
    expect(held.json()).toMatchObject({ code: 'rate_limited', retry_after: 1 });
    expect(held.headers['set-cookie']).toBeUndefined();
    // Many more failures from the attacker...
    await failTimes(OWNER, attacker, 6);
    // ...and the owner, from another address, gets in with no delay at all.
    const owner = await attempt(OWNER, PASSWORD, freshIp());
    expect(owner.statusCode).toBe(200);
    // The attacker's pair is still held.
    expect((await attempt(OWNER, PASSWORD, attacker)).statusCode).toBe(429);
  });

  it('the delays double from the base and stop at the cap; Retry-After counts down; held attempts do not count', async () => {
    const ip = freshIp();
    await failTimes(OWNER, ip, 2);
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      expect((await attempt(OWNER, WRONG, ip)).statusCode).toBe(401);
      const held = await attempt(OWNER, WRONG, ip);
      expect(held.statusCode).toBe(429);
      const s = Number(held.headers['retry-after']);
      delays.push(s);
      if (s > 2) {
        // Half-way through, Retry-After says what is left, and a held attempt does not lengthen it.
        t.clock.advance((s / 2) * 1000);
        expect(Number((await attempt(OWNER, WRONG, ip)).headers['retry-after'])).toBe(Math.ceil(s / 2));
        t.clock.advance((s / 2) * 1000 - 1);
        expect((await attempt(OWNER, WRONG, ip)).headers['retry-after']).toBe('1');
        t.clock.advance(1);
      } else {
        t.clock.advance(s * 1000);
      }
    }
    expect(delays).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
  });

  it('a success clears its own pair: the next failure is free again', async () => {
    const ip = freshIp();
    await failTimes(OWNER, ip, 4);
    const held = await attempt(OWNER, PASSWORD, ip);
    expect(held.statusCode).toBe(429);
    t.clock.advance(Number(held.headers['retry-after']) * 1000);
    expect((await attempt(OWNER, PASSWORD, ip)).statusCode).toBe(200);
    expect((await attempt(OWNER, WRONG, ip)).statusCode).toBe(401);
    expect((await attempt(OWNER, WRONG, ip)).statusCode).toBe(401);
  });

  it('parallel guesses from one address cannot slip past the delay: attempts of a pair run one at a time', async () => {
    const ip = freshIp();
    const answers = await Promise.all(Array.from({ length: 12 }, () => attempt(OWNER, WRONG, ip)));
    const checked = answers.filter((a) => a.statusCode === 401).length;
    expect(checked).toBeGreaterThanOrEqual(1);
    expect(checked).toBeLessThanOrEqual(3);
    expect(answers.every((a) => a.statusCode === 401 || a.statusCode === 429)).toBe(true);
  });

  it('tells nothing about whether an account exists: the same answers for an unknown email', async () => {
    const answersFor = async (email: string) => {
      const ip = freshIp();
      const out: unknown[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await attempt(email, WRONG, ip);
        const body = r.json<{ code: string; detail: string }>();
        out.push([r.statusCode, r.headers['retry-after'] ?? null, body.code, body.detail]);
      }
      return out;
    };
    const known = await answersFor(OWNER);
    const unknown = await answersFor(`nobody-${randomUUID()}@throttle.test`);
    expect(unknown).toEqual(known);
    expect(known.map((k) => (k as unknown[])[0])).toEqual([401, 401, 401, 429, 429]);
  });
});

describe('the budget per address', () => {
  it('an address that failed on many accounts is refused (429) for any account; other addresses are not', async () => {
    const ip = freshIp();
    for (let i = 0; i < 20; i++) {
      expect((await attempt(`spray-${i}@throttle.test`, WRONG, ip)).statusCode).toBe(401);
    }
    const spent = await attempt(OWNER, PASSWORD, ip);
    expect(spent.statusCode).toBe(429);
    expect(spent.json().detail).toMatch(/from this address/);
    // Retry-After: until the window that began with the first failure ends (86400 s here).
    const retry = Number(spent.headers['retry-after']);
    expect(retry).toBeGreaterThan(86_000);
    expect(retry).toBeLessThanOrEqual(86_400);
    expect((await attempt(OWNER, PASSWORD, freshIp())).statusCode).toBe(200);
  });
});

describe('a password reset', () => {
  it('clears the account’s throttle at every address', async () => {
    const a = freshIp();
    const b = freshIp();
    await failTimes(OWNER, a, 5);
    await failTimes(OWNER, b, 5);
    expect((await attempt(OWNER, PASSWORD, a)).statusCode).toBe(429);
    expect((await attempt(OWNER, PASSWORD, b)).statusCode).toBe(429);

    const token = newToken(RESET_PREFIX);
    const owner = await orgOf(OWNER);
    await withTenant(t.database.db, owner.orgId, (tx) =>
      insertToken(tx, {
        memberId: owner.memberId,
        purpose: 'password_reset',
        tokenHash: sha256(token),
        newEmail: null,
        now: t.clock.now(),
        expiresAt: new Date(t.clock.now().getTime() + 600_000),
      }),
    );
    const next = 'a brand new password 2026';
    const reset = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/password-reset/confirm',
      payload: { token, password: next },
    });
    expect(reset.statusCode).toBe(204);
    expect((await attempt(OWNER, next, a)).statusCode).toBe(200);
    // The other address starts from zero too: its next failures are free again.
    expect((await attempt(OWNER, WRONG, b)).statusCode).toBe(401);
    expect((await attempt(OWNER, WRONG, b)).statusCode).toBe(401);
    expect((await attempt(OWNER, next, b)).statusCode).toBe(200);
  });
});

describe('bad input', () => {
  it('is refused with 400 problem+json before the throttle and does not count as a failure', async () => {
    const ip = freshIp();
    for (const payload of [
      { email: OWNER },
      { email: 'not an email', password: WRONG },
      { email: OWNER, password: '' },
      { email: OWNER, password: WRONG, extra: true },
    ]) {
      const r = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload, remoteAddress: ip });
      expect(r.statusCode).toBe(400);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    for (let i = 0; i < 3; i++) expect((await attempt(OWNER, WRONG, ip)).statusCode).toBe(401);
  });
});

async function orgOf(email: string): Promise<{ orgId: string; memberId: string }> {
  const session = await attempt(email, PASSWORD, freshIp());
  if (session.statusCode === 200) {
    const b = session.json<{ org_id: string; member_id: string }>();
    return { orgId: b.org_id, memberId: b.member_id };
  }
  throw new Error(`cannot sign in as ${email}: ${session.statusCode}`);
}
