/**
 * Decisions that say more (issue #22 §1), through the real server and database: a deny's reason
 * reaching the agent (view, long-poll, SSE, callback) and the audit chain (the code only); Extend
 * within the policy's maximum, seen by the waiting agent, audited, and not undone by the expiry job
 * queued at creation; the typed short code a critical approval on the web needs.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
let device: { token: string };

interface View {
  id: string;
  short_code: string;
  status: string;
  expires_at: string;
  created_at: string;
  risk: { level: string };
  decision: { outcome: string; reason: string | null; comment: string | null } | null;
}

const create = async (body: Record<string, unknown>) => {
  const r = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${device.token}` },
    payload: body,
  });
  expect(r.statusCode, r.body).toBe(201);
  return r.json<View>();
};
const medium = (title: string, extra: Record<string, unknown> = {}) =>
  create({ action: { type: 'deploy', target: 'staging' }, title, ...extra });
const critical = async (title: string) => {
  const h = await create({
    action: { type: 'db.query' },
    title,
    payload: { kind: 'sql', content: 'DROP DATABASE prod;' },
  });
  expect(h.risk.level).toBe('critical');
  return h;
};
const agentView = async (id: string, wait = 0) => {
  const r = await t.app.inject({
    url: `/v1/handoffs/${id}${wait > 0 ? `?wait=${wait}` : ''}`,
    headers: { authorization: `Bearer ${device.token}` },
  });
  expect(r.statusCode, r.body).toBe(200);
  return r.json<View>();
};
const decide = (who: Actor, id: string, body: Record<string, unknown>) =>
  as(t, who, 'POST', `/v1/handoffs/${id}/decision`, body);
const extend = (who: Actor, id: string, body: unknown) =>
  as(t, who, 'POST', `/v1/handoffs/${id}/extend`, body);
const audit = async (id: string, action: string) =>
  (await as(t, admin, 'GET', `/v1/admin/audit?subject_id=${id}&action=${action}`)).json<{
    entries: { actor_id: string | null; meta: Record<string, unknown> }[];
  }>().entries;

beforeAll(async () => {
  t = await startTestServer({ ONY_CALLBACK_ALLOW_HOSTS: '127.0.0.3', ONY_CALLBACK_ALLOW_HTTP: 'true' });
  admin = await createOrgWithAdmin(t, 'decide');
  // Critical approvable with a password session (the typed code is what is tested here), and a
  // medium handoff lives at most an hour in all.
  const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
    escalation_policy: {
      levels: { critical: { min_assurance: 'A1' }, medium: { max_lifetime_s: 3600 } },
    },
  });
  expect(put.statusCode, put.body).toBe(200);
  device = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>();
});
afterAll(async () => t?.close());

describe('rejection reasons', () => {
  it('a deny with a reason reaches the waiting agent, the callback and the chain (the code, not the text)', async () => {
    const received: { headers: IncomingMessage['headers']; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.3', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const h = await medium('ship it', { callback_url: `http://127.0.0.3:${port}/hook` });
      const waiting = agentView(h.id, 30);
      const res = await decide(admin, h.id, {
        decision: 'deny',
        reason: 'wrong_target',
        comment: 'that is prod, use staging-2',
      });
      expect(res.statusCode, res.body).toBe(200);
      const seen = await waiting;
      expect(seen.status).toBe('denied');
      expect(seen.decision).toMatchObject({
        outcome: 'denied',
        reason: 'wrong_target',
        comment: 'that is prod, use staging-2',
      });
      const [decided] = await audit(h.id, 'handoff.decided');
      expect(decided!.meta).toMatchObject({ outcome: 'denied', reason: 'wrong_target' });
      expect(JSON.stringify(decided)).not.toContain('staging-2');
      await expect.poll(() => received.length, { timeout: 10_000 }).toBeGreaterThan(0);
      const body = JSON.parse(received[0]!.body) as { data: View };
      expect(body.data.decision).toMatchObject({ reason: 'wrong_target' });
    } finally {
      server.close();
    }
  });

  it('an approval, or a deny without one, has no reason', async () => {
    const h = await medium('fine');
    expect((await decide(admin, h.id, { decision: 'approve' })).json<View>().decision?.reason).toBeNull();
    const d = await medium('no');
    expect((await decide(admin, d.id, { decision: 'deny' })).json<View>().decision?.reason).toBeNull();
  });

  it('refuses an unknown code, a reason on an approval and a comment over 1000 characters, changing nothing', async () => {
    const h = await medium('bad input');
    const unknown = await decide(admin, h.id, { decision: 'deny', reason: 'because' });
    expect(unknown.statusCode).toBe(400);
    const onApprove = await decide(admin, h.id, { decision: 'approve', reason: 'too_risky' });
    expect(onApprove.statusCode).toBe(400);
    expect(onApprove.json<{ detail: string }>().detail).toMatch(/deny/);
    const long = await decide(admin, h.id, { decision: 'deny', reason: 'other', comment: 'x'.repeat(1001) });
    expect(long.statusCode).toBe(400);
    expect((await agentView(h.id)).status).toBe('pending');
    expect(await audit(h.id, 'handoff.decided')).toEqual([]);
  });
});

describe('extend', () => {
  it('moves the expiry, is audited, and the waiting agent keeps waiting past the old expiry', async () => {
    const h = await medium('give me time', { timeout_s: 60 });
    const oldExpiry = new Date(h.expires_at);
    const waiting = agentView(h.id, 30);
    const res = await extend(admin, h.id, { by_s: 900 });
    expect(res.statusCode, res.body).toBe(200);
    const extended = res.json<View>();
    expect(new Date(extended.expires_at).getTime()).toBe(oldExpiry.getTime() + 900_000);
    const [entry] = await audit(h.id, 'handoff.extended');
    expect(entry).toMatchObject({
      actor_id: admin.memberId,
      meta: { expires_at_before: oldExpiry.toISOString(), expires_at: extended.expires_at, added_s: 900 },
    });
    // Past the old expiry: the job queued at creation fires and finds the stored, later expiry.
    t.clock.advance(120_000);
    await t.container.handoffs.expireJob(admin.orgId, h.id);
    expect((await agentView(h.id)).status).toBe('pending');
    // The long-poll was woken by the Extend and went on waiting: it answers the decision.
    await decide(admin, h.id, { decision: 'deny', reason: 'not_now' });
    const seen = await waiting;
    expect(seen).toMatchObject({ status: 'denied', expires_at: extended.expires_at });
    t.clock.sync();
  });

  it('sends the new expiry on the SSE stream', async () => {
    const h = await medium('stream my time');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = t.app.server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/v1/handoffs/${h.id}/events`, {
        headers: { authorization: `Bearer ${device.token}` },
      });
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      const nextEvent = async (): Promise<View> => {
        for (;;) {
          const end = buffer.indexOf('\n\n');
          if (end >= 0) {
            const raw = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (raw.startsWith('event: handoff')) return JSON.parse(raw.split('data: ')[1]!) as View;
            continue;
          }
          const { value, done } = await reader.read();
          if (done) throw new Error('stream ended');
          buffer += value;
        }
      };
      expect((await nextEvent()).expires_at).toBe(h.expires_at);
      const extended = (await extend(admin, h.id, { by_s: 600 })).json<View>();
      const next = await nextEvent();
      expect(next).toMatchObject({ status: 'pending', expires_at: extended.expires_at });
      await decide(admin, h.id, { decision: 'deny' });
      expect((await nextEvent()).status).toBe('denied');
      await reader.cancel();
    } finally {
      // Leaves the injected app usable for the next tests.
      t.app.server.close();
    }
  });

  it('refuses beyond the maximum (422 with it), a decided handoff (409), a viewer (403), a foreign id (404) and bad amounts (400)', async () => {
    const h = await medium('too long');
    const beyond = await extend(admin, h.id, { by_s: 3600 });
    expect(beyond.statusCode).toBe(422);
    expect(beyond.json()).toMatchObject({ max_lifetime_s: 3600, max_extend_s: 2700 });
    const viewer = await addMember(t, admin, 'viewer@decide.test', 'viewer');
    expect((await extend(viewer, h.id, { by_s: 600 })).statusCode).toBe(403);
    expect((await extend(admin, h.id, { by_s: 10 })).statusCode).toBe(400);
    expect((await extend(admin, h.id, { by_s: 600, extra: 1 })).statusCode).toBe(400);
    expect((await extend(admin, h.id, {})).statusCode).toBe(400);
    expect((await agentView(h.id)).expires_at).toBe(h.expires_at);
    expect(await audit(h.id, 'handoff.extended')).toEqual([]);
    await decide(admin, h.id, { decision: 'deny' });
    expect((await extend(admin, h.id, { by_s: 600 })).statusCode).toBe(409);
    const other = await createOrgWithAdmin(t, 'decide-other');
    expect((await extend(other, h.id, { by_s: 600 })).statusCode).toBe(404);
  });

  it('refuses an expired handoff with 409', async () => {
    const h = await medium('late', { timeout_s: 30 });
    t.clock.advance(31_000);
    const late = await extend(admin, h.id, { by_s: 600 });
    expect(late.statusCode, late.body).toBe(409);
    t.clock.sync();
  });

  it('validates max_lifetime_s in the policy', async () => {
    const bad = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { high: { max_lifetime_s: 10 } } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/max_lifetime_s/);
  });
});

describe('critical typed confirmation', () => {
  it('a web approval of a critical handoff needs its short code typed: missing or wrong is 422 and changes nothing', async () => {
    const h = await critical('drop prod');
    const missing = await decide(admin, h.id, { decision: 'approve' });
    expect(missing.statusCode).toBe(422);
    expect(missing.json()).toMatchObject({ field: 'confirm_short_code', confirmation: 'missing' });
    const wrong = await decide(admin, h.id, {
      decision: 'approve',
      confirm_short_code: h.short_code === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA',
    });
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json<{ detail: string }>().detail).toContain(h.short_code);
    expect((await agentView(h.id)).status).toBe('pending');
    expect(await audit(h.id, 'handoff.decided')).toEqual([]);
    const ok = await decide(admin, h.id, {
      decision: 'approve',
      confirm_short_code: h.short_code.toLowerCase(),
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json<View>().status).toBe('approved');
  });

  it('a deny of a critical handoff needs no typed code', async () => {
    const h = await critical('drop prod again');
    const res = await decide(admin, h.id, { decision: 'deny', reason: 'too_risky' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<View>().decision?.reason).toBe('too_risky');
  });
});
