/**
 * The handoff lifecycle through the real server, database, job queue and ephemeral store.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { sql } from 'kysely';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/lib/webhook-signature.js';
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
let device: { token: string; secret: string; id: string };

const CLAIM = 'claimed-risk-marker-7f3a';

async function newDevice(actor: Actor, name: string) {
  const r = (await as(t, actor, 'POST', '/v1/admin/devices', { name })).json<{
    token: string;
    webhook_secret: string;
    device: { id: string };
  }>();
  return { token: r.token, secret: r.webhook_secret, id: r.device.id };
}

function create(body: Record<string, unknown>, opts: { token?: string; key?: string } = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: {
      authorization: `Bearer ${opts.token ?? device.token}`,
      ...(opts.key !== undefined && { 'idempotency-key': opts.key }),
    },
    payload: body,
  });
}

const simple = (title = 'deploy the thing') => ({
  action: { type: 'deploy', target: 'staging' },
  title,
  summary: 'routine',
});
const count = async (table: string) =>
  (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(t.database.db))
    .rows[0]!.n;

beforeAll(async () => {
  // The test's callback receiver listens on 127.0.0.3 (allow-listed); 127.0.0.1 stays refused.
  t = await startTestServer({ ONY_CALLBACK_ALLOW_HOSTS: '127.0.0.3', ONY_CALLBACK_ALLOW_HTTP: 'true' });
  admin = await createOrgWithAdmin(t, 'ho');
  device = await newDevice(admin, 'agent');
});
afterAll(async () => t?.close());

describe('create', () => {
  it('derives the risk itself; the agent claim is never stored, logged or echoed', async () => {
    const res = await create({
      action: { type: 'shell.exec', target: 'web-1' },
      title: 'tidy up',
      summary: 'cleaning',
      payload: { kind: 'command', content: 'bash -c "r""m -rf /"' },
      risk: { level: 'low', note: CLAIM },
    });
    expect(res.statusCode).toBe(201);
    const h = res.json<{
      id: string;
      status: string;
      short_code: string;
      risk: { level: string; reasons: string[] };
      expires_at: string;
    }>();
    expect(h).toMatchObject({ status: 'pending', risk: { level: 'critical' } });
    expect(h.risk.reasons).toContain('recursive_delete_root');
    expect(h.short_code).toMatch(/^[A-Z2-9]{6}$/);
    expect(res.body).not.toContain(CLAIM);
    const dump = await sql<{
      d: string;
    }>`select (select json_agg(h)::text from handoffs h) || (select json_agg(a.canonical)::text from audit_events a) as d`.execute(
      t.database.db,
    );
    expect(dump.rows[0]!.d).not.toContain(CLAIM);
    expect(JSON.stringify(t.logs)).not.toContain(CLAIM);
  });

  it('always offers "deny": it is added to custom options that lack it', async () => {
    const r = await create({
      ...simple('pick one'),
      options: [
        { id: 'canary', label: 'Canary only' },
        { id: 'full', label: 'Full rollout' },
      ],
    });
    expect(r.statusCode).toBe(201);
    expect(r.json<{ options: { id: string }[] }>().options.map((o) => o.id)).toEqual([
      'canary',
      'full',
      'deny',
    ]);
  });

  it('keeps the payload encrypted at rest and out of the chain and the channels', async () => {
    const secretCommand = 'psql -c "DELETE FROM invoices" # unique-payload-marker-42';
    const res = await create({
      action: { type: 'db.query' },
      title: 'clean invoices',
      payload: { kind: 'sql', content: secretCommand },
    });
    const id = res.json<{ id: string }>().id;
    const row = await sql<{
      c: Buffer;
    }>`select content_enc as c from handoff_payloads where handoff_id = ${id}`.execute(t.database.db);
    expect(Buffer.from(row.rows[0]!.c).includes(Buffer.from('unique-payload-marker-42'))).toBe(false);
    const entry = await sql<{
      canonical: string;
    }>`select canonical from audit_events where subject_id = ${id} and action = 'handoff.created'`.execute(
      t.database.db,
    );
    expect(entry.rows[0]!.canonical).toMatch(/"payload_sha256":"[0-9a-f]{64}"/);
    expect(entry.rows[0]!.canonical).not.toContain('invoices');
    await waitFor(async () => t.logs.some((l) => l.channel === 'console' && JSON.stringify(l).includes(id)));
    expect(JSON.stringify(t.logs)).not.toContain('unique-payload-marker-42');
  });

  it('Idempotency-Key: a retry answers the original and creates nothing; another body is 422', async () => {
    const before = await count('handoffs');
    const first = await create(simple('idem'), { key: 'k-1' });
    const again = await create(simple('idem'), { key: 'k-1' });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
    const other = await create(simple('different'), { key: 'k-1' });
    expect(other.statusCode).toBe(422);
    expect(other.json().detail).toMatch(/different request body/);
    expect(await count('handoffs')).toBe(before + 1);
    // Racing retries of one key still create one handoff.
    const racers = await Promise.all(
      Array.from({ length: 5 }, () => create(simple('race'), { key: 'k-race' })),
    );
    expect(new Set(racers.map((r) => r.json().id)).size).toBe(1);
    expect(await count('handoffs')).toBe(before + 2);
  });

  it('bad inputs get a clear error and create nothing', async () => {
    const before = await count('handoffs');
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ action: { type: 'launch.missiles' }, title: 'x' }, 400, /action\/type/],
      [{ action: { type: 'other' } }, 400, /title/],
      [{ ...simple(), title: 'x'.repeat(201) }, 400, /title/],
      [{ ...simple(), payload: { kind: 'text', content: 'x'.repeat(1_048_577) } }, 400, /content/],
      [{ ...simple(), payload: { kind: 'text', content: 'é'.repeat(600_000) } }, 413, /1 MiB/],
      [
        {
          ...simple(),
          options: [
            { id: 'Approve!', label: 'x' },
            { id: 'deny', label: 'No' },
          ],
        },
        400,
        /options/,
      ],
      [
        { ...simple(), options: Array.from({ length: 6 }, (_, i) => ({ id: `o${i}`, label: 'x' })) },
        422,
        /at most 5/,
      ],
      [
        {
          ...simple(),
          options: [
            { id: 'deny', label: 'a' },
            { id: 'deny', label: 'b' },
          ],
        },
        422,
        /distinct/,
      ],
      [{ ...simple(), callback_url: 'https://127.0.0.1/hook' }, 422, /private, loopback or link-local/],
      [{ ...simple(), callback_url: 'http://127.0.0.1:9/hook' }, 422, /.+/],
      [{ ...simple(), callback_url: 'https://169.254.169.254/latest/meta-data' }, 422, /169\.254\.169\.254/],
      [{ ...simple(), callback_url: 'https://10.1.2.3/hook' }, 422, /private/],
      [{ ...simple(), callback_url: 'https://localhost/hook' }, 422, /.+/],
      [{ ...simple(), surprise: true }, 400, /surprise|additional/],
    ];
    for (const [body, status, detail] of cases) {
      const r = await create(body);
      expect(r.statusCode, JSON.stringify(body).slice(0, 300)).toBe(status);
      expect(r.headers['content-type']).toMatch(/problem\+json/);
      expect(JSON.stringify(r.json())).toMatch(detail);
    }
    expect((await t.app.inject({ method: 'POST', url: '/v1/handoffs', payload: simple() })).statusCode).toBe(
      401,
    );
    expect(await count('handoffs')).toBe(before);
  });
});

describe('routine actions: the org rule per derived risk level', () => {
  const ls = {
    action: { type: 'shell.exec' },
    title: 'list files',
    payload: { kind: 'command', content: 'ls -la' },
  };
  const chainOf = async (id: string) =>
    (
      await sql<{ action: string; actor_type: string; meta: Record<string, unknown> }>`
        select action, actor_type, meta from audit_events where subject_id = ${id} order by seq`.execute(
        t.database.db,
      )
    ).rows;

  it('by default low risk is allowed without a human and recorded as allowed by policy', async () => {
    const res = await create({ ...ls, risk: 'critical' });
    expect(res.statusCode).toBe(201);
    const h = res.json<{ id: string; status: string; risk: { level: string }; decision: unknown }>();
    expect(h).toMatchObject({
      status: 'approved',
      risk: { level: 'low' },
      decision: { option: 'approve', outcome: 'approved', decided_by: null, channel: 'policy' },
    });
    expect((await chainOf(h.id)).map((e) => [e.action, e.actor_type, e.meta.channel, e.meta.rule])).toEqual([
      ['handoff.created', 'device', undefined, undefined],
      ['handoff.decided', 'system', 'policy', 'allow'],
    ]);
    // No human was asked: no escalation job ran, and deciding it now is a conflict or a replay.
    await new Promise((r) => setTimeout(r, 800));
    const attempts = await sql<{ n: number }>`
      select count(*)::int as n from escalation_attempts where handoff_id = ${h.id}`.execute(t.database.db);
    expect(attempts.rows[0]!.n).toBe(0);
    const late = await as(t, admin, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'deny' });
    expect(late.statusCode).toBe(409);
  });

  it('the derived risk picks the rule: rm -rf / escalates even when the agent claims low', async () => {
    const res = await create({
      action: { type: 'shell.exec' },
      title: 'clean up',
      payload: { kind: 'command', content: 'rm -rf /' },
      risk: 'low',
    });
    expect(res.json()).toMatchObject({ status: 'pending', risk: { level: 'critical' } });
  });

  it('a deny rule refuses at once; an unknown rule is 400 and changes nothing', async () => {
    const policy = { escalation_policy: { levels: { low: { rule: 'deny' } } } };
    expect((await as(t, admin, 'PUT', '/v1/admin/policies', policy)).statusCode).toBe(200);
    try {
      const h = (await create(ls)).json<{ id: string }>();
      expect(h).toMatchObject({ status: 'denied', decision: { option: 'deny', channel: 'policy' } });
      const bad = await as(t, admin, 'PUT', '/v1/admin/policies', {
        escalation_policy: { levels: { low: { rule: 'maybe' } } },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.body).toContain('levels.low.rule must be one of allow, approve, deny');
      expect((await create(ls)).json()).toMatchObject({ status: 'denied' });
    } finally {
      await as(t, admin, 'PUT', '/v1/admin/policies', { escalation_policy: {} });
    }
    expect((await create(ls)).json()).toMatchObject({ status: 'approved' });
  });
});

describe('short codes', () => {
  it('a code taken by a pending handoff of the org is refused at insert, so create draws again', async () => {
    const { insertHandoff, findHandoff } = await import('../../src/features/handoffs/handoffs.repository.js');
    const { withTenant } = await import('../../src/db/client.js');
    const first = (await create(simple('coded'))).json<{ id: string; short_code: string }>();
    const taken = await withTenant(t.database.db, admin.orgId, async (tx) => {
      const h = (await findHandoff(tx, first.id))!;
      return insertHandoff(tx, { ...h, id: crypto.randomUUID(), idempotencyKey: null, payloadSha256: null });
    });
    expect(taken).toBeUndefined();
  });
});

describe('create is all or nothing', () => {
  it('when the audit append fails, no handoff, payload or job is left behind', async () => {
    const before = { h: await count('handoffs'), p: await count('handoff_payloads') };
    await sql
      .raw(
        `alter table audit_events add constraint no_handoff_events check ((canonical::jsonb ->> 'action') <> 'handoff.created') not valid`,
      )
      .execute(t.database.db);
    try {
      const r = await create({ ...simple('doomed'), payload: { kind: 'text', content: 'x' } });
      expect(r.statusCode).toBe(500);
    } finally {
      await sql.raw('alter table audit_events drop constraint no_handoff_events').execute(t.database.db);
    }
    expect(await count('handoffs')).toBe(before.h);
    expect(await count('handoff_payloads')).toBe(before.p);
    // No job points at a handoff that does not exist (the rolled-back one's jobs went with it).
    const orphans = await sql<{ n: number }>`
      select count(*)::int as n from pgboss.job j
      where j.data ? 'handoff_id' and not exists (select 1 from handoffs h where h.id::text = j.data->>'handoff_id')`.execute(
      t.database.db,
    );
    expect(orphans.rows[0]!.n).toBe(0);
  });
});

describe('decide', () => {
  it('exactly once: replay answers the decision, a different decision is 409; viewers are refused', async () => {
    const id = (await create(simple('decide me'))).json<{ id: string }>().id;
    const viewer = await addMember(t, admin, 'viewer@ho.test', 'viewer');
    const v = await as(t, viewer, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'approve' });
    expect(v.statusCode).toBe(403);
    const first = await as(t, admin, 'POST', `/v1/handoffs/${id}/decision`, {
      decision: 'approve',
      comment: 'ship it',
    });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({
      status: 'approved',
      decision: {
        option: 'approve',
        outcome: 'approved',
        channel: 'web',
        comment: 'ship it',
        decided_by: { member_id: admin.memberId },
      },
    });
    const replay = await as(t, admin, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'approve' });
    expect(replay.statusCode).toBe(200);
    const flip = await as(t, admin, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'deny' });
    expect(flip.statusCode).toBe(409);
    const unknown = await as(t, admin, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'maybe' });
    expect(unknown.statusCode).toBe(422);
    const decided = await sql<{
      n: number;
    }>`select count(*)::int as n from audit_events where subject_id = ${id} and action = 'handoff.decided'`.execute(
      t.database.db,
    );
    expect(decided.rows[0]!.n).toBe(1);
  });

  it('N racing approvers produce exactly one decision', async () => {
    const racers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => addMember(t, admin, `racer${i}@ho.test`, 'member')),
    );
    const id = (await create(simple('race to decide'))).json<{ id: string }>().id;
    const answers = await Promise.all(
      racers.map((m, i) =>
        as(t, m, 'POST', `/v1/handoffs/${id}/decision`, { decision: i % 2 === 0 ? 'approve' : 'deny' }),
      ),
    );
    expect(answers.filter((a) => a.statusCode === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.statusCode === 409)).toHaveLength(5);
    const decided = await sql<{
      n: number;
    }>`select count(*)::int as n from audit_events where subject_id = ${id} and action = 'handoff.decided'`.execute(
      t.database.db,
    );
    expect(decided.rows[0]!.n).toBe(1);
  });

  it('quorum: a critical handoff needs two distinct approvers; step-up asks for TOTP', async () => {
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: {
        levels: {
          critical: {
            steps: [{ after_s: 0, channel: 'console', targets: 'all' }],
            required_approvals: 2,
            require_totp: true,
          },
        },
      },
    });
    expect(put.statusCode).toBe(200);
    const bad = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { critical: { required_approvals: 0 } } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/required_approvals/);

    const alice = await addMember(t, admin, 'alice@ho.test', 'member');
    const bob = await addMember(t, admin, 'bob@ho.test', 'member');
    const secrets: Record<string, string> = {};
    for (const [name, m] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      secrets[name] = (await as(t, m, 'POST', '/v1/me/totp')).json<{ secret: string }>().secret;
      await as(t, m, 'POST', '/v1/me/totp/confirm', { code: code(secrets[name]!) });
    }
    t.clock.advance(31_000);
    const res = await create({
      action: { type: 'db.query' },
      title: 'drop it',
      payload: { kind: 'sql', content: 'DROP DATABASE prod;' },
    });
    const h = res.json<{ id: string; short_code: string; risk: { level: string } }>();
    // A critical web approval also types the short code (docs/handoffs.md).
    const typed = { confirm_short_code: h.short_code };
    expect(h.risk.level).toBe('critical');
    const noCode = await as(t, alice, 'POST', `/v1/handoffs/${h.id}/decision`, {
      decision: 'approve',
      ...typed,
    });
    expect(noCode.statusCode).toBe(401);
    expect(noCode.json().code).toBe('totp_required');
    const one = await as(t, alice, 'POST', `/v1/handoffs/${h.id}/decision`, {
      decision: 'approve',
      ...typed,
      totp: code(secrets.alice!),
    });
    expect(one.statusCode).toBe(202);
    expect(one.json()).toMatchObject({ status: 'pending', approvals: { required: 2, received: 1 } });
    // The lists render a page at once (deciders and quorum approvals read for the page): the same count.
    const listed = (await as(t, admin, 'GET', '/v1/handoffs?limit=100')).json<{ id: string }[]>();
    expect(listed.find((x) => x.id === h.id)).toMatchObject({ approvals: { required: 2, received: 1 } });
    expect(
      (await as(t, alice, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'approve', ...typed }))
        .statusCode,
    ).toBe(200); // her own replay
    const two = await as(t, bob, 'POST', `/v1/handoffs/${h.id}/decision`, {
      decision: 'approve',
      ...typed,
      totp: code(secrets.bob!),
    });
    expect(two.statusCode).toBe(200);
    expect(two.json()).toMatchObject({ status: 'approved', approvals: { required: 2, received: 2 } });
    // Every listed view, on both lists, is the one its own GET renders (decider, approvals and all).
    const page = (await as(t, admin, 'GET', '/v1/handoffs?limit=100')).json<{ id: string }[]>();
    const rows = (await as(t, admin, 'GET', '/v1/dashboard/handoffs?limit=100')).json<
      { handoff: { id: string } }[]
    >();
    expect(rows.map((r) => r.handoff)).toEqual(page);
    expect(page.length).toBeGreaterThan(1);
    for (const v of page) expect(v).toEqual((await as(t, admin, 'GET', `/v1/handoffs/${v.id}`)).json());
    await as(t, admin, 'PUT', '/v1/admin/policies', { escalation_policy: {} });
  });

  it('after expiry a decision is 409 and the handoff reads expired', async () => {
    const id = (await create({ ...simple('too late'), timeout_s: 60 })).json<{ id: string }>().id;
    t.clock.advance(61_000);
    const late = await as(t, admin, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'approve' });
    expect(late.statusCode).toBe(409);
    expect(late.json().detail).toMatch(/expired/);
    const view = await t.app.inject({
      url: `/v1/handoffs/${id}`,
      headers: { authorization: `Bearer ${device.token}` },
    });
    expect(view.json()).toMatchObject({ status: 'expired', decision: null });
  });

  it('cancel by the agent; then decisions are 409', async () => {
    const id = (await create(simple('never mind'))).json<{ id: string }>().id;
    const c = await t.app.inject({
      method: 'POST',
      url: `/v1/handoffs/${id}/cancel`,
      headers: { authorization: `Bearer ${device.token}` },
    });
    expect(c.json().status).toBe('cancelled');
    expect(
      (await as(t, admin, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'approve' })).statusCode,
    ).toBe(409);
    const other = await newDevice(admin, 'other-agent');
    const foreign = await t.app.inject({
      method: 'POST',
      url: `/v1/handoffs/${id}/cancel`,
      headers: { authorization: `Bearer ${other.token}` },
    });
    expect(foreign.statusCode).toBe(404); // a device sees only its own handoffs
  });
});

describe('waiting for the answer', () => {
  it('a long-poll returns as soon as the decision is made', async () => {
    const id = (await create(simple('wait for me'))).json<{ id: string }>().id;
    const started = Date.now();
    const waiting = t.app.inject({
      url: `/v1/handoffs/${id}?wait=30`,
      headers: { authorization: `Bearer ${device.token}` },
    });
    await new Promise((r) => setTimeout(r, 300));
    await as(t, admin, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'deny', comment: 'not today' });
    const res = await waiting;
    expect(res.json()).toMatchObject({
      status: 'denied',
      decision: { outcome: 'denied', comment: 'not today' },
    });
    expect(Date.now() - started).toBeLessThan(25_000); // woken, not timed out
    const bad = await t.app.inject({
      url: `/v1/handoffs/${id}?wait=61`,
      headers: { authorization: `Bearer ${device.token}` },
    });
    expect(bad.statusCode).toBe(400);
    // Another org's device waiting on this id: 404, as for an id that does not exist.
    const other = await createOrgWithAdmin(t, 'ho-other');
    const otherDevice = await newDevice(other, 'foreign');
    const foreign = await t.app.inject({
      url: `/v1/handoffs/${id}?wait=1`,
      headers: { authorization: `Bearer ${otherDevice.token}` },
    });
    expect(foreign.statusCode).toBe(404);
    const missing = await t.app.inject({
      url: `/v1/handoffs/00000000-0000-4000-8000-000000000000?wait=1`,
      headers: { authorization: `Bearer ${device.token}` },
    });
    expect(missing.statusCode).toBe(404);
  });

  it('Server-Sent Events: the current state, then the decision, then the stream ends', async () => {
    const id = (await create(simple('stream me'))).json<{ id: string }>().id;
    const streaming = t.app.inject({
      url: `/v1/handoffs/${id}/events`,
      headers: { authorization: `Bearer ${device.token}` },
    });
    await new Promise((r) => setTimeout(r, 300));
    await as(t, admin, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'approve' });
    const res = await streaming;
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    const events = res.body.split('\n\n').filter((e) => e.startsWith('event: handoff'));
    const statuses = events.map((e) => (JSON.parse(e.split('data: ')[1]!) as { status: string }).status);
    expect(statuses[0]).toBe('pending');
    expect(statuses.at(-1)).toBe('approved');
  });

  it('a signed callback reaches the agent after the decision', async () => {
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
      const port = (server.address() as { port: number }).port;
      const id = (
        await create({ ...simple('call me back'), callback_url: `http://127.0.0.3:${port}/hook` })
      ).json<{ id: string }>().id;
      await as(t, admin, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'approve' });
      await waitFor(async () => received.length > 0);
      const { headers, body } = received[0]!;
      expect(() =>
        verifyWebhook(device.secret, headers as Record<string, string>, body, new Date()),
      ).not.toThrow();
      expect(() =>
        verifyWebhook(
          'whsec_' + Buffer.alloc(32).toString('base64'),
          headers as Record<string, string>,
          body,
          new Date(),
        ),
      ).toThrow();
      expect(JSON.parse(body)).toMatchObject({ type: 'handoff.decided', data: { id, status: 'approved' } });
    } finally {
      server.close();
    }
  });
});

describe('escalation targets', () => {
  it('an on-call group receives the step; others do not', async () => {
    const oncall = await addMember(t, admin, 'oncall@ho.test', 'member');
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: {
        groups: { dba: [oncall.memberId] },
        levels: { high: { steps: [{ after_s: 0, channel: 'console', targets: ['group:dba'] }] } },
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    t.clock.sync();
    const h = (
      await create({ action: { type: 'deploy', target: 'production' }, title: 'page the dbas' })
    ).json<{ id: string; short_code: string }>();
    await waitFor(async () => t.logs.some((l) => l.channel === 'console' && l.short_code === h.short_code));
    const line = t.logs.find((l) => l.channel === 'console' && l.short_code === h.short_code)!;
    expect(line.recipients).toEqual(['oncall']);
    await as(t, admin, 'PUT', '/v1/admin/policies', { escalation_policy: {} });
  });
});

describe('durable timers', () => {
  it('escalation steps survive a restart of the job workers', async () => {
    const twoSteps = {
      steps: [
        { after_s: 0, channel: 'console', targets: 'all' },
        { after_s: 3, channel: 'console', targets: 'all' },
      ],
    };
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { low: twoSteps, medium: twoSteps, high: twoSteps, critical: twoSteps } },
    });
    expect(put.statusCode, put.body).toBe(200);
    // Job start times are compared with the database's clock: run the test clock on wall time.
    t.clock.sync();
    const created = Date.now();
    const h = (
      await create({ action: { type: 'deploy', target: 'production' }, title: 'prod deploy', summary: '' })
    ).json<{ id: string; risk: { level: string } }>();
    // "Kill" the workers right away, before the second step is due, then start new ones.
    await t.container.jobs.stop();
    const { createJobQueue } = await import('../../src/jobs/queue.js');
    const fresh = await createJobQueue({
      database: t.database,
      logger: t.container.logger,
      pollingIntervalSeconds: 0.5,
    });
    await fresh.start();
    const { JOBS } = await import('../../src/features/handoffs/handoffs.service.js');
    await fresh.work(JOBS.escalate, async (data) =>
      t.container.escalation.escalate(String(data.org_id), String(data.handoff_id), Number(data.step)),
    );
    try {
      await waitFor(async () => {
        const steps = await sql<{
          step: number;
        }>`select step from escalation_attempts where handoff_id = ${h.id} order by step`.execute(
          t.database.db,
        );
        return steps.rows.length === 2;
      }, 15_000);
      const steps = await sql<{
        step: number;
        at: Date;
      }>`select step, at from escalation_attempts where handoff_id = ${h.id} order by step`.execute(
        t.database.db,
      );
      expect(steps.rows.map((r) => r.step)).toEqual([0, 1]);
      // The second step fired on schedule (3 s after creation), not before; the test clock is not used here.
      expect(Date.now() - created).toBeGreaterThanOrEqual(3_000);
    } finally {
      await fresh.stop();
    }
  }, 30_000);
});

function code(secret: string): string {
  return generateSync({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) });
}

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting');
}
