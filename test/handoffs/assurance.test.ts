/**
 * Assurance levels on the web (docs/assurance.md), through the real server and database: the policy's
 * minimum per risk level, snapshotted on the handoff; approvals below it refused with how to step up;
 * a deny never needs it; the assurance recorded on the approval, the decision, the audit entry and
 * the signed callback.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { sql } from 'kysely';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/lib/webhook-signature.js';
import {
  addMember,
  as,
  confirmed,
  createOrgWithAdmin,
  login,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

let t: TestServer;
let admin: Actor;
let device: { token: string; secret: string };

const critical = (title: string, extra: Record<string, unknown> = {}) =>
  t.app
    .inject({
      method: 'POST',
      url: '/v1/handoffs',
      headers: { authorization: `Bearer ${device.token}` },
      payload: {
        action: { type: 'db.query' },
        title,
        payload: { kind: 'sql', content: 'DROP DATABASE prod;' },
        ...extra,
      },
    })
    .then((r) => {
      expect(r.statusCode, r.body).toBe(201);
      const h = r.json<{ id: string; risk: { level: string }; min_assurance: string }>();
      expect(h.risk.level).toBe('critical');
      return h;
    });

// Critical approvals on the web carry the typed short code (typed-confirmation.ts).
const decide = async (who: Actor, id: string, body: Record<string, unknown>) =>
  as(t, who, 'POST', `/v1/handoffs/${id}/decision`, await confirmed(t, who, id, body));

const view = async (id: string) =>
  (
    await t.app.inject({ url: `/v1/handoffs/${id}`, headers: { authorization: `Bearer ${device.token}` } })
  ).json<{
    status: string;
    min_assurance: string;
    decision: { assurance: Record<string, unknown> | null } | null;
  }>();

const approvalRows = async (id: string) =>
  (
    await sql<{
      n: number;
    }>`select count(*)::int as n from handoff_approvals where handoff_id = ${id}`.execute(t.database.db)
  ).rows[0]!.n;

async function auditOf(id: string, action: string) {
  const r = await as(t, admin, 'GET', `/v1/admin/audit?subject_id=${id}&action=${action}`);
  expect(r.statusCode, r.body).toBe(200);
  return r.json<{ entries: { meta: Record<string, unknown> }[] }>().entries;
}

const policyUpdates = async () =>
  (await as(t, admin, 'GET', '/v1/admin/audit?action=policy.updated')).json<{ entries: unknown[] }>().entries
    .length;

async function enrolTotp(m: Actor): Promise<string> {
  const secret = (await as(t, m, 'POST', '/v1/me/totp')).json<{ secret: string }>().secret;
  const ok = await as(t, m, 'POST', '/v1/me/totp/confirm', { code: code(secret) });
  expect(ok.statusCode, ok.body).toBeLessThan(300);
  t.clock.advance(31_000); // the next code is a new one (each is single-use)
  return secret;
}

function code(secret: string): string {
  return generateSync({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) });
}

beforeAll(async () => {
  t = await startTestServer({ ONY_CALLBACK_ALLOW_HOSTS: '127.0.0.3', ONY_CALLBACK_ALLOW_HTTP: 'true' });
  admin = await createOrgWithAdmin(t, 'assure');
  const r = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{
    token: string;
    webhook_secret: string;
  }>();
  device = { token: r.token, secret: r.webhook_secret };
});
afterAll(async () => t?.close());

describe('the policy', () => {
  it('defaults: critical needs A2, the other levels A1', async () => {
    const p = (await as(t, admin, 'GET', '/v1/admin/policies')).json<{
      escalation_policy: { levels: Record<string, { min_assurance: string }> };
    }>();
    const levels = p.escalation_policy.levels;
    expect(Object.fromEntries(Object.entries(levels).map(([k, v]) => [k, v.min_assurance]))).toEqual({
      low: 'A1',
      medium: 'A1',
      high: 'A1',
      critical: 'A2',
    });
  });

  it.each([['A4'], [2], ['a2'], [true], [['A2']]])(
    'refuses min_assurance %j with 400 naming the field, and changes nothing',
    async (value) => {
      const before = (await as(t, admin, 'GET', '/v1/admin/policies')).body;
      const audits = await policyUpdates();
      const bad = await as(t, admin, 'PUT', '/v1/admin/policies', {
        escalation_policy: { levels: { critical: { min_assurance: value } } },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(bad.json().detail).toMatch(/levels\.critical\.min_assurance must be one of A1, A2, A3/);
      expect((await as(t, admin, 'GET', '/v1/admin/policies')).body).toBe(before);
      expect(await policyUpdates()).toBe(audits);
    },
  );
});

describe('web approvals below the minimum', () => {
  it('a password session without a second factor is refused (403) with how to step up; nothing changes', async () => {
    const plain = await addMember(t, admin, 'plain@assure.test', 'member');
    const h = await critical('drop prod');
    expect(h.min_assurance).toBe('A2');
    const res = await decide(plain, h.id, { decision: 'approve' });
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.json()).toMatchObject({
      code: 'assurance_required',
      required_assurance: 'A2',
      assurance: 'A1',
    });
    expect(res.json().detail).toMatch(/needs assurance A2; this answer was A1 \(A1 · web · password\)/);
    expect(res.json().detail).toMatch(/Enrol TOTP/);
    expect((await view(h.id)).status).toBe('pending');
    expect(await approvalRows(h.id)).toBe(0);
    expect(await auditOf(h.id, 'handoff.decided')).toEqual([]);

    // A deny never needs a step-up, and is recorded with its assurance.
    const deny = await decide(plain, h.id, { decision: 'deny' });
    expect(deny.statusCode, deny.body).toBe(200);
    const denied = await view(h.id);
    expect(denied.status).toBe('denied');
    expect(denied.decision!.assurance).toMatchObject({ level: 'A1', channel: 'web', step_up: 'none' });
  });

  it('a TOTP step-up raises a stale session to A2: asked for, then approved, recorded everywhere', async () => {
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
      const totpUser = await addMember(t, admin, 'totp@assure.test', 'member');
      const secret = await enrolTotp(totpUser);
      const h = await critical('drop prod again', { callback_url: `http://127.0.0.3:${port}/hook` });
      const ask = await decide(totpUser, h.id, { decision: 'approve' });
      expect(ask.statusCode).toBe(401);
      expect(ask.json()).toMatchObject({ code: 'totp_required' });
      expect(ask.json().detail).toMatch(/assurance A2/);
      const wrong = await decide(totpUser, h.id, { decision: 'approve', totp: '000000' });
      expect(wrong.json().code).toBe('totp_invalid');
      expect((await view(h.id)).status).toBe('pending');

      const ok = await decide(totpUser, h.id, { decision: 'approve', totp: code(secret) });
      expect(ok.statusCode, ok.body).toBe(200);
      const expected = {
        level: 'A2',
        channel: 'web',
        step_up: 'totp',
        identity: 'password',
        amr: null,
        acr: null,
      };
      expect(ok.json().decision.assurance).toMatchObject(expected);
      expect(typeof ok.json().decision.assurance.session_age_s).toBe('number');
      expect((await view(h.id)).decision!.assurance).toMatchObject(expected);
      const [entry] = await auditOf(h.id, 'handoff.decided');
      expect(entry!.meta).toMatchObject({ channel: 'web', assurance: expected });
      expect(JSON.stringify(entry!.meta)).not.toMatch(/\d{6}"/); // no TOTP code in the chain

      await waitFor(async () => received.length > 0);
      const { headers, body } = received[0]!;
      verifyWebhook(device.secret, headers as Record<string, string>, body, new Date());
      expect(JSON.parse(body)).toMatchObject({
        type: 'handoff.decided',
        data: { id: h.id, status: 'approved', decision: { assurance: expected } },
      });
    } finally {
      server.close();
    }
  });

  it('a fresh sign-in with password + TOTP is A2 without a code; after 15 minutes it is not', async () => {
    const m = await addMember(t, admin, 'fresh@assure.test', 'member');
    const secret = await enrolTotp(m);
    const fresh = await login(t, 'fresh@assure.test', undefined, { totp_code: code(secret) });
    const h = await critical('fresh session');
    const ok = await decide(fresh, h.id, { decision: 'approve' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().decision.assurance).toMatchObject({
      level: 'A2',
      step_up: 'none',
      identity: 'password_mfa',
    });

    t.clock.advance(16 * 60_000);
    const later = await critical('stale session');
    const ask = await decide(fresh, later.id, { decision: 'approve' });
    expect(ask.json().code).toBe('totp_required');
  });

  it('a passkey minimum (A3) refuses even a TOTP step-up, and says to use a passkey', async () => {
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { critical: { min_assurance: 'A3' } } },
    });
    expect(put.statusCode, put.body).toBe(200);
    try {
      const m = await addMember(t, admin, 'a3@assure.test', 'member');
      const secret = await enrolTotp(m);
      const h = await critical('needs a passkey');
      expect(h.min_assurance).toBe('A3');
      const res = await decide(m, h.id, { decision: 'approve', totp: code(secret) });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({
        code: 'assurance_required',
        required_assurance: 'A3',
        assurance: 'A2',
      });
      expect(res.json().detail).toMatch(/passkey/);
      expect((await view(h.id)).status).toBe('pending');
    } finally {
      await as(t, admin, 'PUT', '/v1/admin/policies', { escalation_policy: {} });
    }
  });

  it('require_totp below the minimum, without TOTP enrolled: 403 assurance_required says how to step up', async () => {
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { critical: { require_totp: true } } },
    });
    expect(put.statusCode, put.body).toBe(200);
    try {
      const m = await addMember(t, admin, 'nototp@assure.test', 'member');
      const h = await critical('needs TOTP, none enrolled');
      const res = await decide(m, h.id, { decision: 'approve' });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({
        code: 'assurance_required',
        required_assurance: 'A2',
        assurance: 'A1',
      });
      expect(res.json().detail).toMatch(/Enrol TOTP/);
      expect((await view(h.id)).status).toBe('pending');
      expect(await approvalRows(h.id)).toBe(0);
    } finally {
      await as(t, admin, 'PUT', '/v1/admin/policies', { escalation_policy: {} });
    }
  });

  it('a policy change applies to new handoffs only (the minimum is snapshotted at creation)', async () => {
    const m = await addMember(t, admin, 'snap@assure.test', 'member');
    const before = await critical('created under A2');
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { critical: { min_assurance: 'A1' } } },
    });
    expect(put.statusCode, put.body).toBe(200);
    try {
      const after = await critical('created under A1');
      expect([before.min_assurance, after.min_assurance]).toEqual(['A2', 'A1']);
      expect((await decide(m, before.id, { decision: 'approve' })).json().code).toBe('assurance_required');
      const ok = await decide(m, after.id, { decision: 'approve' });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json().decision.assurance).toMatchObject({ level: 'A1', channel: 'web' });
    } finally {
      await as(t, admin, 'PUT', '/v1/admin/policies', { escalation_policy: {} });
    }
  });

  it('each approval of a quorum records its assurance (approval row, audit entry, detail)', async () => {
    await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { critical: { required_approvals: 2 } } },
    });
    try {
      const a = await addMember(t, admin, 'qa@assure.test', 'member');
      const b = await addMember(t, admin, 'qb@assure.test', 'member');
      const sa = await enrolTotp(a);
      const sb = await enrolTotp(b);
      const h = await critical('quorum');
      expect((await decide(a, h.id, { decision: 'approve', totp: code(sa) })).statusCode).toBe(202);
      const [recorded] = await auditOf(h.id, 'handoff.approval_recorded');
      expect(recorded!.meta).toMatchObject({ assurance: { level: 'A2', step_up: 'totp', channel: 'web' } });
      t.clock.advance(31_000);
      expect((await decide(b, h.id, { decision: 'approve', totp: code(sb) })).statusCode).toBe(200);
      const detail = (await as(t, admin, 'GET', `/v1/handoffs/${h.id}/detail`)).json<{
        approvals: { assurance: { level: string } | null }[];
      }>();
      expect(detail.approvals.map((x) => x.assurance?.level)).toEqual(['A2', 'A2']);
    } finally {
      await as(t, admin, 'PUT', '/v1/admin/policies', { escalation_policy: {} });
    }
  });
});

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting');
}
