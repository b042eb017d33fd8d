/**
 * The Telegram bot's inbound side: what it does with a verified update, whether it came through the
 * webhook (src/http/webhooks/telegram.ts) or long polling (`start` in polling mode).
 *
 * - A tap on a decision button calls `ChannelActions.decide` as the tapping user's Telegram id and
 *   answers the callback query with the outcome or a clear refusal; nothing else changes on a
 *   refusal. The message itself is rewritten by the adapter's `update` once the handoff is decided.
 * - Step-up (the policy asks TOTP): the bot answers "needs your TOTP code", sends a `force_reply`
 *   prompt in the private chat and keeps the pending choice in the ephemeral store for 5 minutes;
 *   the person's next 6-digit message there decides with that code (3 tries), and the bot deletes
 *   the message carrying the code. Losing the store loses only the prompt: tap again.
 * - `/start <code>` in a private chat links the Telegram user id to the member who was given the
 *   code (`ChannelActions.linkWithCode`); group chats are refused.
 * - Repeated deliveries of one update (Telegram retries when an answer is lost) are handled once:
 *   the update id is claimed in the durable replay guard (Postgres) for a week, so a replayed
 *   webhook request is ignored even after the ephemeral store was wiped.
 */
import type { Clock } from '../../lib/clock.js';
import { isDatabaseUnavailable } from '../../lib/db-unavailable.js';
import type { Logger } from '../../lib/logger.js';
import type { EphemeralStore } from '../../state/store.js';
import type { ReplayGuard } from '../../features/replay/replay-guard.js';
import type { ChannelActions } from '../channel.js';
import { describeError, type TelegramApi } from './client.js';
import { decisionAnswer, REFUSAL_TEXT, REPLIES, STEP_UP_TTL_MS, TELEGRAM_LIMITS } from './render.js';
import { deriveWebhookSecret } from './secret.js';
import { parseUpdate, type TelegramEvent } from './updates.js';

export const WEBHOOK_PATH = '/webhooks/telegram';
export const ALLOWED_UPDATES = ['message', 'callback_query'] as const;
const STEP_UP_TRIES = 3;
/** Telegram picks the next update id at random after a week without updates; ids repeat no sooner. */
const UPDATE_SEEN_MS = 7 * 24 * 3600_000;

export interface TelegramBotDeps {
  readonly api: TelegramApi;
  readonly actions: ChannelActions;
  readonly store: Pick<EphemeralStore, 'get' | 'set' | 'take' | 'del'>;
  readonly replay: ReplayGuard;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: {
    readonly botToken: string;
    readonly mode: 'webhook' | 'polling';
    readonly webhookSecret: string | undefined;
    readonly publicUrl: string;
    /** Where Telegram delivers this bot's updates (default WEBHOOK_PATH; an org's bot has its own). */
    readonly webhookPath?: string;
  };
}

interface PendingStepUp {
  readonly handoffId: string;
  readonly option: string;
  readonly tries: number;
  readonly expiresAt: number;
}

