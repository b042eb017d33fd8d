/**
 * No telemetry, proved (issue #10 item 7, DESIGN.md §3.8). The real server runs with Slack, Telegram
 * and SMTP configured (each an in-process fake speaking the real protocol) plus an agent callback
 * receiver. Every socket this process opens is recorded by wrapping `net.Socket.prototype.connect`
 * (net.connect, http, undici's fetch, tls.connect, pg, ioredis and nodemailer all end there) and every
 * byte written on it is kept. One handoff goes the whole way: create -> escalate on every channel ->
 * decide -> signed callback -> messages updated. Then:
 *   - each connection went to a configured host:port (a provider fake, the callback receiver, the
 *     database or Redis when configured, or this server itself: the Telegram fake's webhook and the
 *     test's own requests);
 *   - every configured provider and the callback were reached (the recorder sees real traffic);
 *   - no byte written on any socket, and no request a provider received, carries the payload marker
 *     (the payload, the target and the raw command hold it; only the redacted gist may leave).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from '../fakes/slack.js';
import { startFakeTelegram, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';
import {
  as,
  confirmed,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp.js';

const MARKER = `PAYLOADMARK${randomBytes(6).toString('hex')}`;
/** In the action target: the agent's own callback may echo it (its own data), no channel may. */
const TARGET = `TARGETMARK${randomBytes(6).toString('hex')}`;
const TG_TOKEN = '7000002:AAHfakeTokenForEgressTest_0123456789';
const TG_SECRET = 'egress-webhook-secret_0123456789';
const ALICE: FakeUser = { id: 2001, first_name: 'Alice', username: 'alice_eg' };

interface Connection {
  readonly host: string;
  readonly port: number;
  written: string;
}

const connections: Connection[] = [];
const originalConnect = net.Socket.prototype.connect;

/** Normalises the arguments of socket.connect(): (options[, cb]) | (port[, host][, cb]) | (path[, cb]). */
function targetOf(args: unknown[]): { host: string; port: number } | undefined {
  const [a, b] = args;
  // Node passes [options, cb] as one array argument internally (normalizeArgs).
  const first = Array.isArray(a) ? (a[0] as unknown) : a;
  if (typeof first === 'object' && first !== null) {
    const o = first as { host?: string; port?: number | string; path?: string };
    // A Unix socket (path, no port) is not network egress. (http passes its request path in the same
    // options object, next to host and port.)
    if (o.port === undefined && o.path !== undefined) return undefined;
    return { host: o.host ?? 'localhost', port: Number(o.port) };
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first)))
    return { host: typeof b === 'string' ? b : 'localhost', port: Number(first) };
  return undefined;
}

type WriteGeneric = (writev: boolean, data: unknown, encoding: string, cb: unknown) => unknown;
const socketProto = net.Socket.prototype as unknown as { _writeGeneric: WriteGeneric };
const originalWrite = socketProto._writeGeneric;
const outbound = new WeakMap<net.Socket, Connection>();

const text = (chunk: unknown): string =>
  typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('latin1') : '';

function record(): void {
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const target = targetOf(args);
    if (target !== undefined) {
      const c: Connection = { ...target, written: '' };
      connections.push(c);
      outbound.set(this, c);
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the overloads of connect differ; args are passed through untouched
    return (originalConnect as (...a: any[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
  // Every write of a net socket (http, undici, smtp, pg) reaches the handle through _writeGeneric
  // (writev: an array of { chunk }); keep what goes out on sockets this process connected (bounded).
  socketProto._writeGeneric = function (this: net.Socket, writev, data, encoding, cb) {
    const c = outbound.get(this);
    if (c !== undefined && c.written.length < 4_000_000) {
      const chunks = writev ? (data as { chunk: unknown }[]).map((d) => d.chunk) : [data];
      for (const chunk of chunks) c.written += text(chunk);
    }
    return originalWrite.call(this, writev, data, encoding, cb);
  };
}

const hostPort = (url: string) => {
  const u = new URL(url);
  const port =
    u.port !== '' ? Number(u.port) : { 'https:': 443, 'http:': 80, 'smtp:': 25, 'redis:': 6379 }[u.protocol];
  return `${u.hostname}:${port ?? 5432}`;
};
const norm = (h: string) => (h === 'localhost' || h === '::1' || h === '::ffff:127.0.0.1' ? '127.0.0.1' : h);
const normHostPort = (hp: string) => {
  const i = hp.lastIndexOf(':');
  return `${norm(hp.slice(0, i))}:${hp.slice(i + 1)}`;
};

let slack: FakeSlack;
let telegram: FakeTelegram;
let smtp: SmtpPeer;
let receiver: Server;
let receiverPort: number;
const callbacks: string[] = [];
let t: TestServer;
let base: string;
let admin: Actor;

async function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  record();
  slack = await startFakeSlack();
  telegram = await startFakeTelegram(TG_TOKEN);
  smtp = await startSmtpPeer();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      callbacks.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.3', r));
  receiverPort = (receiver.address() as net.AddressInfo).port;
  t = await startTestServer({
    ONY_SLACK_BOT_TOKEN: slack.botToken,
    ONY_SLACK_SIGNING_SECRET: slack.signingSecret,
    ONY_SLACK_CHANNEL: '#approvals',
    ONY_SLACK_API_URL: slack.apiUrl,
    ONY_TELEGRAM_BOT_TOKEN: TG_TOKEN,
    ONY_TELEGRAM_API_ROOT: telegram.url,
    ONY_TELEGRAM_MODE: 'webhook',
    ONY_TELEGRAM_WEBHOOK_SECRET: TG_SECRET,
    ONY_SMTP_URL: smtp.url,
    ONY_MAIL_FROM: 'ony <ony@ony.test>',
    ONY_CALLBACK_ALLOW_HOSTS: '127.0.0.3',
    ONY_CALLBACK_ALLOW_HTTP: 'true',
  });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  telegram.resolve('ony.test', base);
  admin = await createOrgWithAdmin(t, 'egress');
  // Alice's Telegram chat is linked, so the Telegram step has someone to reach.
  const code = await as(t, admin, 'POST', '/v1/me/channel-links/codes', { channel: 'telegram' });
  expect(code.statusCode, code.body).toBe(201);
  const { delivery } = await telegram.say(ALICE, `/start ${code.json<{ code: string }>().code}`);
  expect(delivery?.status).toBe(200);
  const steps = ['slack', 'telegram', 'email', 'console'].map((channel) => ({
    after_s: 0,
    channel,
    targets: 'all',
  }));
  const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
    // A password session approves here: this file is about egress, not the assurance minimum
    // (test/handoffs/assurance.test.ts), so critical accepts A1.
    escalation_policy: { levels: { critical: { rule: 'approve', steps, min_assurance: 'A1' } } },
  });
  expect(put.statusCode, put.body).toBe(200);
}, 90_000);

