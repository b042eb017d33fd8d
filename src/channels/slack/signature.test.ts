import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { slackSignature, verifySlackSignature } from './signature.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const BODY = 'payload=%7B%22type%22%3A%22block_actions%22%7D';
const TS = '1700000000';
const AT = new Date(1_700_000_000_000);

describe('slack v0 signatures', () => {
  it('computes hex HMAC-SHA256 over v0:{ts}:{body}', () => {
    const expected = createHmac('sha256', SECRET).update(`v0:${TS}:${BODY}`).digest('hex');
    expect(slackSignature(SECRET, TS, BODY)).toBe(`v0=${expected}`);
    expect(slackSignature(SECRET, TS, Buffer.from(BODY))).toBe(`v0=${expected}`);
  });

  it('accepts a fresh, correct signature', () => {
    const signature = slackSignature(SECRET, TS, BODY);
    expect(verifySlackSignature(SECRET, { signature, timestamp: TS }, BODY, AT)).toEqual({ ok: true });
    // Up to five minutes either way.
    expect(
      verifySlackSignature(SECRET, { signature, timestamp: TS }, BODY, new Date(AT.getTime() + 300_000)),
    ).toEqual({ ok: true });
  });

  it('refuses a stale or future timestamp even when the signature matches', () => {
    const signature = slackSignature(SECRET, TS, BODY);
    for (const skewMs of [301_000, -301_000]) {
      expect(
        verifySlackSignature(SECRET, { signature, timestamp: TS }, BODY, new Date(AT.getTime() + skewMs)),
      ).toEqual({ ok: false, reason: 'stale' });
    }
  });

  it('refuses a wrong secret, a changed body, a changed timestamp and junk', () => {
    const signature = slackSignature(SECRET, TS, BODY);
    const check = (sig: string | undefined, ts: string | undefined, body: string, secret = SECRET) =>
      verifySlackSignature(secret, { signature: sig, timestamp: ts }, body, AT);
    expect(check(signature, TS, BODY, 'another-secret')).toEqual({ ok: false, reason: 'mismatch' });
    expect(check(signature, TS, `${BODY}x`)).toEqual({ ok: false, reason: 'mismatch' });
    expect(check(signature, '1700000001', BODY)).toEqual({ ok: false, reason: 'mismatch' });
    expect(check(signature.toUpperCase(), TS, BODY)).toEqual({ ok: false, reason: 'mismatch' });
    expect(check('v0=abc', TS, BODY)).toEqual({ ok: false, reason: 'mismatch' });
    expect(check(undefined, TS, BODY)).toEqual({ ok: false, reason: 'missing' });
    expect(check(signature, undefined, BODY)).toEqual({ ok: false, reason: 'missing' });
    expect(check(signature, '17e8', BODY)).toEqual({ ok: false, reason: 'missing' });
  });
});
