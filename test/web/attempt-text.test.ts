import { describe, expect, it } from 'vitest';
import { attemptText } from '../../src/web/src/attempt-text.js';

const at = '2026-12-07T10:00:00.000Z';

describe("the handoff timeline's escalation attempts (#18 2.2)", () => {
  it('says skipped and why, and names partial skips', () => {
    expect(
      attemptText({ step: 1, channel: 'sms', at, outcome: 'skipped', skip_reason: 'rate_limited' }),
    ).toBe('Escalation step 2: sms — skipped (the per-number limit was reached)');
    expect(attemptText({ step: 0, channel: 'phone', at, outcome: 'sent', skip_reason: 'no_address' })).toBe(
      'Escalation step 1: phone — sent; some recipients skipped (no verified address)',
    );
    expect(attemptText({ step: 0, channel: 'slack', at, outcome: 'sent', skip_reason: null })).toBe(
      'Escalation step 1: slack — sent',
    );
  });
});
