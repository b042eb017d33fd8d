/**
 * The API the dashboard needs beyond the agent contract: the org-wide live stream
 * (GET /v1/handoffs/stream), the detail (payload, context, device, explained reasons, approvals,
 * escalation attempts), the device names, and the link that channels send (the dashboard page).
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

let t: TestServer;
let admin: Actor;
let viewer: Actor;
let other: Actor;
let device: { token: string; id: string };
let base: string;

async function newDevice(actor: Actor, name: string) {
  const r = (await as(t, actor, 'POST', '/v1/admin/devices', { name })).json<{
    token: string;
    device: { id: string };
  }>();
  return { token: r.token, id: r.device.id };
}

const create = (body: Record<string, unknown>, token = device.token) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${token}` },
    payload: body,
  });

const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>';

beforeAll(async () => {
  t = await startTestServer();
  admin = await createOrgWithAdmin(t, 'dash');
  viewer = await addMember(t, admin, 'viewer@dash.test', 'viewer');
  other = await createOrgWithAdmin(t, 'dash-other');
  device = await newDevice(admin, 'ci-runner');
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  // undici keeps the aborted streams' sockets; the server would wait for them.
  t?.app.server.closeAllConnections();
  await t?.close();
});

/** Reads an SSE stream until `until` says stop; answers the events. */
async function readEvents(
  res: Response,
  until: (events: { event: string; data: unknown }[]) => boolean,
  ms = 10_000,
): Promise<{ event: string; data: unknown }[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: unknown }[] = [];
  let buf = '';
  const timer = setTimeout(() => void reader.cancel(), ms);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) !== -1) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined) events.push({ event, data: data !== undefined ? JSON.parse(data) : null });
      }
      if (until(events)) break;
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
  return events;
}

describe('GET /v1/handoffs/stream', () => {
  it('a viewer sees the org’s handoffs appear and leave pending, live; another org sees none of it', async () => {
    const ac = new AbortController();
    onTestFinished(() => ac.abort());
    const mine = await fetch(`${base}/v1/handoffs/stream`, {
      headers: { cookie: viewer.cookie },
      signal: ac.signal,
    });
    const theirs = await fetch(`${base}/v1/handoffs/stream`, {
      headers: { cookie: other.cookie },
      signal: ac.signal,
    });
    expect(mine.status).toBe(200);
    expect(mine.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const seen = readEvents(mine, (ev) => ev.filter((e) => e.event === 'handoff').length >= 2);
    const foreign = readEvents(theirs, () => false, 4_000);
    // Subscribed once the `ready` event is out; give the first write a moment.
    await new Promise((r) => setTimeout(r, 300));
    const created = await create({
      action: { type: 'deploy', target: 'production' },
      title: 'Deploy api',
      summary: 's',
    });
    expect(created.statusCode).toBe(201);
    const id = created.json<{ id: string }>().id;
    const denied = await as(t, admin, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'deny' });
    expect(denied.statusCode).toBe(200);
    const events = (await seen)
      .filter((e) => e.event === 'handoff')
      .map((e) => e.data as { handoff: { id: string; status: string }; device: unknown });
    expect(events.map((e) => e.handoff.status)).toEqual(['pending', 'denied']);
    expect(events.every((e) => e.handoff.id === id)).toBe(true);
    expect(events[0]!.device).toEqual({ id: device.id, name: 'ci-runner' });
    expect((await foreign).filter((e) => e.event === 'handoff')).toEqual([]);
  });

  it('needs a session (a device token is refused)', async () => {
    const anonymous = await fetch(`${base}/v1/handoffs/stream`);
    expect(anonymous.status).toBe(401);
    await anonymous.text();
    const res = await fetch(`${base}/v1/handoffs/stream`, {
      headers: { authorization: `Bearer ${device.token}` },
    });
    expect(res.status).toBe(401);
    await res.text();
  });
});

describe('GET /v1/handoffs/:id/detail', () => {
  it('answers the payload as stored text, context, device, explained reasons, approvals and attempts', async () => {
    const diff = `diff --git a/.env b/.env\n--- a/.env\n+++ b/.env\n-old\n+${HOSTILE}\n`;
    const created = await create({
      action: { type: 'file.write', target: '.env' },
      title: `Clean up ${HOSTILE}`,
      summary: 'hostile text stays text',
      payload: { kind: 'diff', content: diff },
      context: { repo: 'acme/api', branch: 'main' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    const res = await as(t, viewer, 'GET', `/v1/handoffs/${id}/detail`);
    expect(res.statusCode).toBe(200);
    const d = res.json<{
      handoff: { id: string; title: string };
      payload: { kind: string; content: string };
      context: Record<string, string>;
      device: { id: string; name: string };
      reasons: { code: string; level: string | null; explanation: string | null }[];
      approvals: unknown[];
      attempts: { step: number; channel: string; outcome: string }[];
    }>();
    expect(d.handoff.id).toBe(id);
    expect(d.payload).toEqual({ kind: 'diff', content: diff });
    expect(d.context).toEqual({ repo: 'acme/api', branch: 'main' });
    expect(d.device).toEqual({ id: device.id, name: 'ci-runner' });
    const view = created.json<{ risk: { reasons: string[] } }>();
    expect(d.reasons.map((r) => r.code)).toEqual(view.risk.reasons);
    expect(d.reasons.length).toBeGreaterThan(0);
    for (const r of d.reasons) expect(r.explanation, r.code).toMatch(/\w{4}/);
    expect(d.approvals).toEqual([]);
    expect(Array.isArray(d.attempts)).toBe(true);
    // The JSON answer carries the text as data; rendering it inert is the dashboard's job (test/e2e).
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  });

  it('is 404 for another org’s handoff and for a device token', async () => {
    const id = (await create({ action: { type: 'deploy' }, title: 't', summary: 's' })).json<{ id: string }>()
      .id;
    expect((await as(t, other, 'GET', `/v1/handoffs/${id}/detail`)).statusCode).toBe(404);
    const asDevice = await t.app.inject({
      url: `/v1/handoffs/${id}/detail`,
      headers: { authorization: `Bearer ${device.token}` },
    });
    expect(asDevice.statusCode).toBe(401);
  });
});

describe('GET /v1/dashboard/handoffs', () => {
  it('answers rows of view + device with the list filters, for the org only', async () => {
    const id = (
      await create({ action: { type: 'deploy', target: 'production' }, title: 'row', summary: 's' })
    ).json<{ id: string }>().id;
    const res = await as(t, viewer, 'GET', `/v1/dashboard/handoffs?status=pending&device_id=${device.id}`);
    expect(res.statusCode).toBe(200);
    const rows = res.json<{ handoff: { id: string; status: string }; device: { name: string } }[]>();
    expect(rows.map((r) => r.handoff.id)).toContain(id);
    expect(rows.every((r) => r.handoff.status === 'pending' && r.device.name === 'ci-runner')).toBe(true);
    expect((await as(t, other, 'GET', '/v1/dashboard/handoffs')).json()).toEqual([]);
    expect((await as(t, viewer, 'GET', '/v1/dashboard/handoffs?status=nope')).statusCode).toBe(400);
  });
});

describe('GET /v1/devices', () => {
  it('gives members names only, of their own org', async () => {
    const res = await as(t, viewer, 'GET', '/v1/devices');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([{ id: device.id, name: 'ci-runner', revoked: false }]);
    expect((await as(t, other, 'GET', '/v1/devices')).json()).toEqual([]);
  });
});
