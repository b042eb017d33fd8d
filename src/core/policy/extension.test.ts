import { describe, expect, it } from 'vitest';
import { checkExtension } from './extension.js';

const created = new Date('2026-12-07T10:00:00Z');
const h = { status: 'pending', createdAt: created, expiresAt: new Date('2026-12-07T10:15:00Z') };
const now = new Date('2026-12-07T10:10:00Z');

describe('checkExtension', () => {
  it('moves the expiry later by the amount asked, within the total life', () => {
    expect(checkExtension(h, 600, 3600, now)).toEqual({
      kind: 'ok',
      expiresAt: new Date('2026-12-07T10:25:00Z'),
    });
    // Exactly at the maximum is allowed.
    expect(checkExtension(h, 45 * 60, 3600, now).kind).toBe('ok');
  });
  it('refuses beyond the maximum and says how much is left', () => {
    expect(checkExtension(h, 46 * 60, 3600, now)).toEqual({
      kind: 'beyond_max',
      maxExpiresAt: new Date('2026-12-07T11:00:00Z'),
      maxExtendS: 45 * 60,
    });
  });
  it('refuses a decided or already expired handoff', () => {
    expect(checkExtension({ ...h, status: 'denied' }, 60, 3600, now)).toEqual({
      kind: 'not_pending',
      status: 'denied',
    });
    expect(checkExtension(h, 60, 3600, new Date('2026-12-07T10:15:00Z'))).toEqual({
      kind: 'not_pending',
      status: 'expired',
    });
  });
});
