import { describe, expect, it } from 'vitest';
import { typedConfirmation } from './typed-confirmation.js';

const critical = { riskLevel: 'critical', shortCode: 'AB7KQ2' } as const;

describe('typedConfirmation', () => {
  it('asks only for approving a critical handoff on the web', () => {
    expect(typedConfirmation(critical, { approving: false, channel: 'web', typed: undefined })).toBe(
      'not_needed',
    );
    expect(typedConfirmation(critical, { approving: true, channel: 'slack', typed: undefined })).toBe(
      'not_needed',
    );
    expect(
      typedConfirmation(
        { ...critical, riskLevel: 'high' },
        { approving: true, channel: 'web', typed: undefined },
      ),
    ).toBe('not_needed');
  });
  it('refuses a missing or wrong code and accepts the code however it is typed', () => {
    const web = (typed: string | undefined) =>
      typedConfirmation(critical, { approving: true, channel: 'web', typed });
    expect(web(undefined)).toBe('missing');
    expect(web('  ')).toBe('missing');
    expect(web('AB7KQ3')).toBe('wrong');
    expect(web('AB7KQ')).toBe('wrong');
    expect(web('AB7KQ2')).toBe('ok');
    expect(web(' ab7-kq2 ')).toBe('ok');
  });
});
