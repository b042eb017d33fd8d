/**
 * The queue's API (issue #22 §1): batch decisions (POST /v1/handoffs/batch-decision), the list's
 * search and filters, and the member's timezone (PATCH /v1/me). Bad input changes nothing.
 */
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
let viewer: Actor;
let other: Actor;
let devA: string;
let devB: string;

interface View {
  id: string;
  status: string;
  risk: { level: string };
  short_code: string;
}

beforeAll(async () => {
  t = await startTestServer();
  admin = await createOrgWithAdmin(t, 'queue-api');
  viewer = await addMember(t, admin, 'viewer@queue-api.test', 'viewer');
  other = await createOrgWithAdmin(t, 'queue-api-other');
  const device = async (name: string) =>
    (await as(t, admin, 'POST', '/v1/admin/devices', { name })).json<{ token: string }>().token;
  devA = await device('runner-a');
  devB = await device('runner-b');
});
afterAll(async () => {
  await t?.close();
});

async function create(body: Record<string, unknown>, token = devA): Promise<View> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${token}` },
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<View>();
}
const medium = (target = 'ls', token = devA) =>
  create({ action: { type: 'shell.exec', target }, title: `List ${target}` }, token);
const critical = () =>
  create({
    action: { type: 'db.query' },
    title: 'drop it',
    payload: { kind: 'sql', content: 'DROP DATABASE prod;' },
  });
const statusOf = async (id: string) => (await as(t, admin, 'GET', `/v1/handoffs/${id}`)).json<View>().status;
const decidedEntries = async (id: string) =>
  (await as(t, admin, 'GET', `/v1/admin/audit?subject_id=${id}&action=handoff.decided`)).json<{
    entries: { actor_id?: string; meta: Record<string, unknown> }[];
  }>().entries;

describe('batch decisions', () => {
  it('decides equivalent items, each through the decide path with its own audit entry', async () => {
    const items = [await medium(), await medium(), await medium()];
    expect(items.map((h) => [h.status, h.risk.level])).toEqual(Array(3).fill(['pending', 'medium']));
    const res = await as(t, admin, 'POST', '/v1/handoffs/batch-decision', {
      ids: items.map((h) => h.id),
      decision: 'approve',
      comment: 'same listing, three times',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<{ results: unknown[] }>().results).toEqual(
      items.map((h) => ({ id: h.id, outcome: 'decided', status: 'approved', problem: null })),
    );
    for (const h of items) {
      expect(await statusOf(h.id)).toBe('approved');
      const entries = await decidedEntries(h.id);
      expect(entries).toHaveLength(1);
      expect(entries[0]!.meta).toMatchObject({ channel: 'web', outcome: 'approved' });
    }
    // Deciding again: the set is refused whole (already decided), nothing changes.
    const again = await as(t, admin, 'POST', '/v1/handoffs/batch-decision', {
      ids: items.map((h) => h.id),
      decision: 'deny',
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ refusal: 'not_pending', handoff_id: items[0]!.id });
    for (const h of items) expect(await decidedEntries(h.id)).toHaveLength(1);
  });

  it('refuses bad sets with a clear problem and changes nothing', async () => {
    const a = await medium('pwd');
    const b = await medium('pwd');
    const otherTarget = await medium('whoami');
    const otherDevice = await medium('pwd', devB);
    const crit = await critical();
    const foreignDevice = (await as(t, other, 'POST', '/v1/admin/devices', { name: 'x' })).json<{
      token: string;
    }>().token;
    const foreign = await medium('pwd', foreignDevice);
    const cases: [unknown, number, string | undefined][] = [
      [{ ids: [], decision: 'approve' }, 400, 'empty'],
      [{ ids: Array.from({ length: 51 }, () => crypto.randomUUID()), decision: 'approve' }, 400, 'too_many'],
      [{ ids: [a.id, b.id, a.id], decision: 'approve' }, 400, 'duplicate'],
      [{ ids: [a.id, otherTarget.id], decision: 'approve' }, 422, 'not_equivalent'],
      [{ ids: [a.id, otherDevice.id], decision: 'approve' }, 422, 'not_equivalent'],
      [{ ids: [a.id, crit.id], decision: 'deny' }, 422, 'critical'],
      [{ ids: [a.id, foreign.id], decision: 'approve' }, 404, undefined],
      [{ ids: [a.id, b.id], decision: 'maybe' }, 400, undefined],
      [{ ids: ['not-a-uuid'], decision: 'approve' }, 400, undefined],
      [{ ids: [a.id], decision: 'approve', extra: 1 }, 400, undefined],
    ];
    for (const [body, status, refusal] of cases) {
      const res = await as(t, admin, 'POST', '/v1/handoffs/batch-decision', body);
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(res.headers['content-type']).toContain('application/problem+json');
      if (refusal !== undefined) expect(res.json<{ refusal: string }>().refusal).toBe(refusal);
    }
    for (const h of [a, b, otherTarget, otherDevice, crit]) expect(await statusOf(h.id)).toBe('pending');
    expect((await as(t, other, 'GET', `/v1/handoffs/${foreign.id}`)).json<View>().status).toBe('pending');
    // A viewer may not decide at all.
    const asViewer = await as(t, viewer, 'POST', '/v1/handoffs/batch-decision', {
      ids: [a.id, b.id],
      decision: 'deny',
    });
    expect(asViewer.statusCode).toBe(403);
    expect(await statusOf(a.id)).toBe('pending');
    // And the right set goes through.
    const ok = await as(t, admin, 'POST', '/v1/handoffs/batch-decision', {
      ids: [a.id, b.id],
      decision: 'deny',
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(await statusOf(a.id)).toBe('denied');
    expect(await statusOf(b.id)).toBe('denied');
  });
});

describe('list search and filters', () => {
  it('filters by action type and free text (title, target, short code), server-side', async () => {
    const h = await create({
      action: { type: 'file.delete', target: '/srv/app/Needle_1%.log' },
      title: 'Remove a log',
    });
    const list = async (q: string) => {
      const r = await as(t, admin, 'GET', `/v1/dashboard/handoffs?status=pending&${q}`);
      expect(r.statusCode, r.body).toBe(200);
      return r.json<{ handoff: View }[]>().map((x) => x.handoff.id);
    };
    expect(await list('action_type=file.delete')).toEqual([h.id]);
    expect(await list('q=needle_1%25')).toEqual([h.id]);
    expect(await list(`q=${h.short_code.toLowerCase()}`)).toContain(h.id);
    expect(await list('q=needle_2')).toEqual([]);
    // `%` and `_` are literal, not wildcards.
    expect(await list('q=needle%25')).toEqual([]);
    expect(await list('q=remove%20a%20log&action_type=shell.exec')).toEqual([]);
    const bad = await as(t, admin, 'GET', '/v1/dashboard/handoffs?action_type=nope');
    expect(bad.statusCode).toBe(400);
  });
});

describe('timezone', () => {
  it('is stored canonical, shown on your own profile only, and a bad one is refused', async () => {
    const ok = await as(t, admin, 'PATCH', '/v1/me', { timezone: 'europe/paris' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json<{ timezone: string }>().timezone).toBe('Europe/Paris');
    const session = (await as(t, admin, 'GET', '/v1/auth/session')).json<{ member: { timezone: string } }>();
    expect(session.member.timezone).toBe('Europe/Paris');
    for (const timezone of ['Mars/Olympus', '', 'Europe/Paris; --', 'x'.repeat(80)]) {
      const bad = await as(t, admin, 'PATCH', '/v1/me', { timezone });
      expect(bad.statusCode, timezone).toBe(400);
      expect(bad.headers['content-type']).toContain('application/problem+json');
    }
    expect((await as(t, admin, 'GET', '/v1/me')).json<{ timezone: string }>().timezone).toBe('Europe/Paris');
    const team = (await as(t, viewer, 'GET', '/v1/admin/members')).statusCode === 200;
    if (team) expect((await as(t, viewer, 'GET', '/v1/admin/members')).body).not.toContain('Europe/Paris');
    const reset = await as(t, admin, 'PATCH', '/v1/me', { timezone: null });
    expect(reset.json<{ timezone: string | null }>().timezone).toBeNull();
  });
});
