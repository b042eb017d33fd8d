/**
 * The gist: the short text that leaves ony in a phone call, an SMS or a chat message. Built only from
 * the action type, the derived risk, the redacted title and summary and the reason codes; never from
 * the payload (the type does not even accept one), never from the target, never from the agent's
 * own risk claim. Pure.
 *
 * Hidden characters (bidi controls, invisible and control characters, look-alike letters in Latin
 * words) in the title and summary are shown, never applied: `⟨U+202E⟩` in `chat`, `<U+202E>` in
 * `sms` (GSM-7), "(hidden character)" in `speech`. They are escaped before anything is cut, and a
 * cut never ends inside an escape.
 */
import { showHidden, trimPartialEscape, type EscapeForm } from '../hidden-characters.js';
import { redact } from '../redact/index.js';
import { REASONS, type ActionType, type RiskAssessment, type RiskInput } from '../risk/index.js';
import { gsm7Length, toGsm7, truncateGsm7 } from './gsm7.js';

export { gsm7Length } from './gsm7.js';

/** The only handoff fields a gist may read. */
export type GistSource = Pick<RiskInput, 'title' | 'summary'> & {
  readonly action: Pick<RiskInput['action'], 'type'>;
};

export interface Gist {
  /** For text-to-speech: plain words, at most 500 characters. */
  readonly speech: string;
  /** For SMS: GSM-7 only, at most `smsMaxSeptets` septets (160 by default). */
  readonly sms: string;
  /** For Slack/Telegram/dashboard: plain text (the adapter escapes it), at most 1,000 characters. */
  readonly chat: string;
}

export interface GistOptions {
  /** Room the SMS may use; lower it when the channel appends a reply code. Default 160. */
  readonly smsMaxSeptets?: number;
}

export const GIST_LIMITS = {
  speechMaxChars: 500,
  chatMaxChars: 1_000,
  chatSummaryMaxChars: 600,
  smsMaxSeptets: 160,
} as const;

const ACTION_LABELS: Readonly<Record<ActionType, string>> = {
  'shell.exec': 'shell command',
  'git.push': 'git push',
  deploy: 'deploy',
  'db.migrate': 'database migration',
  'db.query': 'database query',
  payment: 'payment',
  'email.send': 'email',
  'file.delete': 'file deletion',
  'file.write': 'file write',
  'iam.change': 'access change',
  other: 'action',
};

/** One line: hidden characters escaped in `form` first, then tabs and line breaks made spaces. */
function oneLine(text: string, form: EscapeForm = 'visible'): string {
  return showHidden(text, form)
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${trimPartialEscape([...text].slice(0, max - 3).join('')).trimEnd()}...`;
}

function forSpeech(text: string): string {
  return text.replace(/\[REDACTED:[a-z0-9-]+\]/g, 'redacted secret');
}

export function gist(handoff: GistSource, risk: RiskAssessment, options: GistOptions = {}): Gist {
  const smsMax = Math.max(40, Math.floor(options.smsMaxSeptets ?? GIST_LIMITS.smsMaxSeptets));
  const redactedTitle = redact(handoff.title).text;
  const redactedSummary = redact(handoff.summary).text;
  const title = oneLine(redactedTitle) || 'untitled';
  const summary = oneLine(redactedSummary);
  const spokenTitle = oneLine(redactedTitle, 'speech') || 'untitled';
  const spokenSummary = oneLine(redactedSummary, 'speech');
  const smsTitle = oneLine(redactedTitle, 'ascii') || 'untitled';
  const action = ACTION_LABELS[handoff.action.type];
  const level = risk.level;
  const phrases = risk.reasons.map((r) => REASONS[r].phrase);

  const speechParts = [
    `Approval needed for a ${level} risk ${action}.`,
    `${forSpeech(cut(spokenTitle, 160))}.`,
    phrases.length > 0 ? `Because it ${phrases.slice(0, 4).join(', and ')}.` : '',
    spokenSummary ? `${forSpeech(cut(spokenSummary, 200))}` : '',
  ];
  const speech = cut(oneLine(speechParts.filter(Boolean).join(' '), 'speech'), GIST_LIMITS.speechMaxChars);

  const smsHead = toGsm7(`ony ${level.toUpperCase()} ${action}: `);
  let smsReasons = '';
  for (const phrase of phrases) {
    const next = smsReasons ? `${smsReasons}, ${phrase}` : phrase;
    if (gsm7Length(toGsm7(` (${next})`)) + gsm7Length(smsHead) + 12 > smsMax) break;
    smsReasons = next;
  }
  const smsTail = smsReasons ? toGsm7(` (${smsReasons})`) : '';
  const titleRoom = smsMax - gsm7Length(smsHead) - gsm7Length(smsTail);
  const sms = truncateGsm7(smsHead + truncateGsm7(toGsm7(smsTitle), titleRoom) + smsTail, smsMax);

  const chatLines = [
    `${level.toUpperCase()} risk ${action}: ${cut(title, 200)}`,
    summary ? cut(summary, GIST_LIMITS.chatSummaryMaxChars) : '',
    risk.reasons.length > 0
      ? `Why: ${risk.reasons.map((r) => `${REASONS[r].phrase} (${r})`).join('; ')}`
      : 'Why: no risk signals found',
  ];
  const chat = cut(chatLines.filter(Boolean).join('\n'), GIST_LIMITS.chatMaxChars);
  return { speech, sms, chat };
}
