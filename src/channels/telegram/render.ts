/**
 * What the Telegram bot says, as pure functions (DESIGN.md §5.3): the approval request with its
 * inline keyboard, the in-place update after the decision, and every reply to a person. Messages
 * use `parse_mode: HTML`; every piece of text that is not ours (the gist, names, labels, links) goes
 * through `escapeHtml`, so agent-supplied text can never open a tag or an entity, and shows hidden
 * characters (bidi controls, invisible characters, look-alike letters) as `⟨U+202E⟩` escapes, so a
 * right-to-left override can never reorder what the approver reads.
 *
 * A request reads only these OutboundMessage fields: handoffId (inside callback_data, as bytes),
 * shortCode, riskLevel, gist (the `chat` form), the model summary (labelled), options and link. Not the title on its own: the
 * gist carries the redacted title already.
 */
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'telegraf/types';
import { showHidden, trimPartialEscape } from '../../core/hidden-characters.js';
import { redact } from '../../core/redact/index.js';
import { MODEL_SUMMARY_LABEL } from '../../core/summary/index.js';
import type {
  DecisionNotice,
  InboundDecision,
  InboundRefusal,
  OutboundMessage,
  TransmittedField,
} from '../channel.js';
import { encodeDecision } from './callback-data.js';

/** Exactly the OutboundMessage fields `renderRequest` reads. */
export const TELEGRAM_TRANSMITS: readonly TransmittedField[] = [
  'handoffId',
  'shortCode',
  'riskLevel',
  'gist',
  'summary',
  'options',
  'link',
];

/** Bot API limits. */
export const TELEGRAM_LIMITS = {
  /** sendMessage / editMessageText text, counted after entity parsing. */
  messageChars: 4096,
  /** answerCallbackQuery text. */
  callbackAnswerChars: 200,
} as const;

