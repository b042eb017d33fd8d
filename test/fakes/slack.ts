/**
 * A fake Slack for tests, speaking Slack's real protocol on 127.0.0.1:
 *
 * - the Web API methods ony calls (`POST /api/<method>`, form-encoded as @slack/web-api sends them,
 *   or JSON), with Slack's answer shapes and error codes: `not_authed`/`invalid_auth`,
 *   `channel_not_found`, `no_text`, `msg_too_long` (text over 40,000 characters), `invalid_blocks`
 *   with `[ERROR] … [json-pointer:…]` messages (over 50 blocks, section text over 3,000, header over
 *   150, button text over 75, button value over 2,000, actions over 25 elements), `message_not_found`,
 *   `invalid_trigger_id`/`expired_trigger_id` (trigger ids live 3 s), and HTTP 429 `ratelimited`
 *   with Retry-After when a test asks for it; every request is recorded;
 * - interactivity: it builds block_actions / view_submission payloads from what was really posted
 *   (the buttons' values, the opened view's private_metadata), signs them with the signing secret
 *   (v0) and POSTs them form-encoded to our server, as Slack does;
 * - Socket Mode: `apps.connections.open` (app-level token) answers a ws:// URL on this server, which
 *   says hello and delivers envelopes, resolving with the client's acknowledgement;
 * - several workspaces (teams), each with its own bot token: a token works only in its own
 *   workspace (a message posted with one cannot be updated with another's: `message_not_found`),
 *   and every call records the token it came with;
 * - OAuth v2 install: `GET /oauth/v2/authorize` (the person approves at once, for the workspace named
 *   by `team=`) redirects to the app's redirect_uri with a single-use code; `oauth.v2.access`
 *   exchanges it (client id and secret checked) for a new bot token of that workspace;
 *   `auth.revoke` revokes a token (then `token_revoked`);
 * - Events API: `event()` POSTs a signed `event_callback` (app_uninstalled, tokens_revoked) as JSON.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export const FAKE_SLACK_LIMITS = {
  textChars: 40_000,
  blocks: 50,
  sectionTextChars: 3_000,
  headerTextChars: 150,
  buttonTextChars: 75,
  buttonValueChars: 2_000,
  actionsElements: 25,
  modalTitleChars: 24,
  triggerTtlMs: 3_000,
} as const;

export interface RecordedCall {
  readonly method: string;
  readonly token: string | undefined;
  readonly contentType: string;
  /** The raw body as received. */
  readonly raw: string;
  /** Parsed arguments (JSON-valued fields such as blocks and view decoded). */
  readonly args: Record<string, unknown>;
  /** What the fake answered. */
  readonly status: number;
  readonly answer: Record<string, unknown>;
}

export interface SlackUser {
  readonly teamId: string;
  readonly userId: string;
  readonly name: string;
}

interface PostedMessage {
  /** The workspace whose bot posted it. */
  team: string;
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
}

interface OpenedView {
  readonly id: string;
  readonly view: Record<string, unknown>;
  readonly user: SlackUser | undefined;
}

type Injected = { status: 429; retryAfter: number } | { status: 500 | 502 | 503 } | { error: string };

