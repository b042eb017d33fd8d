/**
 * A fake Telegram Bot API: a real HTTP server on 127.0.0.1 that speaks the Bot API's protocol as
 * telegraf calls it (`POST /bot<token>/<method>`, JSON or form bodies, answers `{ok: true, result}`
 * or `{ok: false, error_code, description[, parameters]}`), with Telegram's limits (message text
 * 4096 characters after entity parsing, callback_data 1-64 bytes, answerCallbackQuery text 200,
 * the HTML parse mode's tags and entities) and its 429 answer with `parameters.retry_after`.
 *
 * It records every request it receives, and plays Telegram's other half: it delivers updates
 * (button taps, messages) to the webhook registered with setWebhook, with the
 * X-Telegram-Bot-Api-Secret-Token header, or queues them for getUpdates (long polling).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeUser {
  readonly id: number;
  readonly first_name: string;
  readonly username?: string;
}

export interface RecordedCall {
  readonly method: string;
  readonly token: string;
  readonly contentType: string;
  /** The request body exactly as received. */
  readonly raw: string;
  readonly params: Record<string, unknown>;
  readonly status: number;
}

export interface Entity {
  readonly type: string;
  readonly offset: number;
  readonly length: number;
  readonly url?: string;
}

export interface FakeMessage {
  readonly chatId: number;
  readonly messageId: number;
  /** Text after entity parsing (what the person sees). */
  text: string;
  entities: Entity[];
  replyMarkup: Record<string, unknown> | undefined;
  readonly fromBot: boolean;
  deleted: boolean;
  edits: number;
}

export interface WebhookDelivery {
  readonly status: number;
  readonly body: string;
}

type Failure = { readonly status: 429; readonly retryAfter: number } | { readonly status: 500 | 502 | 503 };

const BOT = { id: 7000001, is_bot: true, first_name: 'ony test bot', username: 'ony_test_bot' } as const;
const MESSAGE_MAX = 4096;
const CALLBACK_DATA_MAX_BYTES = 64;
const CALLBACK_ANSWER_MAX = 200;
/** The HTML parse mode's tags (Bot API "Formatting options"). */
const HTML_TAGS: Readonly<Record<string, string>> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  'tg-spoiler': 'spoiler',
  span: 'spoiler',
  a: 'text_link',
  code: 'code',
  pre: 'pre',
  blockquote: 'blockquote',
  'tg-emoji': 'custom_emoji',
};
const NAMED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"' };

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly parameters?: Record<string, unknown>,
  ) {
    super(description);
  }
}

const badRequest = (what: string) => new ApiError(400, `Bad Request: ${what}`);

/** Parses Telegram's HTML parse mode the way the Bot API does: entities out, visible text left. */
export function parseTelegramHtml(html: string): { text: string; entities: Entity[] } {
  let text = '';
  const entities: Entity[] = [];
  const open: { name: string; offset: number; url?: string }[] = [];
  let i = 0;
  while (i < html.length) {
    const ch = html[i]!;
    if (ch === '<') {
      const end = html.indexOf('>', i);
      if (end === -1) throw badRequest(`can't parse entities: Unclosed start tag at byte offset ${i}`);
      const inner = html.slice(i + 1, end);
      if (inner.startsWith('/')) {
        const name = inner.slice(1).trim().toLowerCase();
        const top = open.pop();
        if (top === undefined || top.name !== name)
          throw badRequest(
            `can't parse entities: Unmatched end tag at byte offset ${i}, expected "</${top?.name ?? ''}>", found "</${name}>"`,
          );
        const length = text.length - top.offset;
        if (length > 0)
          entities.push({
            type: HTML_TAGS[name]!,
            offset: top.offset,
            length,
            ...(top.url !== undefined && { url: top.url }),
          });
      } else {
        const m = /^([a-z-]+)(\s[^]*)?$/i.exec(inner);
        const name = m?.[1]?.toLowerCase() ?? '';
        if (HTML_TAGS[name] === undefined)
          throw badRequest(`can't parse entities: Unsupported start tag "${name}" at byte offset ${i}`);
        const href = /href\s*=\s*"([^"]*)"/.exec(m?.[2] ?? '')?.[1];
        open.push({ name, offset: text.length, ...(href !== undefined && { url: href }) });
      }
      i = end + 1;
      continue;
    }
    if (ch === '>') throw badRequest(`can't parse entities: Unexpected end tag at byte offset ${i}`);
    if (ch === '&') {
      const m = /^&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/i.exec(html.slice(i, i + 12));
      if (m !== null) {
        const ref = m[1]!;
        const decoded = ref.startsWith('#x')
          ? String.fromCodePoint(parseInt(ref.slice(2), 16))
          : ref.startsWith('#')
            ? String.fromCodePoint(Number(ref.slice(1)))
            : NAMED_ENTITIES[ref.toLowerCase()];
        if (decoded !== undefined) {
          text += decoded;
          i += m[0].length;
          continue;
        }
      }
    }
    text += ch;
    i++;
  }
  if (open.length > 0)
    throw badRequest(
      `can't parse entities: Can't find end tag corresponding to start tag "${open[0]!.name}"`,
    );
  return { text, entities };
}

