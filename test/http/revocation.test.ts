/**
 * Issue #18 item 3.1: revoking a device, deactivating or deleting a member and signing out
 * everywhere else close that principal's open long-polls and Server-Sent Events streams, on every
 * replica; and a decision made afterwards never reaches the revoked principal, even when the
 * revocation message is lost.
 */
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppInstance } from '../../src/http/app-types.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  login,
  startReplica,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

let t: TestServer;
let admin: Actor;
let base: string;
const SAFETY_MS = 8_000;

beforeAll(async () => {
  t = await startTestServer();
  admin = await createOrgWithAdmin(t, 'rev');
  base = await listen(t.app);
});
afterAll(async () => {
  t?.app.server.closeAllConnections();
  await t?.close();
});

async function listen(app: AppInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function newDevice(name: string) {
  const r = (await as(t, admin, 'POST', '/v1/admin/devices', { name })).json<{
    token: string;
    device: { id: string };
  }>();
  return { token: r.token, id: r.device.id };
}

/** A pending handoff, created by an agent device of the org. */
async function pendingHandoff(token: string): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${token}` },
    payload: { action: { type: 'deploy', target: 'staging' }, title: 'deploy', summary: 's' },
  });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string }>().id;
}

const decide = async (id: string) =>
  expect(
    (await as(t, admin, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'approve' })).statusCode,
  ).toBe(200);

interface Sse {
  /** Resolves with the first event (the stream is set up and tracked by then). */
  readonly first: Promise<{ event: string; data: unknown }>;
  /** Resolves with every event once the server ended the stream. */
  readonly ended: Promise<{ event: string; data: unknown }[]>;
}

/** Opens an SSE stream and reads it to its end (a safety-net timeout aborts it). */
function openSse(url: string, headers: Record<string, string>): Sse {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), SAFETY_MS);
  let gotFirst!: (e: { event: string; data: unknown }) => void;
  let noFirst!: (err: unknown) => void;
  const first = new Promise<{ event: string; data: unknown }>((resolve, reject) => {
    gotFirst = resolve;
    noFirst = reject;
  });
  const ended = (async () => {
    const events: { event: string; data: unknown }[] = [];
    try {
      const res = await fetch(url, { headers, signal: ac.signal });
      expect(res.status).toBe(200);
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body!) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === undefined) continue;
          const e = { event, data: data !== undefined ? (JSON.parse(data) as unknown) : null };
          events.push(e);
          if (events.length === 1) gotFirst(e);
        }
      }
      return events;
    } catch (err) {
      noFirst(err);
      // Aborted by the safety net: the server never ended the stream.
      throw new Error(`the stream did not end; events so far: ${events.map((e) => e.event).join(',')}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
      noFirst(new Error('the stream ended before its first event'));
    }
  })();
  ended.catch(() => undefined);
  first.catch(() => undefined);
  return { first, ended };
}

/** Waits (event loop turns, not a fixed time) until `cond` holds; fails after the safety net. */
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + SAFETY_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A long-poll (wait=20); resolves when the server answers it. */
function longPoll(app: AppInstance, id: string, headers: Record<string, string>) {
  return app.inject({ url: `/v1/handoffs/${id}?wait=20`, headers });
}

function expectRevoked401(res: LightMyRequestResponse, reason: string) {
  expect(res.statusCode).toBe(401);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({ code: 'unauthenticated', reason });
}

const handoffEvents = (events: { event: string; data: unknown }[]) =>
  events.filter((e) => e.event === 'handoff').map((e) => e.data);
const decidedIn = (events: { event: string; data: unknown }[]) =>
  handoffEvents(events).some((d) => JSON.stringify(d).includes('"approved"'));

describe('a revoked device', () => {
  it('loses its open long-poll (401) and SSE stream (a `revoked` event, then the end); a later decision is not delivered', async () => {
    const device = await newDevice('to-revoke');
    const id = await pendingHandoff(device.token);
    const auth = { authorization: `Bearer ${device.token}` };
    const stream = openSse(`${base}/v1/handoffs/${id}/events`, auth);
    expect((await stream.first).event).toBe('handoff');
    const before = t.container.revocation.openCount();
    const poll = longPoll(t.app, id, auth);
    await until(() => t.container.revocation.openCount() > before);

    const revoked = await as(t, admin, 'DELETE', `/v1/admin/devices/${device.id}`);
    expect(revoked.statusCode).toBe(200);
    expectRevoked401(await poll, 'device_revoked');
    const events = await stream.ended;
    expect(events.at(-1)).toEqual({ event: 'revoked', data: { reason: 'device_revoked' } });

    await decide(id);
    expect(decidedIn(events)).toBe(false);
    expect(t.container.revocation.openCount()).toBe(before - 1);
  });

  it('gets no decision even when the revocation message is lost: the principal is re-checked first', async () => {
    const device = await newDevice('lost-message');
    const id = await pendingHandoff(device.token);
    const auth = { authorization: `Bearer ${device.token}` };
    const stream = openSse(`${base}/v1/handoffs/${id}/events`, auth);
    await stream.first;
    const before = t.container.revocation.openCount();
    const poll = longPoll(t.app, id, auth);
    await until(() => t.container.revocation.openCount() > before);
    // Revoked behind the server's back: no announcement reaches the open connections.
    await sql`update devices set revoked_at = now() where id = ${device.id}`.execute(t.database.db);

    await decide(id);
    expectRevoked401(await poll, 'device_revoked');
    const events = await stream.ended;
    expect(events.at(-1)).toEqual({ event: 'revoked', data: { reason: 'device_revoked' } });
    expect(decidedIn(events)).toBe(false);
  });
});

