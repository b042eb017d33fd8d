import { describe, expect, it } from 'vitest';
import {
  afterDecision,
  keypad,
  MAX_TOTP_FAILURES,
  menuText,
  onAnswer,
  onKeys,
  onNoInput,
  reprompt,
  SAY,
  startCall,
  verificationScript,
  type ApprovalCall,
  type CallContext,
  type Step,
} from './call-flow.js';

const urls = { action: 'https://ony.test/v?s=t', noInput: 'https://ony.test/v?s=t&noinput=1' };
const ctx: CallContext = {
  speech: 'Approval needed for a high risk deploy. Deploy api to production.',
  options: [
    { id: 'approve', label: 'Approve' },
    { id: 'deny', label: 'Deny' },
  ],
  actionType: 'deploy',
  riskLevel: 'high',
  listen: false,
};
const fresh = () => startCall('h1', 'm1', ctx);
const script = (s: Step) => {
  if (!('script' in s)) throw new Error('expected a script, got a decision');
  return s.script;
};
const spoken = (s: Step) => {
  const sc = script(s);
  return [...sc.say, ...(sc.gather?.prompt ?? [])];
};

describe('the approval call', () => {
  it('greets a person, speaks the gist inside a one-digit gather, and redirects to no-input', () => {
    const s = onAnswer(fresh(), 'human', urls);
    const sc = script(s);
    expect(sc.say).toEqual([SAY.hello]);
    expect(sc.gather).toMatchObject({ digits: 1, action: urls.action, speech: false, finishOnKey: '' });
    expect(sc.gather?.prompt).toEqual([ctx.speech, 'Press 1 to approve, 2 to deny, or star to repeat.']);
    expect(sc.then).toEqual({ kind: 'redirect', url: urls.noInput });
  });

  it('tells a voicemail only that an approval waits: no gist, no menu', () => {
    const s = onAnswer(fresh(), 'machine', urls);
    expect(script(s)).toEqual({ say: [SAY.voicemail], then: { kind: 'hangup' } });
    expect(s.state.outcome).toBe('voicemail');
  });

  it('1 asks to approve, 2 to deny, * repeats the gist, another key repeats the menu only', () => {
    expect(onKeys(fresh(), '1', urls)).toMatchObject({ decide: { option: 'approve' } });
    expect(onKeys(fresh(), '2', urls)).toMatchObject({ decide: { option: 'deny' } });
    expect(spoken(onKeys(fresh(), '*', urls))).toContain(ctx.speech);
    const wrong = onKeys(fresh(), '9', urls);
    expect(spoken(wrong)).toEqual([SAY.wrongKey, menuText(ctx)]);
  });

  it('repeats once on silence, then hangs up with no_input', () => {
    const once = onNoInput(fresh(), urls);
    expect(script(once).gather?.digits).toBe(1);
    const twice = onNoInput(once.state, urls);
    expect(script(twice)).toEqual({ say: [SAY.noInput], then: { kind: 'hangup' } });
    expect(twice.state.outcome).toBe('no_input');
  });

  it('asks for the TOTP code when the decision path needs it; three wrong codes end the call', () => {
    const chose = onKeys(fresh(), '1', urls);
    let s: Step = afterDecision(chose.state, { kind: 'totp_required' }, urls);
    expect(script(s).gather).toMatchObject({ digits: 6, finishOnKey: '#' });
    expect(s.state.phase).toBe('totp');
    expect(onKeys(s.state, '123456', urls)).toMatchObject({
      decide: { option: 'approve', totpCode: '123456' },
    });
    // A malformed code counts as a wrong one without asking the decision path.
    s = onKeys(s.state, '12', urls);
    expect(spoken(s)[0]).toBe(SAY.totpWrong);
    for (let i = 1; i < MAX_TOTP_FAILURES; i++) s = afterDecision(s.state, { kind: 'totp_invalid' }, urls);
    expect(script(s)).toEqual({ say: [SAY.totpFailed], then: { kind: 'hangup' } });
    expect(s.state.outcome).toBe('totp_failed');
  });

  it('ends with a confirmation or the refusal, and a finished call stays finished', () => {
    const approved = afterDecision(fresh(), { kind: 'decided', status: 'approved' }, urls);
    expect(script(approved).say).toEqual([SAY.approved]);
    expect(script(afterDecision(fresh(), { kind: 'decided', status: 'denied' }, urls)).say).toEqual([
      SAY.denied,
    ]);
    expect(script(afterDecision(fresh(), { kind: 'recorded' }, urls)).say).toEqual([SAY.recorded]);
    const refused = afterDecision(fresh(), { kind: 'refused', say: 'Already decided.' }, urls);
    expect(script(refused)).toEqual({ say: ['Already decided.'], then: { kind: 'hangup' } });
    const over: ApprovalCall = approved.state;
    expect(script(onKeys(over, '1', urls)).then).toEqual({ kind: 'hangup' });
    expect('decide' in onKeys(over, '2', urls)).toBe(false);
    expect(script(onNoInput(over, urls)).then).toEqual({ kind: 'hangup' });
    expect(script(reprompt(over, urls, ['x'])).then).toEqual({ kind: 'hangup' });
  });

  it('maps custom options to 1, 3, 4… with 2 always deny, and listens for speech with the voice agent', () => {
    const custom: CallContext = {
      ...ctx,
      listen: true,
      options: [
        { id: 'canary', label: 'Canary only' },
        { id: 'full', label: 'Full rollout' },
        { id: 'deny', label: 'Deny' },
      ],
    };
    expect([...keypad(custom)]).toEqual([
      ['1', 'canary'],
      ['3', 'full'],
      ['2', 'deny'],
    ]);
    expect(menuText(custom)).toBe(
      'Press 1 for Canary only, 3 for Full rollout, 2 to deny, or star to repeat.',
    );
    expect(script(onAnswer(startCall('h', 'm', custom), 'human', urls)).gather?.speech).toBe(true);
  });

  it('says the hidden characters of an option label, never applies them', () => {
    const menu = menuText({
      ...ctx,
      options: [
        { id: 'canary', label: 'Canary \u202Eyrevo\u200B r\u043C' },
        { id: 'deny', label: 'Deny' },
      ],
    });
    expect(menu).toBe(
      'Press 1 for Canary (hidden character) yrevo (hidden character) r (look-alike letter), 2 to deny, or star to repeat.',
    );
  });

  it('reads a verification code digit by digit, twice, and hangs up', () => {
    expect(verificationScript('042917')).toEqual({
      say: [
        'This is ony. Your verification code is 0, 4, 2, 9, 1, 7.',
        'Again: 0, 4, 2, 9, 1, 7.',
        'Goodbye.',
      ],
      then: { kind: 'hangup' },
    });
  });
});
