import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretGenerator } from '../../../test/fixtures/redact-corpus.js';
import { hasHiddenCharacters } from '../hidden-characters.js';
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

  describe('hidden characters (Trojan Source)', () => {
    // A right-to-left override (reads "invoice.exe.png" on a screen), a zero-width space and a
    // Cyrillic м in the command word "rm".
    const source = {
      action: { type: 'shell.exec' as const },
      title: 'invoice\u202Egnp.exe \u200Brм -rf tmp',
      summary: 'then r\u043C the \u2066rest\u2069',
    };
    const g = gist(source, { level: 'high', reasons: [] });
    const RAW = ['\u202E', '\u200B', '\u043C', '\u2066', '\u2069'];

    it('shows them as escapes on every form and never carries them', () => {
      for (const text of [g.chat, g.sms, g.speech]) for (const raw of RAW) expect(text).not.toContain(raw);
      expect(g.chat).toContain('invoice⟨U+202E⟩gnp.exe ⟨U+200B⟩r⟨U+043C⟩ -rf tmp');
      expect(g.chat).toContain('then r⟨U+043C⟩ the ⟨U+2066⟩rest⟨U+2069⟩');
      expect(g.sms).toContain('invoice<U+202E>gnp.exe <U+200B>r<U+043C> -rf tmp');
      expect(toGsm7(g.sms)).toBe(g.sms);
      expect(g.speech).toContain(
        'invoice (hidden character) gnp.exe (hidden character) r (look-alike letter) -rf tmp',
      );
      expect(g.speech).toContain('then r (look-alike letter) the (hidden character) rest (hidden character)');
    });

    it('shows control characters instead of turning them into spaces', () => {
      const c = gist({ ...source, title: 'a\u0007b\u001b[2Jc', summary: '' }, { level: 'low', reasons: [] });
      expect(c.chat).toContain('a⟨U+0007⟩b⟨U+001B⟩[2Jc');
      expect(c.sms).toContain('a<U+0007>b<U+001B>[2Jc');
    });

    it('never cuts an escape in half', () => {
      for (let n = 0; n < 12; n++) {
        const title = `${'x'.repeat(100 + n)}\u202E${'y'.repeat(60)}`;
        const c = gist(
          { ...source, title, summary: '' },
          { level: 'low', reasons: [] },
          { smsMaxSeptets: 130 },
        );
        expect(c.sms).not.toMatch(/<U\+?[0-9A-F]{0,5}\.\.\./);
        expect(c.sms.endsWith('...') || c.sms.includes('<U+202E>')).toBe(true);
        const chat = gist(
          { ...source, title: `${'x'.repeat(180 + n)}\u202E`, summary: '' },
          { level: 'low', reasons: [] },
        ).chat;
        expect(chat).not.toMatch(/⟨U?\+?[0-9A-F]{0,5}\.\.\./);
      }
    });

    it('leaves nothing hidden in any form, whatever the title and summary', () => {
      fc.assert(
        fc.property(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.string({ unit: 'binary', maxLength: 300 }),
          (title, summary) => {
            const out = gist(
              { action: { type: 'deploy' }, title, summary },
              { level: 'medium', reasons: [] },
            );
            for (const text of [out.chat, out.sms, out.speech]) expect(hasHiddenCharacters(text)).toBe(false);
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