describe('a member whose sessions end', () => {
  /** A member's three open connections: a long-poll, the handoff's stream and the org stream. */
  async function openAll(member: Actor, id: string) {
    const cookie = { cookie: member.cookie };
    const handoff = openSse(`${base}/v1/handoffs/${id}/events`, cookie);
    const org = openSse(`${base}/v1/handoffs/stream`, cookie);
    expect((await handoff.first).event).toBe('handoff');
    expect((await org.first).event).toBe('ready');
    const before = t.container.revocation.openCount();
    const poll = longPoll(t.app, id, cookie);
    await until(() => t.container.revocation.openCount() > before);
    return { handoff, org, poll };
  }

  async function expectAllClosed(open: Awaited<ReturnType<typeof openAll>>, id: string) {
    expectRevoked401(await open.poll, 'session_ended');
    const [handoff, org] = await Promise.all([open.handoff.ended, open.org.ended]);
    for (const events of [handoff, org])
      expect(events.at(-1)).toEqual({ event: 'revoked', data: { reason: 'session_ended' } });
    await decide(id);
    expect(decidedIn(handoff) || decidedIn(org)).toBe(false);
  }

  it('deactivated: every open connection ends', async () => {
    const device = await newDevice('agent-deactivate');
    const member = await addMember(t, admin, 'deact@rev.test', 'member');
    const id = await pendingHandoff(device.token);
    const open = await openAll(member, id);
    const res = await as(t, admin, 'POST', `/v1/admin/members/${member.memberId}/deactivate`);
    expect(res.statusCode).toBe(200);
    await expectAllClosed(open, id);
  });

  it('deleted: every open connection ends', async () => {
    const device = await newDevice('agent-delete');
    const member = await addMember(t, admin, 'delete@rev.test', 'viewer');
    const id = await pendingHandoff(device.token);
    const open = await openAll(member, id);
    expect((await as(t, admin, 'DELETE', `/v1/admin/members/${member.memberId}`)).statusCode).toBe(204);
    await expectAllClosed(open, id);
  });

  it('"sign out everywhere else": the other sessions’ connections end, this session’s stay and get the decision', async () => {
    const device = await newDevice('agent-signout');
    await addMember(t, admin, 'both@rev.test', 'member');
    const laptop = await login(t, 'both@rev.test');
    const phone = await login(t, 'both@rev.test');
    const id = await pendingHandoff(device.token);
    const kept = openSse(`${base}/v1/handoffs/${id}/events`, { cookie: laptop.cookie });
    await kept.first;
    const open = await openAll(phone, id);
    const res = await as(t, laptop, 'POST', '/v1/me/sessions/revoke-others');
    expect(res.statusCode).toBe(200);
    await expectAllClosed(open, id);
    const events = await kept.ended; // ends because the handoff is final
    expect(decidedIn(events)).toBe(true);
    expect(events.some((e) => e.event === 'revoked')).toBe(false);
  });

  it('signing out (one session) ends that session’s connections', async () => {
    const device = await newDevice('agent-logout');
    const member = await addMember(t, admin, 'logout@rev.test', 'member');
    const id = await pendingHandoff(device.token);
    const open = await openAll(member, id);
    expect((await as(t, member, 'POST', '/v1/auth/logout')).statusCode).toBe(204);
    await expectAllClosed(open, id);
  });
});

describe('two replicas sharing one store', () => {
  it('a revocation on replica A closes the long-poll and the stream open on replica B', async () => {
    const b = await startReplica(t);
    const baseB = await listen(b.app);
    try {
      const device = await newDevice('agent-on-b');
      const member = await addMember(t, admin, 'replica@rev.test', 'member');
      const id = await pendingHandoff(device.token);
      const auth = { authorization: `Bearer ${device.token}` };
      const deviceStream = openSse(`${baseB}/v1/handoffs/${id}/events`, auth);
      const memberStream = openSse(`${baseB}/v1/handoffs/stream`, { cookie: member.cookie });
      await Promise.all([deviceStream.first, memberStream.first]);
      const poll = longPoll(b.app, id, auth);
      await until(() => b.container.revocation.openCount() === 3);
      expect(t.container.revocation.openCount()).toBe(0);

      // Both revocations are made on replica A (t); B closes within a second of each.
      expect((await as(t, admin, 'DELETE', `/v1/admin/devices/${device.id}`)).statusCode).toBe(200);
      const deviceRevokedAt = performance.now();
      expectRevoked401(await poll, 'device_revoked');
      const d = await deviceStream.ended;
      const deviceClosedMs = performance.now() - deviceRevokedAt;
      expect((await as(t, admin, 'POST', `/v1/admin/members/${member.memberId}/deactivate`)).statusCode).toBe(
        200,
      );
      const memberRevokedAt = performance.now();
      const m = await memberStream.ended;
      const memberClosedMs = performance.now() - memberRevokedAt;
      console.log(
        `replica B closed: device ${deviceClosedMs.toFixed(1)} ms, member ${memberClosedMs.toFixed(1)} ms after the revocation answered on A`,
      );
      expect(Math.max(deviceClosedMs, memberClosedMs)).toBeLessThan(1000);
      expect(d.at(-1)).toEqual({ event: 'revoked', data: { reason: 'device_revoked' } });
      expect(m.at(-1)).toEqual({ event: 'revoked', data: { reason: 'session_ended' } });
      expect(b.container.revocation.openCount()).toBe(0);
      await decide(id);
      expect(decidedIn(d) || decidedIn(m)).toBe(false);
    } finally {
      b.app.server.closeAllConnections();
      await b.close();
    }
  });
});