export function createTelegramBot(deps: TelegramBotDeps) {
  const { api, actions, store, replay, clock, logger, config } = deps;
  // Update ids are per bot: the bot's id (the token's first part) keeps two bots' ids apart.
  const botId = config.botToken.split(':')[0] ?? '';
  // A person who talks to two orgs' bots has one pending step-up per bot.
  const stepUpKey = (userId: string) => `telegram:step-up:${botId}:${userId}`;
  const secret = config.webhookSecret ?? deriveWebhookSecret(config.botToken);
  const log = logger.child({ channel: 'telegram' });

  const reply = (chatId: string, text: string, html = false) =>
    api.call('sendMessage', {
      chat_id: chatId,
      text,
      ...(html && { parse_mode: 'HTML' as const }),
      link_preview_options: { is_disabled: true },
    });

  const answer = (callbackQueryId: string, text: string, alert: boolean) =>
    api.call('answerCallbackQuery', {
      callback_query_id: callbackQueryId,
      text: text.slice(0, TELEGRAM_LIMITS.callbackAnswerChars),
      show_alert: alert,
    });

  async function onDecision(e: Extract<TelegramEvent, { kind: 'decision' }>): Promise<void> {
    const result = await actions.decide('telegram', e.fromId, e.handoffId, { option: e.option });
    if (!result.ok && result.reason === 'totp_required') {
      const pending: PendingStepUp = {
        handoffId: e.handoffId,
        option: e.option,
        tries: 0,
        expiresAt: clock.now().getTime() + STEP_UP_TTL_MS,
      };
      await store.set(stepUpKey(e.fromId), JSON.stringify(pending), STEP_UP_TTL_MS);
      await answer(e.callbackQueryId, REFUSAL_TEXT.totp_required, false);
      // The prompt goes to the person's private chat with the bot (chat id = user id).
      await api.call('sendMessage', {
        chat_id: e.fromId,
        text: REPLIES.stepUpPrompt,
        reply_markup: { force_reply: true, input_field_placeholder: '6-digit TOTP code' },
        ...(e.chatId === e.fromId &&
          e.messageId !== null && {
            reply_parameters: { message_id: e.messageId, allow_sending_without_reply: true },
          }),
      });
      return;
    }
    log.info(
      { handoff_id: e.handoffId, ok: result.ok, result: result.ok ? result.outcome : result.reason },
      'Telegram decision',
    );
    await answer(e.callbackQueryId, decisionAnswer(result), !result.ok);
    // Below the handoff's minimum assurance: how to step up, with the dashboard link, in the private chat.
    if (!result.ok && result.reason === 'assurance_required') await reply(e.fromId, result.message);
  }

  async function onStepUpCode(e: Extract<TelegramEvent, { kind: 'text' }>, code: string): Promise<void> {
    // The message carries a (one-time) code: remove it from the chat whatever happens next.
    void api
      .call('deleteMessage', { chat_id: e.chatId, message_id: e.messageId }, { retry: false })
      .catch(() => undefined);
    const raw = await store.take(stepUpKey(e.fromId));
    if (raw === null) {
      await reply(e.chatId, REPLIES.stepUpNothingPending);
      return;
    }
    const pending = JSON.parse(raw) as PendingStepUp;
    const result = await actions.decide('telegram', e.fromId, pending.handoffId, {
      option: pending.option,
      totpCode: code,
    });
    log.info(
      { handoff_id: pending.handoffId, ok: result.ok, result: result.ok ? result.outcome : result.reason },
      'Telegram decision with TOTP',
    );
    const left = STEP_UP_TRIES - pending.tries - 1;
    const ttl = pending.expiresAt - clock.now().getTime();
    if (!result.ok && result.reason === 'totp_invalid' && left > 0 && ttl > 0) {
      await store.set(stepUpKey(e.fromId), JSON.stringify({ ...pending, tries: pending.tries + 1 }), ttl);
      await reply(e.chatId, REPLIES.stepUpRetry(left));
      return;
    }
    await reply(
      e.chatId,
      !result.ok && result.reason === 'assurance_required' ? result.message : decisionAnswer(result),
    );
  }

  async function onStart(e: Extract<TelegramEvent, { kind: 'start' }>): Promise<void> {
    if (e.chatType !== 'private') {
      await reply(e.chatId, REPLIES.startInGroup);
      return;
    }
    if (e.code === null) {
      await reply(e.chatId, REPLIES.startHelp);
      return;
    }
    const linked = await actions.linkWithCode('telegram', e.code, e.fromId, e.label);
    log.info({ ok: linked.ok, result: linked.ok ? 'linked' : linked.reason }, 'Telegram link attempt');
    if (linked.ok) await reply(e.chatId, REPLIES.linked(linked.memberName, linked.orgName), true);
    else await reply(e.chatId, REFUSAL_TEXT[linked.reason]);
  }

  async function dispatch(e: TelegramEvent): Promise<void> {
    switch (e.kind) {
      case 'decision':
        return onDecision(e);
      case 'unknown_button':
        await answer(e.callbackQueryId, REPLIES.unknownButton, true);
        return;
      case 'start':
        return onStart(e);
      case 'text': {
        if (e.chatType !== 'private') return;
        const code = /^\s*(\d{6})\s*$/.exec(e.text);
        if (code !== null) return onStepUpCode(e, code[1]!);
        await reply(e.chatId, REPLIES.help);
        return;
      }
      case 'ignored':
        return;
    }
  }

  /**
   * Handles one verified update. Answers 'malformed' for a body that is not an update (the webhook
   * says 400); provider errors while replying are logged, never thrown, so Telegram is not asked
   * to redeliver an update whose decision is already recorded.
   */
  async function handleUpdate(body: unknown): Promise<'handled' | 'duplicate' | 'malformed'> {
    const event = parseUpdate(body);
    if (event === undefined) return 'malformed';
    let fresh: boolean;
    try {
      fresh = await replay.claim(`telegram:update:${botId}:${event.updateId}`, UPDATE_SEEN_MS);
    } catch (err) {
      // The replay guard is in Postgres: without it nothing is decided. A button press is told to
      // try again (a new press is a new update); anything else is redelivered by Telegram (503).
      if (!isDatabaseUnavailable(err) || event.kind !== 'decision') throw err;
      await answer(event.callbackQueryId, REFUSAL_TEXT.unavailable, true).catch((e: unknown) =>
        log.warn(describeError(e), 'Telegram answer failed'),
      );
      return 'handled';
    }
    if (!fresh) return 'duplicate';
    try {
      await dispatch(event);
    } catch (err) {
      log.warn({ update_kind: event.kind, ...describeError(err) }, 'Telegram update not fully handled');
    }
    return 'handled';
  }

  let stopping: AbortController | undefined;
  let running: Promise<void> | undefined;

  async function pollLoop(signal: AbortSignal): Promise<void> {
    let offset = 0;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const updates = await api.call(
          'getUpdates',
          { offset, timeout: 25, allowed_updates: [...ALLOWED_UPDATES] },
          { signal, timeoutMs: 35_000, retry: false },
        );
        failures = 0;
        for (const u of updates) {
          offset = Math.max(offset, u.update_id + 1);
          await handleUpdate(u);
        }
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        const wait = Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5));
        log.warn({ ...describeError(err), retry_in_ms: wait }, 'Telegram getUpdates failed');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
      }
    }
  }

  async function registerWebhook(signal: AbortSignal): Promise<void> {
    const url = `${config.publicUrl}${config.webhookPath ?? WEBHOOK_PATH}`;
    for (let failures = 0; !signal.aborted; failures++) {
      try {
        await api.call(
          'setWebhook',
          { url, secret_token: secret, allowed_updates: [...ALLOWED_UPDATES], max_connections: 10 },
          { signal },
        );
        log.info({ url }, 'Telegram webhook registered');
        return;
      } catch (err) {
        if (signal.aborted) return;
        const wait = Math.min(300_000, 5_000 * 2 ** Math.min(failures, 6));
        log.error({ ...describeError(err), retry_in_ms: wait }, 'Telegram setWebhook failed');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
      }
    }
  }

  return {
    /** What the webhook's X-Telegram-Bot-Api-Secret-Token must equal. */
    webhookSecret: secret,
    handleUpdate,

    /**
     * Webhook mode: registers the webhook with its secret (retried in the background until it
     * works). Polling mode: removes any webhook, then long-polls getUpdates until `stop`.
     * Resolves once the first step is done or failed, so the server start is never blocked long.
     */
    async start(): Promise<void> {
      if (running !== undefined) return;
      stopping = new AbortController();
      const signal = stopping.signal;
      if (config.mode === 'webhook') {
        running = registerWebhook(signal);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([running, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
        clearTimeout(timer);
        return;
      }
      try {
        await api.call('deleteWebhook', { drop_pending_updates: false }, { signal });
      } catch (err) {
        log.warn({ ...describeError(err) }, 'Telegram deleteWebhook failed; polling anyway');
      }
      running = pollLoop(signal);
      log.info('Telegram long polling started');
    },

    async stop(): Promise<void> {
      stopping?.abort();
      await running?.catch(() => undefined);
      running = undefined;
      stopping = undefined;
    },
  };
}

export type TelegramBot = ReturnType<typeof createTelegramBot>;