const JSON_FIELDS = new Set(['blocks', 'attachments', 'view', 'metadata']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function textOf(v: unknown): string | undefined {
  return isObj(v) && typeof v.text === 'string' ? v.text : undefined;
}

/** Slack's block validation for the parts ony uses; answers `[ERROR] … [json-pointer:…]` lines. */
export function blockErrors(blocks: unknown, pointer = '/blocks'): string[] {
  const errors: string[] = [];
  if (!Array.isArray(blocks)) return [`[ERROR] must be an array [json-pointer:${pointer}]`];
  if (blocks.length > FAKE_SLACK_LIMITS.blocks)
    errors.push(`[ERROR] no more than ${FAKE_SLACK_LIMITS.blocks} items allowed [json-pointer:${pointer}]`);
  const tooLong = (text: string | undefined, max: number, at: string) => {
    if (text === undefined) errors.push(`[ERROR] missing required field: text [json-pointer:${at}]`);
    else if ([...text].length > max)
      errors.push(`[ERROR] must be less than ${max + 1} characters [json-pointer:${at}/text]`);
  };
  blocks.forEach((b: unknown, i) => {
    const at = `${pointer}/${i}`;
    if (!isObj(b) || typeof b.type !== 'string') {
      errors.push(`[ERROR] missing required field: type [json-pointer:${at}]`);
      return;
    }
    switch (b.type) {
      case 'header':
        tooLong(textOf(b.text), FAKE_SLACK_LIMITS.headerTextChars, `${at}/text`);
        if (isObj(b.text) && b.text.type !== 'plain_text')
          errors.push(`[ERROR] must be plain_text [json-pointer:${at}/text/type]`);
        break;
      case 'section':
        tooLong(textOf(b.text), FAKE_SLACK_LIMITS.sectionTextChars, `${at}/text`);
        if (isObj(b.accessory)) errors.push(...elementErrors(b.accessory, `${at}/accessory`));
        break;
      case 'context':
        if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 10)
          errors.push(`[ERROR] must have 1 to 10 elements [json-pointer:${at}/elements]`);
        break;
      case 'actions':
        if (!Array.isArray(b.elements) || b.elements.length === 0)
          errors.push(`[ERROR] must have at least 1 element [json-pointer:${at}/elements]`);
        else if (b.elements.length > FAKE_SLACK_LIMITS.actionsElements)
          errors.push(
            `[ERROR] no more than ${FAKE_SLACK_LIMITS.actionsElements} items allowed [json-pointer:${at}/elements]`,
          );
        else b.elements.forEach((e: unknown, j) => errors.push(...elementErrors(e, `${at}/elements/${j}`)));
        break;
      case 'input':
      case 'divider':
        break;
      default:
        errors.push(`[ERROR] unsupported type: ${b.type} [json-pointer:${at}/type]`);
    }
  });
  return errors;
}

function elementErrors(e: unknown, at: string): string[] {
  if (!isObj(e) || e.type !== 'button') return [];
  const errors: string[] = [];
  const text = textOf(e.text);
  if (text === undefined || [...text].length > FAKE_SLACK_LIMITS.buttonTextChars)
    errors.push(
      `[ERROR] must be less than ${FAKE_SLACK_LIMITS.buttonTextChars + 1} characters [json-pointer:${at}/text/text]`,
    );
  if (typeof e.value === 'string' && e.value.length > FAKE_SLACK_LIMITS.buttonValueChars)
    errors.push(`[ERROR] must be less than 2001 characters [json-pointer:${at}/value]`);
  if (typeof e.action_id === 'string' && e.action_id.length > 255)
    errors.push(`[ERROR] must be less than 256 characters [json-pointer:${at}/action_id]`);
  return errors;
}

export interface FakeWorkspace {
  readonly teamId: string;
  readonly name: string;
  /** The live bot token (undefined until the app is installed there by OAuth). */
  botToken: string | undefined;
  readonly botUserId: string;
  readonly botId: string;
}

export interface FakeSlackOptions {
  readonly botToken?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly appToken?: string;
  readonly signingSecret?: string;
  readonly teamId?: string;
  /** The clock the fake signs with (ms); the server under test may run on a test clock. */
  readonly now?: () => number;
}

