/**
 * Block Kit for the Slack channel, pure: the approval request (gist, risk, short code, a link to
 * ony, a button per option), the same message rewritten once decided (buttons gone), the TOTP modal,
 * and the ephemeral replies. Everything a person wrote (title, gist, option labels, names) goes out
 * as `plain_text` or escaped mrkdwn, so it cannot mention @channel or forge a link; every string is
 * cut to Slack's documented limits so no message is refused for its size. Hidden characters (bidi
 * controls, invisible characters, look-alike letters) in any of it are shown as `⟨U+202E⟩` escapes,
 * never applied: `cut` escapes before it cuts, and never cuts an escape in half.
 */
import type { ActionsBlock, Button, ContextBlock, KnownBlock, ModalView } from '@slack/web-api';
import { isDenyOption } from '../../core/approval/decide.js';
import { showHidden, trimPartialEscape } from '../../core/hidden-characters.js';
import { MODEL_SUMMARY_LABEL } from '../../core/summary/index.js';
import type { DecisionNotice, OutboundMessage, TransmittedField } from '../channel.js';

/** Slack's limits (docs.slack.dev Block Kit reference, chat.postMessage). */
export const SLACK_LIMITS = {
  textChars: 40_000,
  sectionTextChars: 3_000,
  headerTextChars: 150,
  buttonTextChars: 75,
  buttonValueChars: 2_000,
  actionIdChars: 255,
  blocks: 50,
  actionsElements: 25,
  contextElements: 10,
  modalTitleChars: 24,
  modalButtonChars: 24,
  privateMetadataChars: 3_000,
} as const;

/** What the Slack requests carry, all of it (the button values hold the handoff id and option id). */
export const SLACK_TRANSMITS: readonly TransmittedField[] = [
  'handoffId',
  'shortCode',
  'actionType',
  'riskLevel',
  'title',
  'gist',
  'summary',
  'options',
  'link',
];

/** action_id prefix of the option buttons; the link button has its own id and is ignored inbound. */
export const VOTE_ACTION_PREFIX = 'ony_vote_';
export const LINK_ACTION_ID = 'ony_open';
export const TOTP_CALLBACK_ID = 'ony_totp';
export const TOTP_BLOCK_ID = 'totp';
export const TOTP_ACTION_ID = 'code';

export interface SlackMessage {
  readonly text: string;
  readonly blocks: KnownBlock[];
}

/**
 * Every string a message carries passes here: hidden characters shown as escapes, then cut to
 * `max` characters (code points), marking the cut.
 */
export function cut(text: string, max: number): string {
  const shown = showHidden(text);
  const chars = [...shown];
  if (chars.length <= max) return shown;
  return `${trimPartialEscape(chars.slice(0, max - 1).join('')).trimEnd()}…`;
}

/** mrkdwn control characters (https://docs.slack.dev/messaging/formatting-message-text#escaping). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const plain = (text: string, max: number) => ({
  type: 'plain_text' as const,
  text: cut(text, max),
  emoji: true,
});

/** The button value: which handoff and which option (opaque ids, never text). */
export function encodeVote(handoffId: string, optionId: string): string {
  return JSON.stringify({ h: handoffId, o: optionId });
}

function context(message: Pick<OutboundMessage, 'riskLevel' | 'actionType' | 'shortCode'>): ContextBlock {
  return {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `*${escapeMrkdwn(message.riskLevel.toUpperCase())}* risk · ${escapeMrkdwn(message.actionType)} · code *${escapeMrkdwn(message.shortCode)}*`,
      },
    ],
  };
}

export function renderRequest(message: OutboundMessage): SlackMessage {
  const buttons: Button[] = message.options.map((o, i) => {
    const label = o.label.trim() === '' ? o.id : o.label;
    const button: Button = {
      type: 'button',
      action_id: `${VOTE_ACTION_PREFIX}${i}`,
      text: plain(label, SLACK_LIMITS.buttonTextChars),
      value: encodeVote(message.handoffId, o.id),
    };
    if (isDenyOption(o.id)) button.style = 'danger';
    else if (i === 0) button.style = 'primary';
    return button;
  });
  const actions: ActionsBlock[] = [];
  for (let i = 0; i < buttons.length; i += SLACK_LIMITS.actionsElements) {
    actions.push({ type: 'actions', block_id: `ony_votes_${i}`, elements: buttons.slice(i, i + 25) });
  }
  actions.push({
    type: 'actions',
    block_id: 'ony_links',
    elements: [
      {
        type: 'button',
        action_id: LINK_ACTION_ID,
        text: plain('Open in ony', SLACK_LIMITS.buttonTextChars),
        url: message.link,
      },
    ],
  });
  const blocks: KnownBlock[] = [
    { type: 'header', text: plain(`Approval needed: ${message.title}`, SLACK_LIMITS.headerTextChars) },
    // The model's summary, labelled as such, above the gist, which stays (docs/summarizer.md).
    ...(message.summary !== null
      ? [
          {
            type: 'section' as const,
            text: plain(`${MODEL_SUMMARY_LABEL}: ${message.summary}`, SLACK_LIMITS.sectionTextChars),
          },
        ]
      : []),
    { type: 'section', text: plain(message.gist.chat, SLACK_LIMITS.sectionTextChars) },
    context(message),
    ...actions,
  ];
  return {
    text: cut(
      `Approval needed [${message.shortCode}]: ${message.riskLevel.toUpperCase()} risk ${message.actionType}: ${message.title}`,
      SLACK_LIMITS.textChars,
    ),
    blocks: blocks.slice(0, SLACK_LIMITS.blocks),
  };
}

