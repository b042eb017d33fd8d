import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gsm7Length } from '../gist/gsm7.js';
import { approvalSms, parseSmsReply, SMS_MAX_SEPTETS, smsNeedsTotp } from './sms.js';

describe('approval SMS', () => {
  it('adds a model summary labelled, after the bounded gist and before the reply instructions', () => {
    const text = approvalSms('ony MEDIUM deploy: Deploy api (deploys)', 4, false, 'Deploys the api service.');
    expect(text).toBe(
      'ony MEDIUM deploy: Deploy api (deploys) Summary (model): Deploys the api service. Reply 4A to approve, 4D to deny.',
    );
  });

  it('ends with the reply instructions and fits one SMS, shortening only the gist', () => {
    const text = approvalSms('ony MEDIUM deploy: Deploy api to staging (deploys)', 3, false);
    expect(text).toBe('ony MEDIUM deploy: Deploy api to staging (deploys) Reply 3A to approve, 3D to deny.');
    const long = approvalSms(`ony HIGH deploy: ${'x'.repeat(300)}`, 12, true);
    expect(gsm7Length(long)).toBeLessThanOrEqual(SMS_MAX_SEPTETS);
    expect(long).toMatch(/ Reply 12A and your 6-digit code to approve \(12A 123456\), 12D to deny\.$/);
  });

  it('keeps a hidden character\u2019s escape whole or leaves it out when it shortens the gist', () => {
    for (let n = 90; n < 110; n++) {
      const text = approvalSms(`ony HIGH deploy: ${'x'.repeat(n)}<U+202E>gnp.exe`, 1, false);
      expect(gsm7Length(text)).toBeLessThanOrEqual(SMS_MAX_SEPTETS);
      expect(text).not.toMatch(/<U?\+?[0-9A-F]{0,5}\.\.\./);
    }
  });

  it('asks for the TOTP code only for high and critical risk', () => {
    expect(['low', 'medium', 'high', 'critical'].map(smsNeedsTotp)).toEqual([false, false, true, true]);
  });
});

describe('SMS replies', () => {
  it('reads votes with or without a TOTP code, in any case and spacing', () => {
    expect(parseSmsReply('1A')).toEqual({ kind: 'vote', code: 1, choice: 'approve' });
    expect(parseSmsReply(' 12 d ')).toEqual({ kind: 'vote', code: 12, choice: 'deny' });
    expect(parseSmsReply('3a 123456')).toEqual({
      kind: 'vote',
      code: 3,
      choice: 'approve',
      totpCode: '123456',
    });
    expect(parseSmsReply('3A123456')).toEqual({
      kind: 'vote',
      code: 3,
      choice: 'approve',
      totpCode: '123456',
    });
    expect(parseSmsReply('3A: 123456.')).toEqual({
      kind: 'vote',
      code: 3,
      choice: 'approve',
      totpCode: '123456',
    });
  });

  it("takes codes up to six digits (a number's codes count up and are never reused)", () => {
    expect(parseSmsReply('1042d')).toEqual({ kind: 'vote', code: 1042, choice: 'deny' });
    expect(parseSmsReply('999999A 123456')).toEqual({
      kind: 'vote',
      code: 999999,
      choice: 'approve',
      totpCode: '123456',
    });
  });

  it('knows STOP / START / HELP keywords and refuses everything else', () => {
    expect(parseSmsReply('stop')).toEqual({ kind: 'stop' });
    expect(parseSmsReply('UNSUBSCRIBE')).toEqual({ kind: 'stop' });
    expect(parseSmsReply('Start')).toEqual({ kind: 'start' });
    expect(parseSmsReply('help')).toEqual({ kind: 'help' });
    for (const junk of ['', 'yes please', '0A', '1000000A', '1X', '1A 12345', '1A 1234567', 'A1', '1A1D'])
      expect(parseSmsReply(junk).kind, junk).not.toBe('vote');
  });

  it('never throws and never reads a vote out of text that does not start with a code', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const r = parseSmsReply(s);
        if (r.kind === 'vote') expect(s.trim()).toMatch(/^\d/);
      }),
    );
  });
});
