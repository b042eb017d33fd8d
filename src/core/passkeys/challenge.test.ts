import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  challengeBinds,
  challengeBytes,
  challengeOfClientData,
  challengeUsable,
  NONCE_LENGTH,
} from './challenge.js';

const H1 = '7d8c2c1e-0b5e-4c43-9d0e-2f7f3a7b8e11';
const H2 = '7d8c2c1e-0b5e-4c43-9d0e-2f7f3a7b8e12';

describe('passkey challenges', () => {
  it('a step-up challenge binds exactly one handoff and option', () => {
    const c = challengeBytes(randomBytes(NONCE_LENGTH), { handoffId: H1, option: 'approve' }).toString(
      'base64url',
    );
    expect(challengeBinds(c, H1, 'approve')).toBe(true);
    expect(challengeBinds(c, H2, 'approve')).toBe(false);
    expect(challengeBinds(c, H1, 'ship')).toBe(false);
    // Field boundaries are unambiguous ("a\0bc" is not "ab\0c").
    const d = challengeBytes(randomBytes(NONCE_LENGTH), { handoffId: 'a', option: 'bc' }).toString(
      'base64url',
    );
    expect(challengeBinds(d, 'ab', 'c')).toBe(false);
    // An unbound challenge binds nothing.
    const plain = challengeBytes(randomBytes(NONCE_LENGTH)).toString('base64url');
    expect(challengeBinds(plain, H1, 'approve')).toBe(false);
  });

  it('refuses a nonce of the wrong size and reads only a well-formed clientDataJSON', () => {
    expect(() => challengeBytes(randomBytes(16))).toThrow(/32 bytes/);
    const ok = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: 'abc_-1' })).toString(
      'base64url',
    );
    expect(challengeOfClientData(ok)).toBe('abc_-1');
    expect(challengeOfClientData(Buffer.from('not json').toString('base64url'))).toBeUndefined();
    expect(challengeOfClientData(Buffer.from('{"challenge":"a b"}').toString('base64url'))).toBeUndefined();
    expect(challengeOfClientData(Buffer.from('[1]').toString('base64url'))).toBeUndefined();
  });

  it('is usable until it expires or is used', () => {
    const now = new Date('2026-12-07T12:00:00Z');
    expect(challengeUsable({ expiresAt: new Date(now.getTime() + 1), usedAt: null }, now)).toBe(true);
    expect(challengeUsable({ expiresAt: now, usedAt: null }, now)).toBe(false);
    expect(challengeUsable({ expiresAt: new Date(now.getTime() + 1000), usedAt: now }, now)).toBe(false);
  });
});