function validateMarkup(markup: unknown): Record<string, unknown> | undefined {
  if (markup === undefined || markup === null) return undefined;
  const m = (typeof markup === 'string' ? JSON.parse(markup) : markup) as Record<string, unknown>;
  if (typeof m !== 'object' || m === null) throw badRequest("can't parse reply keyboard markup JSON object");
  if ('inline_keyboard' in m) {
    const rows = m.inline_keyboard;
    if (!Array.isArray(rows)) throw badRequest('field "inline_keyboard" must be an Array');
    for (const row of rows) {
      if (!Array.isArray(row)) throw badRequest('field "inline_keyboard" must be an Array of Arrays');
      for (const b of row as Record<string, unknown>[]) {
        if (typeof b.text !== 'string' || b.text === '') throw badRequest('BUTTON_TEXT_INVALID');
        if (typeof b.callback_data === 'string') {
          const bytes = Buffer.byteLength(b.callback_data, 'utf8');
          if (bytes < 1 || bytes > CALLBACK_DATA_MAX_BYTES) throw badRequest('BUTTON_DATA_INVALID');
        } else if (typeof b.url !== 'string') {
          throw badRequest('can\'t find field "callback_data"');
        }
      }
    }
  }
  return m;
}

export class FakeTelegram {
  readonly calls: RecordedCall[] = [];
  readonly messages = new Map<string, FakeMessage>();
  /** The answers given to callback queries, by query id. */
  readonly callbackAnswers = new Map<string, { text: string | undefined; show_alert: boolean }>();
  webhook: { url: string; secretToken: string | undefined; allowedUpdates: unknown } | null = null;
  /** Chats whose user blocked the bot (sendMessage answers 403). */
  readonly blocked = new Set<number>();
  /** Every webhook delivery and its answer. */
  readonly deliveries: { update: Record<string, unknown>; status: number }[] = [];