afterAll(async () => {
  net.Socket.prototype.connect = originalConnect;
  socketProto._writeGeneric = originalWrite;
  await t?.close();
  await slack?.close();
  await telegram?.close();
  await smtp?.stop();
  receiver?.close();
});

describe('no egress beyond configured providers and callbacks', () => {
  it('a whole flow opens sockets only to configured peers, and the payload never leaves', async () => {
    const device = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{
      token: string;
      webhook_secret?: string;
    }>();
    // Created through inject (no socket), so the marker is not on the wire of the test's own request.
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/handoffs',
      headers: { authorization: `Bearer ${device.token}` },
      payload: {
        action: { type: 'shell.exec', target: `db-${TARGET}` },
        title: 'clean the disk',
        summary: 'frees space on the build host',
        payload: { kind: 'command', content: `rm -rf / # ${MARKER}` },
        callback_url: `http://127.0.0.3:${receiverPort}/hook`,
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const h = created.json<{ id: string; status: string; risk: { level: string } }>();
    expect(h).toMatchObject({ status: 'pending', risk: { level: 'critical' } });

    // Escalated on every channel.
    await eventually(() => slack.callsTo('chat.postMessage').length > 0);
    await eventually(() => telegram.botMessages(ALICE.id).some((m) => m.text.includes('clean the disk')));
    await eventually(() => smtp.received.some((m) => m.subject.includes('clean the disk')));

    // Decided in the dashboard; the signed callback and the message updates follow.
    const decided = await as(
      t,
      admin,
      'POST',
      `/v1/handoffs/${h.id}/decision`,
      await confirmed(t, admin, h.id, { decision: 'approve' }),
    );
    expect(decided.statusCode, decided.body).toBe(200);
    await eventually(() => callbacks.length > 0);
    await eventually(() => slack.callsTo('chat.update').length > 0);
    await eventually(() => telegram.calls.some((c) => c.method === 'editMessageText'));

    const allowed = new Set(
      [
        hostPort(slack.apiUrl),
        hostPort(telegram.url),
        `127.0.0.1:${smtp.port}`,
        `127.0.0.3:${receiverPort}`,
        hostPort(base),
        ...(process.env.DATABASE_URL ? [hostPort(process.env.DATABASE_URL)] : []),
        ...(process.env.REDIS_URL ? [hostPort(process.env.REDIS_URL)] : []),
      ].map(normHostPort),
    );
    const seen = connections.map((c) => `${norm(c.host)}:${c.port}`);
    expect(seen.length, JSON.stringify(seen)).toBeGreaterThan(0);
    for (const s of seen) expect(allowed, `unexpected outbound connection to ${s}`).toContain(s);
    // The recorder saw real traffic to each provider and to the callback.
    for (const must of [hostPort(slack.apiUrl), hostPort(telegram.url), `127.0.0.1:${smtp.port}`]) {
      expect(seen, `no connection to ${must}`).toContain(must);
    }
    expect(seen).toContain(`127.0.0.3:${receiverPort}`);

    // Nothing written on any socket carries the payload; only the agent's own callback the target.
    const callbackPeer = `127.0.0.3:${receiverPort}`;
    const databasePeer = process.env.DATABASE_URL ? normHostPort(hostPort(process.env.DATABASE_URL)) : '';
    for (const c of connections) {
      expect(c.written.includes(MARKER), `payload sent to ${c.host}:${c.port}`).toBe(false);
      // The database stores the (redacted) target by design; the payload reaches it only encrypted.
      if (`${norm(c.host)}:${c.port}` !== callbackPeer && `${norm(c.host)}:${c.port}` !== databasePeer)
        expect(c.written.includes(TARGET), `target sent to ${c.host}:${c.port}`).toBe(false);
    }
    // And on the receiving side: every provider request and mail, and the callback.
    for (const raw of [...slack.calls.map((c) => c.raw), ...telegram.calls.map((c) => c.raw)]) {
      expect(raw).not.toContain(MARKER);
      expect(raw).not.toContain(TARGET);
    }
    for (const mail of smtp.received) {
      expect(mail.raw).not.toContain(MARKER);
      expect(mail.raw).not.toContain(TARGET);
    }
    for (const body of callbacks) expect(body).not.toContain(MARKER);
    // The redacted gist did leave: the recorder is not blind to channel bodies.
    expect(connections.some((c) => c.written.includes('clean the disk'))).toBe(true);
  }, 90_000);
});