/** Text that is not ours, made safe for `parse_mode: HTML`: hidden characters shown, markup escaped. */
export function escapeHtml(text: string): string {
  return showHidden(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** One line of at most `max` characters, hidden characters shown (escaped before the cut, never cut in half). */
function oneLine(text: string, max: number): string {
  const flat = showHidden(text)
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...flat];
  return chars.length <= max ? flat : `${trimPartialEscape(chars.slice(0, max - 3).join(''))}...`;
}

const RISK_MARK: Readonly<Record<string, string>> = {
  low: '🟢',
  medium: '🟡',
  high: '🟠',
  critical: '🔴',
};

export interface RenderedMessage {
  readonly text: string;
  readonly parse_mode: 'HTML';
  readonly reply_markup: InlineKeyboardMarkup;
}

/** The approval request: gist, short code, link, and one button per option (two per row). */
export function renderRequest(message: OutboundMessage): RenderedMessage {
  const risk = oneLine(message.riskLevel, 20);
  const text = [
    `${RISK_MARK[risk] ?? '⚪'} <b>Approval needed</b> · <code>${escapeHtml(oneLine(message.shortCode, 20))}</code>`,
    '',
    // The model's summary, labelled as such, above the gist, which stays (docs/summarizer.md).
    ...(message.summary !== null
      ? [`<b>${MODEL_SUMMARY_LABEL}:</b> ${escapeHtml(message.summary)}`, '']
      : []),
    escapeHtml(message.gist.chat),
    '',
    `Decide below, or in ony: ${escapeHtml(message.link)}`,
  ].join('\n');
  const buttons: InlineKeyboardButton[] = message.options.map((o) => ({
    text: `${o.id === 'deny' ? '❌' : '✅'} ${oneLine(o.label, 60) || o.id}`,
    callback_data: encodeDecision(message.handoffId, o.id),
  }));
  const rows: InlineKeyboardButton[][] = [];
  for (let i = 0; i < buttons.length; i += 2) rows.push(buttons.slice(i, i + 2));
  return { text, parse_mode: 'HTML', reply_markup: { inline_keyboard: rows } };
}

const OUTCOME: Readonly<Record<DecisionNotice['outcome'], string>> = {
  approved: '✅ <b>Approved</b>',
  denied: '❌ <b>Denied</b>',
  expired: '⌛ <b>Expired</b> without a decision',
  cancelled: '🚫 <b>Cancelled</b>',
};

function utcMinute(at: Date): string {
  return `${at.toISOString().slice(0, 10)} ${at.toISOString().slice(11, 16)} UTC`;
}

/** The message after the handoff left pending: who, how and when; the keyboard goes away. */
export function renderNotice(notice: DecisionNotice): RenderedMessage {
  const by = notice.by !== null ? ` by ${escapeHtml(oneLine(notice.by, 100))}` : '';
  const via = notice.via !== null ? ` via ${escapeHtml(oneLine(notice.via, 30))}` : '';
  // The notice's title is redacted upstream; redacting again is idempotent and costs nothing.
  const title = escapeHtml(oneLine(redact(notice.title).text, 200));
  const text = [
    `${OUTCOME[notice.outcome]}${by}${via} at ${utcMinute(notice.at)}`,
    `<code>${escapeHtml(oneLine(notice.shortCode, 20))}</code> · ${escapeHtml(oneLine(notice.riskLevel, 20)).toUpperCase()} risk · ${title}`,
  ].join('\n');
  return { text, parse_mode: 'HTML', reply_markup: { inline_keyboard: [] } };
}

/** What the person is told when ony refuses their tap or message; nothing changed in each case. */
export const REFUSAL_TEXT: Readonly<Record<InboundRefusal, string>> = {
  not_linked:
    'This Telegram account is not linked to ony. In ony, create a Telegram link code on your profile and send /start <code> to me.',
  not_allowed:
    'Your ony role cannot decide handoffs (viewers and deactivated members cannot). Nothing changed.',
  not_found: 'This handoff is not in your ony organization. Nothing changed.',
  expired: 'This handoff expired before a decision. Nothing changed.',
  already_decided: 'This handoff was already decided. Nothing changed.',
  unknown_option: 'That answer is not an option of this handoff. Nothing changed.',
  totp_required: 'This needs your TOTP code: reply to my next message with the 6-digit code.',
  totp_invalid: 'That TOTP code is wrong or was already used. Nothing changed.',
  totp_not_enrolled:
    'This needs a TOTP code and you have not enrolled TOTP. Enrol it in ony first. Nothing changed.',
  assurance_required:
    'Approving this needs a stronger proof of who you are. I sent you the link to decide in ony. Nothing changed.',
  invalid_code: 'That link code is unknown, expired or already used. Create a new one in ony.',
  unavailable:
    'ony could not record your answer just now (its database is unavailable). Nothing changed. Try again in a minute.',
};

/** The short answer to a tap (answerCallbackQuery, at most 200 characters). */
export function decisionAnswer(result: InboundDecision): string {
  if (!result.ok) return REFUSAL_TEXT[result.reason];
  if (result.outcome === 'replay') return 'You already answered this handoff. Nothing changed.';
  if (result.outcome === 'recorded') return 'Your answer is recorded; this handoff needs more approvals.';
  return result.status === 'denied' ? 'Denied. The agent is told now.' : 'Approved. The agent is told now.';
}

export const STEP_UP_TTL_MS = 5 * 60_000;

export const REPLIES = {
  stepUpPrompt: `This needs your TOTP code. Reply to this message with the 6-digit code from your authenticator app within ${STEP_UP_TTL_MS / 60_000} minutes.`,
  stepUpNothingPending:
    'No approval is waiting for a TOTP code here (the request lasts 5 minutes). Tap the button again.',
  stepUpRetry: (left: number) =>
    `That TOTP code is wrong or was already used. Nothing changed. Reply with a new code (${left} ${left === 1 ? 'try' : 'tries'} left).`,
  startHelp:
    'Hello. To get ony approval requests here, create a Telegram link code on your ony profile and send /start <code> to me.',
  startInGroup: 'Link your account in a private chat with me, not in a group.',
  linked: (memberName: string, orgName: string) =>
    `Linked: this Telegram account now answers as <b>${escapeHtml(oneLine(memberName, 100))}</b> in <b>${escapeHtml(oneLine(orgName, 100))}</b>. Approval requests will arrive here.`,
  unknownButton: 'This button is not one of ony\u2019s. Nothing changed.',
  help: 'I deliver ony approval requests. Use the buttons on a request, or send /start <code> to link your account.',
} as const;