  private server!: Server;
  /** Other bots served by the same fake (several orgs' own bots), by token. */
  private readonly bots = new Map<string, FakeTelegram>();
  /** Set on a bot added with addBot: the fake whose server it answers on. */
  private host: FakeTelegram | undefined;
  /** What getMe answers for this bot. */
  private me: Record<string, unknown> = BOT;
  private nextUpdateId = 500_000;
  private readonly nextMessageId = new Map<number, number>();
  private readonly queue: Record<string, unknown>[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly pendingQueries = new Set<string>();
  private readonly failures: { method: string; failure: Failure }[] = [];
  private readonly hosts = new Map<string, string>();
  private outage = false;

  constructor(readonly token: string) {}

  get url(): string {
    if (this.host !== undefined) return this.host.url;
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /**
   * Another bot on the same Bot API (another org's own bot): its own token, identity, messages,
   * webhook and update queue. Calls with its token are answered by it; the others' never.
   */
  addBot(token: string, username: string): FakeTelegram {
    const bot = new FakeTelegram(token);
    bot.host = this;
    bot.me = { id: Number(token.split(':')[0]), is_bot: true, first_name: username, username };
    bot.nextUpdateId = 600_000 + this.bots.size * 100_000;
    this.bots.set(token, bot);
    return bot;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.onRequest(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async close(): Promise<void> {
    for (const b of this.bots.values()) for (const wake of b.waiters) wake();
    for (const wake of this.waiters) wake();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close').catch(() => undefined);
  }

  /** The next `times` calls of `method` fail as given (429 with retry_after, or a 5xx). */
  failNext(method: string, failure: Failure, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push({ method, failure });
  }

  /** While on, every call answers 502 (Telegram's front end is down). */
  setOutage(on: boolean): void {
    this.outage = on;
  }

  /** Deliveries to `https://<host>` go to `origin` instead (the test server's real address). */
  resolve(host: string, origin: string): void {
    this.hosts.set(host, origin);
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  message(chatId: number, messageId: number): FakeMessage | undefined {
    return this.messages.get(`${chatId}:${messageId}`);
  }

  /** Bot messages in a chat, oldest first. */
  botMessages(chatId: number): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.chatId === chatId && m.fromBot && !m.deleted);
  }

  // --- Telegram's side: updates -------------------------------------------------------------

  /** A person taps an inline button (`data` defaults to the button's own callback_data). */
  async tap(
    user: FakeUser,
    msg: FakeMessage,
    data: string,
  ): Promise<{ queryId: string; delivery?: WebhookDelivery }> {
    const queryId = String(BigInt(user.id) * 1000n + BigInt(this.nextUpdateId));
    this.pendingQueries.add(queryId);
    const delivery = await this.deliver({
      callback_query: {
        id: queryId,
        from: { ...user, is_bot: false },
        chat_instance: `ci${msg.chatId}`,
        data,
        message: this.messageObject(msg),
      },
    });
    return { queryId, ...(delivery !== undefined && { delivery }) };
  }

  /** The callback_data of the button labelled like `label` on a message. */
  buttonData(msg: FakeMessage, label: RegExp): string {
    const rows = (msg.replyMarkup?.inline_keyboard ?? []) as { text: string; callback_data?: string }[][];
    const b = rows.flat().find((x) => label.test(x.text));
    if (b?.callback_data === undefined) throw new Error(`no button ${label} on message ${msg.messageId}`);
    return b.callback_data;
  }

  /** A person writes in a chat (a private chat with the bot unless `chat` says otherwise). */
  async say(
    user: FakeUser,
    text: string,
    chat: { id: number; type: 'private' | 'group' | 'supergroup' } = { id: user.id, type: 'private' },
  ): Promise<{ message: FakeMessage; delivery?: WebhookDelivery }> {
    const msg = this.store(chat.id, false, text, [], undefined);
    const delivery = await this.deliver({
      message: {
        ...this.messageObject(msg),
        from: { ...user, is_bot: false },
        chat:
          chat.type === 'private'
            ? { id: chat.id, type: 'private', first_name: user.first_name }
            : { id: chat.id, type: chat.type, title: 'a group' },
        ...(text.startsWith('/') && {
          entities: [{ type: 'bot_command', offset: 0, length: text.split(/\s/)[0]!.length }],
        }),
      },
    });
    return { message: msg, ...(delivery !== undefined && { delivery }) };
  }

  /**
   * Delivers an update: POSTed to the webhook with the secret header when one is set (answering
   * what our server said), else queued for getUpdates (answering undefined).
   */
  async deliver(partial: Record<string, unknown>): Promise<WebhookDelivery | undefined> {
    // A full update (with its update_id) is delivered again as it is: Telegram's redelivery.
    const update =
      typeof partial.update_id === 'number' ? partial : { update_id: this.nextUpdateId++, ...partial };
    if (this.webhook === null) {
      this.queue.push(update);
      for (const wake of this.waiters) wake();
      return undefined;
    }
    const target = new URL(this.webhook.url);
    const origin = this.hosts.get(target.host) ?? target.origin;
    const res = await fetch(`${origin}${target.pathname}${target.search}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.webhook.secretToken !== undefined && {
          'x-telegram-bot-api-secret-token': this.webhook.secretToken,
        }),
      },
      body: JSON.stringify(update),
    });
    const body = await res.text();
    this.deliveries.push({ update, status: res.status });
    return { status: res.status, body };
  }

  /** Updates still waiting for getUpdates. */
  pendingUpdates(): number {
    return this.queue.length;
  }

  // --- The Bot API -------------------------------------------------------------------------

  private messageObject(msg: FakeMessage): Record<string, unknown> {
    return {
      message_id: msg.messageId,
      date: Math.floor(Date.now() / 1000),
      chat:
        msg.chatId > 0
          ? { id: msg.chatId, type: 'private' }
          : { id: msg.chatId, type: 'supergroup', title: 'a group' },
      ...(msg.fromBot && { from: this.me }),
      text: msg.text,
      ...(msg.entities.length > 0 && { entities: msg.entities }),
      ...(msg.replyMarkup !== undefined && { reply_markup: msg.replyMarkup }),
    };
  }

  private store(
    chatId: number,
    fromBot: boolean,
    text: string,
    entities: Entity[],
    replyMarkup: Record<string, unknown> | undefined,
  ): FakeMessage {
    const messageId = (this.nextMessageId.get(chatId) ?? 0) + 1;
    this.nextMessageId.set(chatId, messageId);
    const msg: FakeMessage = {
      chatId,
      messageId,
      text,
      entities,
      replyMarkup,
      fromBot,
      deleted: false,
      edits: 0,
    };
    this.messages.set(`${chatId}:${messageId}`, msg);
    return msg;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const other = /^\/bot([^/]+)\//.exec(new URL(req.url ?? '/', 'http://fake').pathname)?.[1];
    const bot = other !== undefined ? this.bots.get(other) : undefined;
    if (bot !== undefined) return bot.onRequest(req, res);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    const contentType = req.headers['content-type'] ?? '';
    let params: Record<string, unknown> = Object.fromEntries(url.searchParams);
    const send = (status: number, body: unknown) => {
      if (m !== null) this.calls.push({ method: m[2]!, token: m[1]!, contentType, raw, params, status });
      if (res.writableEnded || res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (e: ApiError) =>
      send(e.code, {
        ok: false,
        error_code: e.code,
        description: e.description,
        ...(e.parameters !== undefined && { parameters: e.parameters }),
      });
    try {
      if (contentType.startsWith('application/json') && raw !== '')
        params = { ...params, ...(JSON.parse(raw) as Record<string, unknown>) };
      else if (contentType.startsWith('application/x-www-form-urlencoded'))
        params = { ...params, ...Object.fromEntries(new URLSearchParams(raw)) };
    } catch {
      return fail(badRequest("can't parse JSON"));
    }
    if (m === null) return fail(new ApiError(404, 'Not Found'));
    if (m[1] !== this.token) return fail(new ApiError(401, 'Unauthorized'));
    const method = m[2]!;
    if (this.outage) return send(502, { ok: false, error_code: 502, description: 'Bad Gateway' });
    const i = this.failures.findIndex((f) => f.method === method);
    if (i !== -1) {
      const { failure } = this.failures.splice(i, 1)[0]!;
      if (failure.status === 429)
        return fail(
          new ApiError(429, `Too Many Requests: retry after ${failure.retryAfter}`, {
            retry_after: failure.retryAfter,
          }),
        );
      return send(failure.status, {
        ok: false,
        error_code: failure.status,
        description: 'Internal Server Error',
      });
    }
    try {
      const result = await this.call(method, params, res);
      send(200, { ok: true, result });
    } catch (e) {
      if (e instanceof ApiError) return fail(e);
      return fail(badRequest(e instanceof Error ? e.message : 'error'));
    }
  }

  private textParams(params: Record<string, unknown>): { text: string; entities: Entity[] } {
    if (typeof params.text !== 'string' || params.text === '') throw badRequest('message text is empty');
    const parsed =
      params.parse_mode === 'HTML'
        ? parseTelegramHtml(params.text)
        : params.parse_mode === undefined
          ? { text: params.text, entities: [] }
          : (() => {
              throw badRequest(`unsupported parse_mode ${String(params.parse_mode)} in this fake`);
            })();
    const text = parsed.text.trim();
    if (text === '') throw badRequest('message text is empty');
    if (text.length > MESSAGE_MAX) throw badRequest('message is too long');
    return { text, entities: parsed.entities };
  }

  private chatIdOf(params: Record<string, unknown>): number {
    const raw = params.chat_id;
    const id =
      typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(id)) throw badRequest('chat not found');
    return id;
  }

  private async call(method: string, params: Record<string, unknown>, res: ServerResponse): Promise<unknown> {
    switch (method) {
      case 'getMe':
        return this.me;
      case 'setWebhook': {
        const url = typeof params.url === 'string' ? params.url : '';
        if (url === '') {
          this.webhook = null;
          return true;
        }
        if (!url.startsWith('https://'))
          throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
        const secret = params.secret_token;
        if (secret !== undefined && (typeof secret !== 'string' || !/^[A-Za-z0-9_-]{1,256}$/.test(secret)))
          throw badRequest('bad webhook: secret token contains unallowed characters');
        this.webhook = {
          url,
          secretToken: secret as string | undefined,
          allowedUpdates: params.allowed_updates,
        };
        return true;
      }
      case 'deleteWebhook':
        this.webhook = null;
        if (params.drop_pending_updates === true) this.queue.length = 0;
        return true;
      case 'getWebhookInfo':
        return {
          url: this.webhook?.url ?? '',
          has_custom_certificate: false,
          pending_update_count: this.queue.length,
        };
      case 'getUpdates':
        return this.getUpdates(params, res);
      case 'sendMessage': {
        const chatId = this.chatIdOf(params);
        const { text, entities } = this.textParams(params);
        const markup = validateMarkup(params.reply_markup);
        if (this.blocked.has(chatId)) throw new ApiError(403, 'Forbidden: bot was blocked by the user');
        const inline = markup !== undefined && 'inline_keyboard' in markup ? markup : undefined;
        const msg = this.store(chatId, true, text, entities, inline);
        return this.messageObject(msg);
      }
      case 'editMessageText': {
        const chatId = this.chatIdOf(params);
        const msg = this.message(chatId, Number(params.message_id));
        if (msg === undefined || msg.deleted || !msg.fromBot) throw badRequest('message to edit not found');
        const { text, entities } = this.textParams(params);
        const markup = validateMarkup(params.reply_markup);
        const inline =
          markup !== undefined && Array.isArray(markup.inline_keyboard) && markup.inline_keyboard.length > 0
            ? markup
            : undefined;
        if (
          msg.text === text &&
          JSON.stringify(msg.entities) === JSON.stringify(entities) &&
          JSON.stringify(msg.replyMarkup) === JSON.stringify(inline)
        )
          throw badRequest(
            'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
          );
        msg.text = text;
        msg.entities = entities;
        msg.replyMarkup = inline;
        msg.edits++;
        return this.messageObject(msg);
      }
      case 'deleteMessage': {
        const msg = this.message(this.chatIdOf(params), Number(params.message_id));
        if (msg === undefined || msg.deleted) throw badRequest('message to delete not found');
        msg.deleted = true;
        return true;
      }
      case 'answerCallbackQuery': {
        const id = String(params.callback_query_id ?? '');
        if (!this.pendingQueries.has(id))
          throw badRequest('query is too old and response timeout expired or query ID is invalid');
        const text = typeof params.text === 'string' ? params.text : undefined;
        if (text !== undefined && text.length > CALLBACK_ANSWER_MAX) throw badRequest('MESSAGE_TOO_LONG');
        this.pendingQueries.delete(id);
        this.callbackAnswers.set(id, { text, show_alert: params.show_alert === true });
        return true;
      }
      default:
        throw new ApiError(404, 'Not Found');
    }
  }

  private async getUpdates(params: Record<string, unknown>, res: ServerResponse): Promise<unknown> {
    if (this.webhook !== null)
      throw new ApiError(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    const offset = Number(params.offset ?? 0);
    const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)));
    const timeout = Math.min(50, Math.max(0, Number(params.timeout ?? 0)));
    // An offset confirms every update before it: they are never returned again.
    if (offset > 0) {
      while (this.queue.length > 0 && (this.queue[0]!.update_id as number) < offset) this.queue.shift();
    }
    if (this.queue.length === 0 && timeout > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, timeout * 1000);
        this.waiters.add(done);
        res.once('close', done);
      });
    }
    return this.queue.slice(0, limit);
  }
}

export async function startFakeTelegram(token: string): Promise<FakeTelegram> {
  return new FakeTelegram(token).start();
}
