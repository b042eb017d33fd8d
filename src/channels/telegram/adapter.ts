/**
 * The Telegram channel adapter: sends the approval request to each linked recipient's private chat
 * (chat id = their Telegram user id), updates those messages in place after the decision (keyboard
 * removed), and reports health with getMe. It never touches the database and decides nothing;
 * inbound taps are handled by ./bot.ts.
 */
import { TelegramError } from 'telegraf';
import type { Logger } from '../../lib/logger.js';
import type { ChannelAdapter, SentMessage } from '../channel.js';
import { describeError, type TelegramApi } from './client.js';
import { renderNotice, renderRequest, TELEGRAM_TRANSMITS } from './render.js';

/** A message's handle: `<chat id>:<message id>`. */
export function messageRef(chatId: string | number, messageId: number): string {
  return `${chatId}:${messageId}`;
}

export function parseMessageRef(ref: string): { chatId: string; messageId: number } | undefined {
  const m = /^(-?\d{1,20}):(\d{1,15})$/.exec(ref);
  return m === null ? undefined : { chatId: m[1]!, messageId: Number(m[2]) };
}

const CHAT_ID_RE = /^-?\d{1,20}$/;

export function createTelegramChannel(deps: { api: TelegramApi; logger: Logger }): ChannelAdapter {
  const { api, logger } = deps;
  return {
    name: 'telegram',
    transmits: TELEGRAM_TRANSMITS,

    async send(message, recipients) {
      const rendered = renderRequest(message);
      const addressed = recipients.filter(
        (r): r is typeof r & { address: string } => r.address !== null && CHAT_ID_RE.test(r.address),
      );
      const skipped = recipients.length - addressed.length;
      if (skipped > 0)
        logger.info(
          { channel: 'telegram', handoff_id: message.handoffId, skipped },
          'recipients without a linked Telegram account skipped',
        );
      // One recipient's failure (blocked the bot, chat gone) does not stop the others.
      const results = await Promise.allSettled(
        addressed.map(async (r): Promise<SentMessage> => {
          const sent = await api.call('sendMessage', {
            chat_id: r.address,
            text: rendered.text,
            parse_mode: rendered.parse_mode,
            reply_markup: rendered.reply_markup,
            link_preview_options: { is_disabled: true },
          });
          return { memberId: r.memberId, ref: messageRef(sent.chat.id, sent.message_id) };
        }),
      );
      const messages: SentMessage[] = [];
      results.forEach((res, i) => {
        if (res.status === 'fulfilled') messages.push(res.value);
        else
          logger.warn(
            {
              channel: 'telegram',
              handoff_id: message.handoffId,
              member_id: addressed[i]!.memberId,
              ...describeError(res.reason),
            },
            'Telegram message not sent',
          );
      });
      if (addressed.length > 0 && messages.length === 0)
        throw new Error(`Telegram: none of ${addressed.length} messages could be sent`);
      return { messages };
    },

    async update(ref, notice) {
      const target = parseMessageRef(ref);
      if (target === undefined) throw new Error('not a Telegram message ref');
      const rendered = renderNotice(notice);
      try {
        await api.call('editMessageText', {
          chat_id: target.chatId,
          message_id: target.messageId,
          text: rendered.text,
          parse_mode: rendered.parse_mode,
          reply_markup: rendered.reply_markup,
          link_preview_options: { is_disabled: true },
        });
      } catch (err) {
        // Already showing the outcome (a repeated update), or the person deleted the message:
        // nothing left to do, and retrying would not change that.
        if (
          err instanceof TelegramError &&
          err.code === 400 &&
          /message is not modified|message to edit not found|message can't be edited/i.test(err.description)
        ) {
          logger.info({ channel: 'telegram', ...describeError(err) }, 'Telegram message left as it is');
          return;
        }
        throw err;
      }
    },

    async health() {
      try {
        const me = await api.call('getMe', {}, { retry: false, timeoutMs: 5_000 });
        return { ok: true, detail: `bot @${me.username} answers` };
      } catch (err) {
        const { code, description } = describeError(err);
        return { ok: false, detail: `Telegram Bot API: ${code ?? 'error'} ${description}`.slice(0, 200) };
      }
    },
  };
}