const VIA: Readonly<Record<string, string>> = {
  web: 'the dashboard',
  api: 'the API',
  slack: 'Slack',
  telegram: 'Telegram',
  phone: 'phone',
  sms: 'SMS',
};

/** "Approved by Alice via phone at 14:02": the time shown in each reader's own time zone. */
export function outcomeLine(notice: DecisionNotice): { mrkdwn: string; text: string } {
  const epoch = Math.floor(notice.at.getTime() / 1000);
  const utc = `${notice.at.toISOString().slice(11, 16)} UTC`;
  const head: Record<DecisionNotice['outcome'], string> = {
    approved: 'Approved',
    denied: 'Denied',
    expired: 'Expired without a decision',
    cancelled: 'Cancelled',
  };
  const custom =
    notice.option !== null && notice.option !== 'approve' && !isDenyOption(notice.option)
      ? ` (${notice.option})`
      : '';
  const by = notice.by !== null ? ` by ${notice.by}` : notice.outcome === 'cancelled' ? ' by the agent' : '';
  const via = notice.via !== null ? ` via ${VIA[notice.via] ?? notice.via}` : '';
  const icon = { approved: '✅', denied: '⛔', expired: '⌛', cancelled: '✖️' }[notice.outcome];
  const words = `${head[notice.outcome]}${custom}${by}${via}`;
  return {
    mrkdwn: `${icon} *${escapeMrkdwn(words)}* at <!date^${epoch}^{time}|${utc}>`,
    text: `${words} at ${utc}`,
  };
}

export function renderDecided(notice: DecisionNotice): SlackMessage {
  const line = outcomeLine(notice);
  return {
    text: cut(`[${notice.shortCode}] ${line.text}: ${notice.title}`, SLACK_LIMITS.textChars),
    blocks: [
      { type: 'header', text: plain(notice.title, SLACK_LIMITS.headerTextChars) },
      { type: 'section', text: { type: 'mrkdwn', text: cut(line.mrkdwn, SLACK_LIMITS.sectionTextChars) } },
      context(notice),
    ],
  };
}

/** What the TOTP modal carries back to us in `private_metadata` (ids only). */
export interface TotpContext {
  readonly handoffId: string;
  readonly option: string;
  /** Where the click came from, for a confirmation after the modal closes. */
  readonly channelId: string | null;
}

export function renderTotpModal(ctx: TotpContext, shortCode: string | null): ModalView {
  return {
    type: 'modal',
    callback_id: TOTP_CALLBACK_ID,
    private_metadata: JSON.stringify({ h: ctx.handoffId, o: ctx.option, c: ctx.channelId }),
    title: plain('Confirm with TOTP', SLACK_LIMITS.modalTitleChars),
    submit: plain('Confirm', SLACK_LIMITS.modalButtonChars),
    close: plain('Cancel', SLACK_LIMITS.modalButtonChars),
    blocks: [
      {
        type: 'section',
        text: {
          type: 'plain_text',
          text: `This decision${shortCode !== null ? ` on ${shortCode}` : ''} needs step-up: enter the 6-digit code from your authenticator app.`,
        },
      },
      {
        type: 'input',
        block_id: TOTP_BLOCK_ID,
        label: plain('TOTP code', 2_000),
        element: {
          type: 'plain_text_input',
          action_id: TOTP_ACTION_ID,
          min_length: 6,
          max_length: 6,
          placeholder: plain('123456', 150),
        },
      },
    ],
  };
}

/** The ephemeral "connect your Slack account" message for someone not linked yet. */
export function renderClaim(url: string): SlackMessage {
  const text =
    'Your Slack account is not linked to an ony member yet, so ony cannot take your answer. Sign in to ony and open this link to connect it (it works once, for 15 minutes):';
  return {
    text: `${text} ${url}`,
    blocks: [
      {
        type: 'section',
        text: { type: 'plain_text', text },
        accessory: {
          type: 'button',
          action_id: LINK_ACTION_ID,
          text: plain('Connect my account', SLACK_LIMITS.buttonTextChars),
          url,
        },
      },
    ],
  };
}
