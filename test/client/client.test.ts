/**
 * The public client (`ony/client`) against the real server on a real port: cancel, long-poll with
 * reconnect across failures, and verification of the signed decision callback the server sends.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClient,
  OnyApiError,
  verifyCallback,
  WebhookVerificationError,
  type FetchLike,
  type OnyClient,
} from '@ony/client';
import { newWebhookSecret, signWebhook } from '../../src/lib/webhook-signature.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

let t: TestServer;
let base: string;
let admin: Actor;
let approver: Actor;
let device: { token: string; secret: string };
let ony: OnyClient;

beforeAll(async () => {
  // The callback receiver listens on 127.0.0.3 (allow-listed, plain http allowed for the test).
  t = await startTestServer({ ONY_CALLBACK_ALLOW_HOSTS: '127.0.0.3', ONY_CALLBACK_ALLOW_HTTP: 'true' });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  admin = await createOrgWithAdmin(t, 'client');
  approver = await addMember(t, admin, 'cleo@client.test', 'member');
  const r = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'sdk' })).json<{
    token: string;
    webhook_secret: string;
  }>();
  device = { token: r.token, secret: r.webhook_secret };
  ony = createClient({ baseUrl: base, token: device.token });
});
afterAll(async () => t?.close());

const deploy = (title: string) => ({ action: { type: 'deploy' as const, target: 'staging' }, title });

describe('cancel', () => {
  it('withdraws a pending handoff; a decided one keeps its decision', async () => {
    const h = await ony.createHandoff(deploy('cancel me'));
    expect(h.status).toBe('pending');
    const cancelled = await ony.cancelHandoff(h.id);
    expect(cancelled).toMatchObject({ id: h.id, status: 'cancelled', decision: null });
    expect((await ony.getHandoff(h.id)).status).toBe('cancelled');
    // Cancelling again is a no-op that answers the same view.
    expect((await ony.cancelHandoff(h.id)).status).toBe('cancelled');
    // A member can no longer decide it.
    const late = await as(t, approver, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'approve' });
    expect(late.statusCode).toBeGreaterThanOrEqual(400);

    const low = await ony.createHandoff({ action: { type: 'other' }, title: 'routine' });
    expect(low.status).toBe('approved');
    const after = await ony.cancelHandoff(low.id).catch((err: unknown) => err);
    expect(after).toBeInstanceOf(OnyApiError);
    expect(after).toMatchObject({ status: 409, code: 'conflict' });
    expect((await ony.getHandoff(low.id)).status).toBe('approved');
  });

  it('a cancel of an unknown id is a 404 OnyApiError', async () => {
    const err = await ony.cancelHandoff('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnyApiError);
    expect(err).toMatchObject({ status: 404, code: 'not_found' });
  });
});

describe('waitForDecision (long-poll with reconnect)', () => {
  it('reconnects after a dropped connection and a 503, then returns the decision', async () => {
    let polls = 0;
    const failures: string[] = [];
    // The first long-poll loses its connection, the second meets a proxy's 503; the rest pass through.
    const flaky: FetchLike = async (input, init) => {
      if (init.method === 'GET' && input.includes('wait=')) {
        polls++;
        if (polls === 1) {
          failures.push('network');
          throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
        }
        if (polls === 2) {
          failures.push('503');
          return new Response('upstream unavailable', { status: 503, statusText: 'Service Unavailable' });
        }
      }
      return fetch(input, init);
    };
    const client = createClient({ baseUrl: base, token: device.token, fetch: flaky });
    const h = await client.createHandoff(deploy('flaky network'));
    const waiting = client.waitForDecision(h.id, { timeoutMs: 20_000 });
    // Decide only once the client is back on a working long-poll.
    for (let i = 0; i < 200 && polls < 3; i++) await new Promise((r) => setTimeout(r, 25));
    expect(failures).toEqual(['network', '503']);
    const res = await as(t, approver, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'approve' });
    expect(res.statusCode).toBe(200);
    expect(await waiting).toMatchObject({ id: h.id, status: 'approved', decision: { outcome: 'approved' } });
  });

  it('gives up on a server error (500, not an outage) after maxConsecutiveErrors and throws it', async () => {
    const down: FetchLike = async (input, init) =>
      init.method === 'GET'
        ? new Response('', { status: 500, statusText: 'Internal Server Error' })
        : fetch(input, init);
    const client = createClient({ baseUrl: base, token: device.token, fetch: down });
    const h = await client.createHandoff(deploy('server gone'));
    const err = await client
      .waitForDecision(h.id, { timeoutMs: 20_000, maxConsecutiveErrors: 2 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnyApiError);
    expect(err).toMatchObject({ status: 500 });
  });

  it('a 401 is not retried', async () => {
    const client = createClient({ baseUrl: base, token: 'ony_dev_revoked' });
    const started = Date.now();
    const err = await client
      .waitForDecision('00000000-0000-4000-8000-000000000000', { timeoutMs: 20_000 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 401 });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('verifyCallback (signed decision callbacks)', () => {
  async function receiveOne(run: (url: string) => Promise<void>) {
    const received: { headers: IncomingMessage['headers']; body: Buffer }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.3', r));
    try {
      await run(`http://127.0.0.3:${(server.address() as AddressInfo).port}/hook`);
      for (let i = 0; i < 200 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(received).toHaveLength(1);
      return received[0]!;
    } finally {
      server.close();
    }
  }

  it('accepts the callback the server signed and answers the decided handoff', async () => {
    let id = '';
    const { headers, body } = await receiveOne(async (url) => {
      id = (await ony.createHandoff({ ...deploy('call me back'), callback_url: url })).id;
      await as(t, approver, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'approve', comment: 'go' });
    });
    // Node's req.headers, a fetch Headers and raw bytes all work.
    const event = verifyCallback(device.secret, headers, body);
    expect(event).toMatchObject({
      type: 'handoff.decided',
      id: `msg_${id}`,
      data: { id, status: 'approved', decision: { decided_by: { name: 'cleo' }, comment: 'go' } },
    });
    const asFetchHeaders = new Headers(headers as Record<string, string>);
    expect(verifyCallback(device.secret, asFetchHeaders, body.toString('utf8')).data.id).toBe(id);

    // Tampered body, another secret, a replay 10 minutes later: all refused.
    const tampered = body.toString('utf8').replace('"approved"', '"denied"');
    expect(() => verifyCallback(device.secret, headers, tampered)).toThrow(WebhookVerificationError);
    const otherSecret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    expect(() => verifyCallback(otherSecret, headers, body)).toThrow(/no matching webhook signature/);
    const later = new Date(Date.now() + 10 * 60_000);
    expect(() => verifyCallback(device.secret, headers, body, { now: later })).toThrow(/too old/);
    expect(() => verifyCallback(device.secret, {}, body)).toThrow(/missing webhook headers/);
  });

  it('refuses a validly signed body that is not a handoff callback', () => {
    const secret = newWebhookSecret();
    for (const [body, message] of [
      ['{"type":"something.else","data":{}}', /not a handoff\.decided event/],
      ['{"type":"handoff.decided","data":{"id":"x"}}', /not a handoff\.decided event/],
      ['not json', /not JSON/],
    ] as const) {
      const headers = signWebhook(secret, 'msg_1', new Date(), body);
      expect(() => verifyCallback(secret, headers, body)).toThrow(message);
    }
  });
});
