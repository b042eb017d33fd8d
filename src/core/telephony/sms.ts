/**
 * SMS approvals (pure): the text that asks, and the parsing of replies. Reply codes follow GoAlert's
 * scheme: a number per phone number plus a letter, `A` to approve, `D` to deny, looked up only
 * together with the sender's number; unlike GoAlert's, a number's codes count up (`1`, `2`, … up to
 * 999999) and are never reused, so a captured reply can never decide a newer handoff. Caller id can be forged, so approving a high or
 * critical handoff by SMS needs the approver's TOTP code in the reply (`1A 123456`).
 */
import { gsm7Length, toGsm7, truncateGsm7 } from '../gist/gsm7.js';
import { MODEL_SUMMARY_LABEL } from '../summary/index.js';

export const SMS_MAX_SEPTETS = 160;
/** The largest reply code number (a number's counter wraps to 1 after it). */
export const MAX_REPLY_CODE = 999_999;

/** Risk levels whose approval by SMS needs a TOTP code in the reply. */
export const SMS_TOTP_LEVELS: readonly string[] = ['high', 'critical'];

export function smsNeedsTotp(riskLevel: string): boolean {
  return SMS_TOTP_LEVELS.includes(riskLevel);
}

/**
 * "ony HIGH deploy: <title> (why). Reply 1A to approve, 1D to deny." bounded to one SMS: the gist
 * is shortened, never the reply instructions.
 */
export function approvalSms(
  gistSms: string,
  code: number,
  needsTotp: boolean,
  /** The model's checked summary (docs/summarizer.md): added, labelled, before the reply instructions. */
  modelSummary: string | null = null,
): string {
  const tail = needsTotp
    ? ` Reply ${code}A and your 6-digit code to approve (${code}A 123456), ${code}D to deny.`
    : ` Reply ${code}A to approve, ${code}D to deny.`;
  const room = SMS_MAX_SEPTETS - gsm7Length(toGsm7(tail));
  // The gist and the instructions keep their one-SMS bound; a model summary (at most 300
  // characters) makes the text a concatenated SMS of up to 4 parts.
  const summary = modelSummary === null ? '' : toGsm7(` ${MODEL_SUMMARY_LABEL}: ${modelSummary}`);
  return truncateGsm7(toGsm7(gistSms), room) + summary + toGsm7(tail);
}

export type SmsReply =
  | {
      readonly kind: 'vote';
      readonly code: number;
      readonly choice: 'approve' | 'deny';
      readonly totpCode?: string;
    }
  | { readonly kind: 'stop' }
  | { readonly kind: 'start' }
  | { readonly kind: 'help' }
  | { readonly kind: 'unknown' };

// The carriers' and Twilio's standard opt-out / opt-in / help keywords.
const STOP = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT', 'REVOKE']);
const START = new Set(['START', 'YES', 'UNSTOP', 'OPTIN']);
const HELP = new Set(['HELP', 'INFO']);

export function parseSmsReply(text: string): SmsReply {
  const t = text.trim().toUpperCase().replace(/\s+/g, ' ');
  if (STOP.has(t)) return { kind: 'stop' };
  if (START.has(t)) return { kind: 'start' };
  if (HELP.has(t)) return { kind: 'help' };
  const m = /^(\d{1,6}) ?([AD])(?:[ ,.:-]*(\d{6}))?[.!]?$/.exec(t);
  if (m === null) return { kind: 'unknown' };
  const code = Number(m[1]);
  if (code < 1 || code > MAX_REPLY_CODE) return { kind: 'unknown' };
  return {
    kind: 'vote',
    code,
    choice: m[2] === 'A' ? 'approve' : 'deny',
    ...(m[3] !== undefined && { totpCode: m[3] }),
  };
}

/** Automatic replies: short, GSM-7, never the gist. */
export const SMS_REPLIES = {
  approved: 'ony: approved. Thank you.',
  denied: 'ony: denied. Thank you.',
  recorded: 'ony: your approval is recorded; more approvals are needed.',
  unknownCode: 'ony: that reply code is unknown or expired. Decide in the ony dashboard.',
  help: 'ony approval alerts. Reply with the code from an alert, e.g. 1A to approve or 1D to deny. Reply STOP to stop SMS, START to resume.',
  stopped: 'ony: you will get no more SMS. Reply START to resume.',
  started: 'ony: SMS alerts are on again. Reply STOP to stop.',
  totpRequired: 'ony: approving this by SMS needs your 6-digit code, e.g. 1A 123456.',
  totpInvalid: 'ony: that code is wrong or was already used; nothing was changed.',
  unavailable:
    'ony: your answer could not be recorded just now (database unavailable); nothing changed. Send it again in a minute.',
} as const;
