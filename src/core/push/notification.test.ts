import { describe, expect, it } from 'vitest';
import { pushNotification, PUSH_TITLE_MAX, subscriptionProblem } from './notification.js';

const b64u = (n: number, first?: number) => {
  const b = Buffer.alloc(n, 7);
  if (first !== undefined) b[0] = first;
  return b.toString('base64url');
};

describe('pushNotification', () => {
  const base = { handoffId: 'h-1', shortCode: 'K7M2QX', actionType: 'deploy', riskLevel: 'high' };

  it('holds the gist fields only, with the page path', () => {
    expect(pushNotification({ ...base, title: 'Deploy web' })).toEqual({
      v: 1,
      handoff_id: 'h-1',
      short_code: 'K7M2QX',
      action_type: 'deploy',
      risk_level: 'high',
      title: 'Deploy web',
      path: '/handoffs/h-1',
    });
  });

  it('shows hidden characters and bounds the title', () => {
    expect(pushNotification({ ...base, title: 'a\u202Eb' }).title).not.toContain('\u202E');
    const long = pushNotification({ ...base, title: 'x'.repeat(500) }).title;
    expect([...long]).toHaveLength(PUSH_TITLE_MAX);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('subscriptionProblem', () => {
  it('accepts a P-256 point and a 16-byte secret', () => {
    expect(subscriptionProblem({ p256dh: b64u(65, 4), auth: b64u(16) })).toBeUndefined();
  });

  it('names the bad key', () => {
    expect(subscriptionProblem({ p256dh: b64u(65, 2), auth: b64u(16) })).toBe('p256dh');
    expect(subscriptionProblem({ p256dh: b64u(33, 4), auth: b64u(16) })).toBe('p256dh');
    expect(subscriptionProblem({ p256dh: 'not base64!', auth: b64u(16) })).toBe('p256dh');
    expect(subscriptionProblem({ p256dh: b64u(65, 4), auth: b64u(32) })).toBe('auth');
    expect(subscriptionProblem({ p256dh: b64u(65, 4), auth: '' })).toBe('auth');
  });
});
