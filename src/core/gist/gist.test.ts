import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretGenerator } from '../../../test/fixtures/redact-corpus.js';
import { ACTION_TYPES, REASON_CODES, RISK_LEVELS, deriveRisk, type RiskInput } from '../risk/index.js';
import { gsm7Length, toGsm7 } from './gsm7.js';
import { gist } from './index.js';

const gen = new SecretGenerator(5);

describe('gist', () => {
  it('says what, how risky and why, with secrets redacted', () => {
    const token = gen.checksummed('ghp_');
    const handoff: RiskInput = {
      action: { type: 'shell.exec' },
      title: `Push with ${token}`,
      summary: 'Cleans the build output.',
      payload: { kind: 'command', content: 'rm -rf / # PAYLOAD-MARKER' },
    };
    const g = gist(handoff, deriveRisk(handoff));
    for (const text of [g.speech, g.sms, g.chat]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain('PAYLOAD-MARKER');
    }
    expect(g.sms).toMatch(/^ony CRITICAL shell command: /);
    expect(g.chat).toContain('recursive_delete_root');
    expect(g.speech).toContain('redacted secret');
  });

  it('keeps every form bounded, SMS in GSM-7 within 160 septets, and never leaks the payload', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ACTION_TYPES),
        fc.string({ minLength: 1, maxLength: 200, unit: 'binary' }),
        fc.string({ maxLength: 2000, unit: 'binary' }),
        fc.constantFrom(...RISK_LEVELS),
        fc.uniqueArray(fc.constantFrom(...REASON_CODES), { maxLength: 8 }),
        fc.integer({ min: 40, max: 160 }),
        (type, title, summary, level, reasons, smsMax) => {
          const marker = 'ZZPAYLOADZZ';
          const g = gist(
            { action: { type }, title, summary, payload: { kind: 'text', content: marker } } as RiskInput,
            { level, reasons },
            { smsMaxSeptets: smsMax },
          );
          expect(gsm7Length(g.sms)).toBeLessThanOrEqual(smsMax);
          expect(toGsm7(g.sms)).toBe(g.sms);
          expect(g.speech.length).toBeLessThanOrEqual(500);
          expect(g.chat.length).toBeLessThanOrEqual(1000);
          if (!title.includes(marker) && !summary.includes(marker)) {
            for (const text of [g.speech, g.sms, g.chat]) expect(text).not.toContain(marker);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts GSM-7 extension characters as two septets', () => {
    expect(gsm7Length('{}')).toBe(4);
    expect(toGsm7('café naïve – “ok” → ✓')).toBe('café naive - "ok" -> ?');
  });
});
