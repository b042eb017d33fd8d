/**
 * The approval call, as a pure state machine (GoAlert's keypad flow, DESIGN.md §7): the gist is
 * spoken slowly inside a one-digit gather; 1 approves, 2 denies, * repeats; a wrong key repeats the
 * menu; no input repeats once, then the call ends and the escalation goes on. Where the policy asks
 * for step-up, 1 is followed by the caller's 6-digit TOTP code; three wrong codes end the call. A
 * voicemail hears only that an approval is waiting.
 *
 * The state lives in the ephemeral store between the provider's requests (it holds no secret: the
 * gist is already redacted). The service runs the decision these functions ask for and feeds the
 * result back; nothing here does I/O.
 */
import { showHidden } from '../hidden-characters.js';
import type { CallScript } from './script.js';

export interface CallOption {
  readonly id: string;
  readonly label: string;
}

/** What a call may say about the handoff: the redacted gist and the options, nothing else. */
export interface CallContext {
  readonly speech: string;
  readonly options: readonly CallOption[];
  /** For the voice agent's answers: the action type and the derived risk level. */
  readonly actionType: string;
  readonly riskLevel: string;
  /** The menu also listens for speech (the optional voice agent is configured). */
  readonly listen: boolean;
}

export type CallOutcome =
  'approved' | 'denied' | 'recorded' | 'refused' | 'no_input' | 'voicemail' | 'totp_failed';

export interface ApprovalCall {
  readonly handoffId: string;
  readonly memberId: string;
  readonly ctx: CallContext;
  readonly phase: 'menu' | 'totp' | 'over';
  readonly noInput: number;
  readonly totpFailures: number;
  /** The option chosen, waiting for the TOTP code. */
  readonly chosen: string | undefined;
  readonly outcome: CallOutcome | undefined;
}

/** Where the provider posts the next keys, and where it goes when none come. */
export interface CallUrls {
  readonly action: string;
  readonly noInput: string;
}

/** The decision path's answer, as the call needs it. */
export type DecisionResult =
  | { readonly kind: 'decided'; readonly status: 'approved' | 'denied' }
  | { readonly kind: 'recorded' }
  | { readonly kind: 'totp_required' }
  | { readonly kind: 'totp_invalid' }
  | { readonly kind: 'refused'; readonly say: string };

export type Step =
  | { readonly state: ApprovalCall; readonly script: CallScript }
  | {
      readonly state: ApprovalCall;
      readonly decide: { readonly option: string; readonly totpCode?: string };
    };

export const MAX_TOTP_FAILURES = 3;
const MENU_TIMEOUT_S = 8;
const TOTP_TIMEOUT_S = 15;

export const SAY = {
  hello: 'This is ony.',
  ended: 'This call has ended. Goodbye.',
  notUnderstood: 'Sorry, I did not understand.',
  voicemail: 'ony has an approval waiting for you.',
  wrongKey: 'That key is not an option.',
  totpPrompt: 'Enter the 6-digit code from your authenticator app, then press pound.',
  totpWrong: 'That code is not right.',
  totpFailed: 'Too many wrong codes. Nothing was approved. Goodbye.',
  noInput: 'No answer was received. Goodbye.',
  approved: 'Approved. Thank you. Goodbye.',
  denied: 'Denied. Thank you. Goodbye.',
  recorded: 'Your approval is recorded. More approvals are needed. Goodbye.',
} as const;

const DENY = 'deny';
/** Keys for the approving options in order; 2 is always deny. */
const OPTION_KEYS = ['1', '3', '4', '5', '6'] as const;

/** The keypad map: key -> option id. */
export function keypad(ctx: CallContext): ReadonlyMap<string, string> {
  const keys = new Map<string, string>();
  const approving = ctx.options.filter((o) => o.id !== DENY);
  approving.slice(0, OPTION_KEYS.length).forEach((o, i) => keys.set(OPTION_KEYS[i]!, o.id));
  if (ctx.options.some((o) => o.id === DENY)) keys.set('2', DENY);
  return keys;
}

/** An option label as it is said: hidden characters named, one line. */
function spoken(label: string): string {
  return showHidden(label, 'speech').replace(/\s+/g, ' ').trim();
}

export function menuText(ctx: CallContext): string {
  const keys = keypad(ctx);
  const parts: string[] = [];
  for (const [key, id] of keys) {
    if (id === DENY) parts.push(`${key} to deny`);
    else if (id === 'approve') parts.push(`${key} to approve`);
    else parts.push(`${key} for ${spoken(ctx.options.find((o) => o.id === id)?.label ?? id)}`);
  }
  return `Press ${parts.join(', ')}, or star to repeat.`;
}

export function startCall(handoffId: string, memberId: string, ctx: CallContext): ApprovalCall {
  return {
    handoffId,
    memberId,
    ctx,
    phase: 'menu',
    noInput: 0,
    totpFailures: 0,
    chosen: undefined,
    outcome: undefined,
  };
}

