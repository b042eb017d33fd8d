import { describe, expect, it } from 'vitest';
import { attemptOutcome } from './attempt-outcome.js';

describe('attemptOutcome', () => {
  it('is sent when anything went out, skipped (with the reason) when nothing did', () => {
    expect(attemptOutcome(1, [])).toEqual({ outcome: 'sent', skipReason: null, skipped: 0 });
    expect(attemptOutcome(0, [])).toEqual({ outcome: 'sent', skipReason: null, skipped: 0 });
    expect(attemptOutcome(0, [{ reason: 'rate_limited' }])).toEqual({
      outcome: 'skipped',
      skipReason: 'rate_limited',
      skipped: 1,
    });
    expect(attemptOutcome(2, [{ reason: 'no_address' }])).toEqual({
      outcome: 'sent',
      skipReason: 'no_address',
      skipped: 1,
    });
  });

  it('names the reason an admin can act on first', () => {
    expect(
      attemptOutcome(0, [{ reason: 'no_address' }, { reason: 'rate_limited' }, { reason: 'no_reply_code' }])
        .skipReason,
    ).toBe('rate_limited');
    expect(attemptOutcome(0, [{ reason: 'no_address' }, { reason: 'no_reply_code' }]).skipReason).toBe(
      'no_reply_code',
    );
  });
});