export async function startFakeSlack(options: FakeSlackOptions = {}) {
  const botToken = options.botToken ?? 'xoxb-fake-bot-token-0001';
  const appToken = options.appToken ?? 'xapp-1-fake-app-token-0001';
  const signingSecret = options.signingSecret ?? 'fake-signing-secret-0123456789abcdef';
  const teamId = options.teamId ?? 'T0FAKE001';
  const now = options.now ?? Date.now;
  const clientId = options.clientId ?? '1111111111.2222222222';
  const clientSecret = options.clientSecret ?? 'fakeclientsecret0123456789abcdef';
  const workspaces = new Map<string, FakeWorkspace>();
  workspaces.set(teamId, {
    teamId,
    name: 'Fake Workspace',
    botToken,
    botUserId: 'U0BOT0001',
    botId: 'B0BOT0001',
  });
  const revoked = new Set<string>();
  const codes = new Map<
    string,
    { team: string; redirectUri: string; issuedAt: number; channelId: string | null }
  >();
  const workspaceOf = (token: string) => [...workspaces.values()].find((w) => w.botToken === token);

  const calls: RecordedCall[] = [];
  const messages = new Map<string, PostedMessage>();
  const ephemerals: { channel: string; user: string; text: string; blocks: unknown[] }[] = [];
  const views: OpenedView[] = [];
  const triggers = new Map<string, { issuedAt: number; user: SlackUser | undefined }>();
  const injected = new Map<string, Injected[]>();
  const sockets = new Set<WebSocket>();
  const pendingAcks = new Map<string, (payload: Record<string, unknown>) => void>();
  let seq = 0;
  let tsCounter = 0;

  const nextTs = () => {
    tsCounter++;
    return `${Math.floor(now() / 1000)}.${String(100000 + tsCounter).padStart(6, '0')}`;
  };
  const channelIdOf = (channel: string): string | undefined => {
    if (/^[CGD][A-Z0-9]{2,40}$/.test(channel)) return channel;
    if (/^[UW][A-Z0-9]{2,40}$/.test(channel)) return `D${channel.slice(1)}`;
    const name = /^#?([a-z0-9][a-z0-9._-]{0,79})$/.exec(channel)?.[1];
    if (name === undefined || name === 'no-such-channel') return undefined;
    return `C${createHmac('sha256', 'fake').update(name).digest('hex').slice(0, 9).toUpperCase()}`;
  };

  function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  function parseArgs(raw: string, contentType: string): Record<string, unknown> {
    if (contentType.startsWith('application/json')) {
      const v: unknown = raw === '' ? {} : JSON.parse(raw);
      return isObj(v) ? v : {};
    }
    const args: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(raw)) {
      if (JSON_FIELDS.has(k)) {
        try {
          args[k] = JSON.parse(v);
        } catch {
          args[k] = v;
        }
      } else args[k] = v;
    }
    return args;
  }

  function oauthAccess(args: Record<string, unknown>, basic: [string, string] | undefined): [number, Obj] {
    const fail = (error: string): [number, Obj] => [200, { ok: false, error }];
    const id = basic?.[0] ?? args.client_id;
    const secret = basic?.[1] ?? args.client_secret;
    if (id !== clientId) return fail('invalid_client_id');
    if (secret !== clientSecret) return fail('bad_client_secret');
    const grant = typeof args.code === 'string' ? codes.get(args.code) : undefined;
    if (grant === undefined || now() - grant.issuedAt > 600_000) return fail('invalid_code');
    codes.delete(args.code as string);
    if (args.redirect_uri !== grant.redirectUri) return fail('bad_redirect_uri');
    const w = workspaces.get(grant.team)!;
    w.botToken = `xoxb-${w.teamId}-${randomBytes(12).toString('hex')}`;
    return [
      200,
      {
        ok: true,
        app_id: 'A0FAKEAPP',
        authed_user: { id: 'U0INSTALL1' },
        scope: 'chat:write,chat:write.public,incoming-webhook',
        token_type: 'bot',
        access_token: w.botToken,
        bot_user_id: w.botUserId,
        team: { id: w.teamId, name: w.name },
        enterprise: null,
        is_enterprise_install: false,
        ...(grant.channelId !== null && {
          incoming_webhook: {
            channel: '#approvals',
            channel_id: grant.channelId,
            configuration_url: `https://${w.teamId}.slack.test/services/B0HOOK`,
            url: `https://hooks.slack.test/services/${w.teamId}/B0HOOK/${randomBytes(12).toString('hex')}`,
          },
        }),
      },
    ];
  }

  function handle(
    method: string,
    token: string | undefined,
    args: Record<string, unknown>,
    basic?: [string, string],
  ): [number, Obj] {
    const fail = (error: string, extra: Obj = {}): [number, Obj] => [200, { ok: false, error, ...extra }];
    if (method === 'oauth.v2.access') return oauthAccess(args, basic);
    if (token === undefined || token === '') return fail('not_authed');
    if (revoked.has(token)) return fail('token_revoked');
    const ws = method === 'apps.connections.open' ? undefined : workspaceOf(token);
    if (method === 'apps.connections.open' ? token !== appToken : ws === undefined)
      return fail('invalid_auth');
    const team = ws?.teamId ?? teamId;
    const messageErrors = (a: Obj): [number, Obj] | undefined => {
      const text = typeof a.text === 'string' ? a.text : undefined;
      if ((text === undefined || text === '') && a.blocks === undefined) return fail('no_text');
      if (text !== undefined && [...text].length > FAKE_SLACK_LIMITS.textChars) return fail('msg_too_long');
      if (a.blocks !== undefined) {
        const errs = blockErrors(a.blocks);
        if (errs.length > 0) return fail('invalid_blocks', { response_metadata: { messages: errs } });
      }
      return undefined;
    };
    switch (method) {
      case 'auth.test':
        return [
          200,
          {
            ok: true,
            url: `https://${team.toLowerCase()}.slack.test/`,
            team: ws!.name,
            user: 'ony',
            team_id: team,
            user_id: ws!.botUserId,
            bot_id: ws!.botId,
            is_enterprise_install: false,
          },
        ];
      case 'auth.revoke':
        revoked.add(token);
        if (ws !== undefined) ws.botToken = undefined;
        return [200, { ok: true, revoked: true }];
      case 'chat.postMessage': {
        const channel = typeof args.channel === 'string' ? channelIdOf(args.channel) : undefined;
        if (channel === undefined) return fail('channel_not_found');
        const bad = messageErrors(args);
        if (bad) return bad;
        const ts = nextTs();
        const text = typeof args.text === 'string' ? args.text : '';
        const blocks = Array.isArray(args.blocks) ? args.blocks : [];
        messages.set(`${channel}:${ts}`, { team, channel, ts, text, blocks });
        return [
          200,
          { ok: true, channel, ts, message: { type: 'message', text, blocks, bot_id: 'B0BOT0001', ts } },
        ];
      }
      case 'chat.update': {
        const channel = typeof args.channel === 'string' ? args.channel : '';
        const ts = typeof args.ts === 'string' ? args.ts : '';
        const found = messages.get(`${channel}:${ts}`);
        // Another workspace's bot cannot see (or touch) this message.
        const m = found?.team === team ? found : undefined;
        if (m === undefined)
          return channel.length > 0 && channelIdOf(channel) === undefined
            ? fail('channel_not_found')
            : fail('message_not_found');
        const bad = messageErrors(args);
        if (bad) return bad;
        m.text = typeof args.text === 'string' ? args.text : '';
        m.blocks = Array.isArray(args.blocks) ? args.blocks : [];
        return [200, { ok: true, channel, ts, text: m.text, message: { text: m.text, blocks: m.blocks } }];
      }
      case 'chat.postEphemeral': {
        const channel = typeof args.channel === 'string' ? channelIdOf(args.channel) : undefined;
        if (channel === undefined) return fail('channel_not_found');
        if (typeof args.user !== 'string' || !/^[UW][A-Z0-9]+$/.test(args.user))
          return fail('user_not_found');
        const bad = messageErrors(args);
        if (bad) return bad;
        ephemerals.push({
          channel,
          user: args.user,
          text: typeof args.text === 'string' ? args.text : '',
          blocks: Array.isArray(args.blocks) ? args.blocks : [],
        });
        return [200, { ok: true, message_ts: nextTs() }];
      }
      case 'views.open': {
        const trigger = typeof args.trigger_id === 'string' ? triggers.get(args.trigger_id) : undefined;
        if (trigger === undefined) return fail('invalid_trigger_id');
        if (now() - trigger.issuedAt > FAKE_SLACK_LIMITS.triggerTtlMs) return fail('expired_trigger_id');
        triggers.delete(args.trigger_id as string);
        const view = args.view;
        if (!isObj(view) || view.type !== 'modal') return fail('invalid_arguments');
        const title = textOf(view.title);
        const errs = blockErrors(view.blocks, '/view/blocks');
        if (title === undefined || [...title].length > FAKE_SLACK_LIMITS.modalTitleChars)
          errs.push('[ERROR] must be less than 25 characters [json-pointer:/view/title/text]');
        if (errs.length > 0) return fail('invalid_arguments', { response_metadata: { messages: errs } });
        const id = `V${String(++seq).padStart(9, '0')}`;
        views.push({ id, view, user: trigger.user });
        return [
          200,
          { ok: true, view: { id, team_id: teamId, ...view, state: { values: {} }, hash: `h${seq}` } },
        ];
      }
      case 'apps.connections.open':
        return [
          200,
          { ok: true, url: `ws://127.0.0.1:${port}/link/?ticket=${randomBytes(8).toString('hex')}` },
        ];
      default:
        return fail('unknown_method');
    }
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '').split('?')[0]!;
    if (req.method === 'GET' && path === '/oauth/v2/authorize') return authorize(req, res);
    const m = /^\/api\/([a-zA-Z0-9.]+)$/.exec(path);
    const raw = await readBody(req);
    const contentType = req.headers['content-type'] ?? '';
    const auth = req.headers.authorization;
    const token = typeof auth === 'string' ? /^Bearer (.+)$/.exec(auth)?.[1] : undefined;
    const basicRaw = typeof auth === 'string' ? /^Basic (.+)$/.exec(auth)?.[1] : undefined;
    const basic =
      basicRaw !== undefined
        ? (Buffer.from(basicRaw, 'base64').toString('utf8').split(':') as [string, string])
        : undefined;
    let args: Record<string, unknown> = {};
    let status = 200;
    let answer: Obj;
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    if (req.method !== 'POST' || m === null) {
      status = 404;
      answer = { ok: false, error: 'unknown_method' };
    } else {
      try {
        args = parseArgs(raw, contentType);
        const next = injected.get(m[1]!)?.shift();
        if (next !== undefined && 'status' in next) {
          status = next.status;
          answer =
            next.status === 429 ? { ok: false, error: 'ratelimited' } : { ok: false, error: 'fatal_error' };
          if (next.status === 429) headers['retry-after'] = String(next.retryAfter);
        } else if (next !== undefined) {
          answer = { ok: false, error: next.error };
        } else {
          [status, answer] = handle(m[1]!, token, args, basic);
        }
      } catch {
        answer = { ok: false, error: 'invalid_json' };
      }
    }
    calls.push({ method: m?.[1] ?? req.url ?? '', token, contentType, raw, args, status, answer });
    res.writeHead(status, headers).end(JSON.stringify(answer));
  }

  /** Slack's install page: the person approves at once, for the workspace named by `team=`. */
  function authorize(req: IncomingMessage, res: ServerResponse) {
    const q = new URL(req.url ?? '/', 'http://fake').searchParams;
    const redirectUri = q.get('redirect_uri') ?? '';
    const state = q.get('state') ?? '';
    const team = q.get('team') ?? teamId;
    calls.push({
      method: 'oauth/v2/authorize',
      token: undefined,
      contentType: '',
      raw: req.url ?? '',
      args: Object.fromEntries(q),
      status: 302,
      answer: {},
    });
    if (q.get('client_id') !== clientId || !workspaces.has(team) || !/^https?:\/\//.test(redirectUri)) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_client_id or unknown team');
      return;
    }
    const back = new URL(redirectUri);
    if (q.get('deny') === '1') back.searchParams.set('error', 'access_denied');
    else {
      const code = `${team}.${randomBytes(16).toString('hex')}`;
      const channelId = q.get('channel_id');
      codes.set(code, { team, redirectUri, issuedAt: now(), channelId });
      back.searchParams.set('code', code);
    }
    back.searchParams.set('state', state);
    res.writeHead(302, { location: back.toString() }).end();
  }

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch(() => res.writeHead(500).end());
  });
  const wss = new WebSocketServer({ server, path: '/link/' });
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', (data) => {
      let msg: unknown;
      try {
        msg = JSON.parse(String(data));
      } catch {
        return;
      }
      if (isObj(msg) && typeof msg.envelope_id === 'string') {
        pendingAcks.get(msg.envelope_id)?.(isObj(msg.payload) ? msg.payload : {});
        pendingAcks.delete(msg.envelope_id);
      }
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: sockets.size,
        debug_info: { host: 'fake-slack', approximate_connection_time: 18060 },
        connection_info: { app_id: 'A0FAKEAPP' },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const issueTrigger = (user: SlackUser | undefined) => {
    const id = `${++seq}.${Math.floor(now() / 1000)}.${randomBytes(8).toString('hex')}`;
    triggers.set(id, { issuedAt: now(), user });
    return id;
  };

  const userOf = (u: SlackUser) => ({ id: u.userId, username: u.name, name: u.name, team_id: u.teamId });

  return {
    /** Base URL for the WebClient's slackApiUrl (ends in /api/). */
    apiUrl: `http://127.0.0.1:${port}/api/`,
    botToken,
    clientId,
    clientSecret,
    workspaces,
    appToken,
    signingSecret,
    teamId,
    calls,
    messages,
    ephemerals,
    views,

    callsTo(method: string): RecordedCall[] {
      return calls.filter((c) => c.method === method);
    },

    /** The next `count` calls of `method` fail this way (429 with Retry-After, a 5xx, or a Slack error). */
    failNext(method: string, failure: Injected, count = 1): void {
      const list = injected.get(method) ?? [];
      for (let i = 0; i < count; i++) list.push(failure);
      injected.set(method, list);
    },

    /** Another workspace the app may be installed in (no bot token until it is). */
    addWorkspace(id: string, name: string): FakeWorkspace {
      const n = workspaces.size + 1;
      const w: FakeWorkspace = {
        teamId: id,
        name,
        botToken: undefined,
        botUserId: `U0BOT${String(n).padStart(4, '0')}`,
        botId: `B0BOT${String(n).padStart(4, '0')}`,
      };
      workspaces.set(id, w);
      return w;
    },

    /** Revokes a bot token (as an admin of the workspace would): it answers `token_revoked` from now on. */
    revoke(token: string): void {
      revoked.add(token);
    },

    /** POSTs a signed Events API callback (JSON) to our server, as Slack does. */
    async event(url: string, team: string, event: Record<string, unknown>, opts: { secret?: string } = {}) {
      const body = JSON.stringify({
        token: 'deprecated-verification-token',
        team_id: team,
        api_app_id: 'A0FAKEAPP',
        event: { ...event, event_ts: `${now() / 1000}` },
        type: 'event_callback',
        event_id: `Ev${randomBytes(6).toString('hex').toUpperCase()}`,
        event_time: Math.floor(now() / 1000),
      });
      const ts = String(Math.floor(now() / 1000));
      const sig = `v0=${createHmac('sha256', opts.secret ?? signingSecret)
        .update(`v0:${ts}:${body}`)
        .digest('hex')}`;
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-slack-request-timestamp': ts,
          'x-slack-signature': sig,
        },
        body,
      });
      return { status: res.status, body: await res.text() };
    },

    /** Forgets injected failures not used yet. */
    clearFailures(): void {
      injected.clear();
    },

    /** A block_actions payload: `user` clicks the button of `optionId` on a posted message. */
    clickPayload(ref: string, user: SlackUser, optionId: string): Record<string, unknown> {
      const m = messages.get(ref);
      if (m === undefined) throw new Error(`no message ${ref}`);
      for (const b of m.blocks) {
        if (!isObj(b) || b.type !== 'actions' || !Array.isArray(b.elements)) continue;
        for (const e of b.elements) {
          if (!isObj(e) || typeof e.value !== 'string') continue;
          const v = JSON.parse(e.value) as { o?: string };
          if (v.o !== optionId) continue;
          return {
            type: 'block_actions',
            user: userOf(user),
            api_app_id: 'A0FAKEAPP',
            token: 'deprecated-verification-token',
            container: { type: 'message', message_ts: m.ts, channel_id: m.channel, is_ephemeral: false },
            trigger_id: issueTrigger(user),
            team: { id: user.teamId, domain: 'fake' },
            enterprise: null,
            is_enterprise_install: false,
            channel: { id: m.channel, name: m.channel.startsWith('D') ? 'directmessage' : 'approvals' },
            message: { type: 'message', text: m.text, blocks: m.blocks, ts: m.ts, bot_id: 'B0BOT0001' },
            state: { values: {} },
            response_url: `http://127.0.0.1:${port}/actions/${m.channel}/${m.ts}`,
            actions: [
              {
                action_id: e.action_id,
                block_id: b.block_id,
                text: e.text,
                value: e.value,
                style: e.style,
                type: 'button',
                action_ts: `${now() / 1000}`,
              },
            ],
          };
        }
      }
      throw new Error(`message ${ref} has no button for option ${optionId}`);
    },

    /** A view_submission payload for an opened modal, with `values[block][action] = value`. */
    submitPayload(viewId: string, user: SlackUser, values: Record<string, Record<string, string>>) {
      const v = views.find((x) => x.id === viewId);
      if (v === undefined) throw new Error(`no view ${viewId}`);
      const state: Record<string, Record<string, unknown>> = {};
      for (const [block, actions] of Object.entries(values)) {
        state[block] = {};
        for (const [action, value] of Object.entries(actions))
          state[block][action] = { type: 'plain_text_input', value };
      }
      return {
        type: 'view_submission',
        team: { id: user.teamId, domain: 'fake' },
        user: userOf(user),
        api_app_id: 'A0FAKEAPP',
        token: 'deprecated-verification-token',
        trigger_id: issueTrigger(user),
        view: {
          id: v.id,
          team_id: teamId,
          ...v.view,
          state: { values: state },
          hash: 'h',
          app_id: 'A0FAKEAPP',
        },
        response_urls: [],
        is_enterprise_install: false,
        enterprise: null,
      };
    },

    /** The signed form body and headers Slack would send for `payload`. */
    signed(payload: unknown, opts: { secret?: string; timestamp?: number } = {}) {
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      const ts = String(opts.timestamp ?? Math.floor(now() / 1000));
      const sig = `v0=${createHmac('sha256', opts.secret ?? signingSecret)
        .update(`v0:${ts}:${body}`)
        .digest('hex')}`;
      return {
        body,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': ts,
          'x-slack-signature': sig,
          'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
        },
      };
    },

    /** POSTs a signed interaction to our server, as Slack does; answers the status and body. */
    async deliver(url: string, payload: unknown, opts: { secret?: string; timestamp?: number } = {}) {
      const { body, headers } = this.signed(payload, opts);
      const res = await fetch(url, { method: 'POST', headers, body });
      return { status: res.status, body: await res.text() };
    },

    /** Socket Mode clients connected now. */
    get socketCount(): number {
      return sockets.size;
    },

    /** Sends an envelope over Socket Mode to every connected client; resolves with the first ack. */
    envelope(payload: unknown, type = 'interactive', timeoutMs = 5_000): Promise<Record<string, unknown>> {
      if (sockets.size === 0) return Promise.reject(new Error('no Socket Mode client is connected'));
      const envelope_id = randomBytes(16).toString('hex');
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pendingAcks.delete(envelope_id);
          reject(new Error(`no ack for envelope ${envelope_id}`));
        }, timeoutMs);
        pendingAcks.set(envelope_id, (ack) => {
          clearTimeout(timer);
          resolve(ack);
        });
        const frame = JSON.stringify({ envelope_id, type, payload, accepts_response_payload: true });
        for (const ws of sockets) ws.send(frame);
      });
    },

    async close(): Promise<void> {
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FakeSlack = Awaited<ReturnType<typeof startFakeSlack>>;