const over = (state: ApprovalCall, outcome: CallOutcome, ...say: string[]): Step => ({
  state: { ...state, phase: 'over', outcome },
  script: { say, then: { kind: 'hangup' } },
});

function menu(state: ApprovalCall, urls: CallUrls, before: readonly string[], withGist: boolean): Step {
  return {
    state: { ...state, phase: 'menu', chosen: undefined },
    script: {
      say: before,
      gather: {
        action: urls.action,
        digits: 1,
        timeoutS: MENU_TIMEOUT_S,
        finishOnKey: '',
        prompt: withGist ? [state.ctx.speech, menuText(state.ctx)] : [menuText(state.ctx)],
        speech: state.ctx.listen,
      },
      then: { kind: 'redirect', url: urls.noInput },
    },
  };
}

function totpPrompt(state: ApprovalCall, urls: CallUrls, before: readonly string[]): Step {
  return {
    state: { ...state, phase: 'totp' },
    script: {
      say: before,
      gather: {
        action: urls.action,
        digits: 6,
        timeoutS: TOTP_TIMEOUT_S,
        finishOnKey: '#',
        prompt: [SAY.totpPrompt],
        speech: false,
      },
      then: { kind: 'redirect', url: urls.noInput },
    },
  };
}

/** The callee picked up. A machine hears only that something waits (no gist, no menu). */
export function onAnswer(
  state: ApprovalCall,
  answeredBy: 'human' | 'machine' | 'unknown' | undefined,
  urls: CallUrls,
): Step {
  if (answeredBy === 'machine') return over(state, 'voicemail', SAY.voicemail);
  return menu(state, urls, [SAY.hello], true);
}

/** Keys pressed in the open gather. */
export function onKeys(state: ApprovalCall, digits: string, urls: CallUrls): Step {
  if (state.phase === 'over') return over(state, state.outcome ?? 'refused');
  if (state.phase === 'totp') {
    const code = digits.replace(/#$/, '');
    if (!/^\d{6}$/.test(code)) return wrongTotp(state, urls);
    return { state, decide: { option: state.chosen ?? 'approve', totpCode: code } };
  }
  if (digits === '*') return menu(state, urls, [], true);
  const option = keypad(state.ctx).get(digits);
  if (option === undefined) return menu(state, urls, [SAY.wrongKey], false);
  return { state: { ...state, chosen: option }, decide: { option } };
}

/** The menu again after something was said first (the voice agent's answer, "I did not understand"). */
export function reprompt(state: ApprovalCall, urls: CallUrls, before: readonly string[]): Step {
  if (state.phase === 'over') return over(state, state.outcome ?? 'refused');
  return menu(state, urls, before, false);
}

/** The gather timed out: repeat once, then end the call (the escalation goes on). */
export function onNoInput(state: ApprovalCall, urls: CallUrls): Step {
  if (state.phase === 'over') return over(state, state.outcome ?? 'no_input');
  const next = { ...state, noInput: state.noInput + 1 };
  if (next.noInput >= 2) return over(next, 'no_input', SAY.noInput);
  return state.phase === 'totp' ? totpPrompt(next, urls, []) : menu(next, urls, [], true);
}

function wrongTotp(state: ApprovalCall, urls: CallUrls): Step {
  const next = { ...state, totpFailures: state.totpFailures + 1 };
  if (next.totpFailures >= MAX_TOTP_FAILURES) return over(next, 'totp_failed', SAY.totpFailed);
  return totpPrompt(next, urls, [SAY.totpWrong]);
}

/** What the decision path answered to the decision this flow asked for. */
export function afterDecision(state: ApprovalCall, result: DecisionResult, urls: CallUrls): Step {
  switch (result.kind) {
    case 'decided':
      return result.status === 'approved'
        ? over(state, 'approved', SAY.approved)
        : over(state, 'denied', SAY.denied);
    case 'recorded':
      return over(state, 'recorded', SAY.recorded);
    case 'totp_required':
      return totpPrompt({ ...state, noInput: 0 }, urls, []);
    case 'totp_invalid':
      return wrongTotp(state, urls);
    case 'refused':
      return over(state, 'refused', result.say);
  }
}

/** A call with nothing to decide (an admin's channel test): the gist, then goodbye. */
export function noticeScript(speech: string): CallScript {
  return { say: [SAY.hello, speech, 'Goodbye.'], then: { kind: 'hangup' } };
}

/** A number-verification call: the code, twice, digit by digit; nothing is gathered. */
export function verificationScript(code: string): CallScript {
  const spoken = code.split('').join(', ');
  return {
    say: [`This is ony. Your verification code is ${spoken}.`, `Again: ${spoken}.`, 'Goodbye.'],
    then: { kind: 'hangup' },
  };
}
