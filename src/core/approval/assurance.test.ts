import { describe, expect, it } from 'vitest';
import {
  amrShowsMfa,
  assess,
  assuranceLevel,
  atLeast,
  DECISION_CHANNELS,
  describeAssurance,
  FRESH_SESSION_S,
  IDENTITY_PROOFS,
  requiredAssurance,
  STEP_UPS,
  stepUpAdvice,
  type AssuranceFacts,
  type AssuranceLevel,
} from './assurance.js';

const facts = (f: Partial<AssuranceFacts>): AssuranceFacts => ({
  channel: 'web',
  session_age_s: 60,
  step_up: 'none',
  identity: 'password',
  amr: null,
  acr: null,
  ...f,
});

describe('assurance levels', () => {
  // The table: every channel, step-up and identity proof, with session ages either side of the bound
  // and SSO with and without MFA in its amr.
  const ages = [null, 0, FRESH_SESSION_S, FRESH_SESSION_S + 1, 86_400];
  const amrs = [null, [], ['pwd'], ['mfa'], ['pwd', 'otp'], ['hwk', 'face'], ['otp']];
  const rows: [AssuranceFacts, AssuranceLevel][] = [];
  for (const channel of DECISION_CHANNELS)
    for (const step_up of STEP_UPS)
      for (const identity of IDENTITY_PROOFS)
        for (const session_age_s of ages)
          for (const amr of identity === 'sso' ? amrs : [null]) {
            const f = facts({ channel, step_up, identity, session_age_s, amr });
            const fresh = channel === 'web' && session_age_s !== null && session_age_s <= FRESH_SESSION_S;
            const mfaSignIn =
              identity === 'password_mfa' ||
              (identity === 'sso' && amr !== null && (amr.includes('mfa') || amr.length === 2));
            const expected: AssuranceLevel =
              step_up === 'passkey' ? 'A3' : step_up === 'totp' || (fresh && mfaSignIn) ? 'A2' : 'A1';
            rows.push([f, expected]);
          }

  it(`gives the expected level for each of ${rows.length} combinations`, () => {
    for (const [f, expected] of rows) expect([f, assuranceLevel(f)]).toEqual([f, expected]);
    expect(rows.length).toBeGreaterThan(500);
  });

  it.each([
    ['a Slack answer alone', facts({ channel: 'slack', identity: 'chat_link', session_age_s: null }), 'A1'],
    ['an SMS answer alone', facts({ channel: 'sms', identity: 'phone_number', session_age_s: null }), 'A1'],
    [
      'a voice answer alone',
      facts({ channel: 'phone', identity: 'phone_number', session_age_s: null }),
      'A1',
    ],
    [
      'an SMS answer with TOTP',
      facts({ channel: 'sms', identity: 'phone_number', session_age_s: null, step_up: 'totp' }),
      'A2',
    ],
    ['a fresh password session', facts({ identity: 'password' }), 'A1'],
    ['a fresh password + TOTP session', facts({ identity: 'password_mfa' }), 'A2'],
    ['a stale password + TOTP session', facts({ identity: 'password_mfa', session_age_s: 3600 }), 'A1'],
    ['a stale session with TOTP step-up', facts({ session_age_s: 3600, step_up: 'totp' }), 'A2'],
    ['fresh SSO with amr mfa', facts({ identity: 'sso', amr: ['mfa'] }), 'A2'],
    ['fresh SSO with pwd only', facts({ identity: 'sso', amr: ['pwd'] }), 'A1'],
    ['fresh SSO without amr (acr is not read as proof)', facts({ identity: 'sso', acr: 'gold' }), 'A1'],
    ['a passkey step-up', facts({ step_up: 'passkey' }), 'A3'],
  ] as const)('%s is %s', (_name, f, level) => {
    expect(assuranceLevel(f)).toBe(level);
  });

  it('reads amr by factor classes', () => {
    expect(amrShowsMfa(null)).toBe(false);
    expect(amrShowsMfa(['pwd', 'kba'])).toBe(false); // two methods, one class
    expect(amrShowsMfa(['otp', 'sms'])).toBe(false);
    expect(amrShowsMfa(['pwd', 'sms'])).toBe(true);
    expect(amrShowsMfa(['swk', 'fpt'])).toBe(true);
    expect(amrShowsMfa(['mfa'])).toBe(true);
  });

  it('orders levels and raises SMS answers to critical handoffs to A2', () => {
    expect(atLeast('A2', 'A1')).toBe(true);
    expect(atLeast('A2', 'A2')).toBe(true);
    expect(atLeast('A1', 'A2')).toBe(false);
    expect(atLeast('A3', 'A2')).toBe(true);
    expect(requiredAssurance('A1', 'critical', 'sms')).toBe('A2');
    expect(requiredAssurance('A3', 'critical', 'sms')).toBe('A3');
    expect(requiredAssurance('A1', 'critical', 'web')).toBe('A1');
    expect(requiredAssurance('A1', 'high', 'sms')).toBe('A1');
  });

  it('describes an answer in one line and says how to step up', () => {
    expect(describeAssurance(assess(facts({ step_up: 'totp' })))).toBe('A2 · web · TOTP');
    expect(describeAssurance(assess(facts({ identity: 'sso', amr: ['pwd', 'otp'] })))).toBe(
      'A2 · web · SSO (pwd, otp)',
    );
    expect(
      describeAssurance(assess(facts({ channel: 'slack', identity: 'chat_link', session_age_s: null }))),
    ).toBe('A1 · slack · linked account');
    const slack = assess(facts({ channel: 'slack', identity: 'chat_link', session_age_s: null }));
    expect(stepUpAdvice(slack, 'A2', false)).toMatch(/needs assurance A2; this answer was A1.*dashboard/);
    expect(stepUpAdvice(slack, 'A3', true)).toMatch(/passkey/);
    expect(stepUpAdvice(assess(facts({})), 'A2', true)).toMatch(/TOTP code with the decision \(`totp`\)/);
  });
});
