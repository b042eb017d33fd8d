/**
 * Approval-fatigue insights (docs/insights.md): seeded decisions with known timings (the test
 * clock) give exact numbers; first views and payload fetches are recorded once; admins see per
 * approver, members and viewers do not; another org's handoffs never count; bad windows are 400.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../src/db/client.js';
import { foldFinished } from '../../src/features/insights/insights.repository.js';
import { sleep } from '../helpers/jobs.js';
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
let m1: Actor;
let m2: Actor;
let viewer: Actor;
let foreign: Actor;
let T0: Date;
const ids: Record<string, string> = {};
let foreignHandoff: string;

async function newDevice(actor: Actor, name: string) {
  const r = (await as(t, actor, 'POST', '/v1/admin/devices', { name })).json<{ token: string }>();
  return r.token;
}

async function create(token: string, body: Record<string, unknown>): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${token}` },
    payload: { title: 'insights test', ...body },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

/** Waits until every escalated handoff has its first attempt recorded (at the clock's current time). */
async function attemptsRecorded(handoffIds: string[]) {
  const recorded = async () => {
    const { rows } = await sql<{ handoff_id: string }>`
      select distinct handoff_id from escalation_attempts`.execute(t.database.db);
    const seen = new Set(rows.map((r) => r.handoff_id));
    return handoffIds.filter((id) => !seen.has(id)).length;
  };
  for (let tries = 0; (await recorded()) > 0; tries++) {
    if (tries > 300) throw new Error('the escalation attempts were not recorded');
    await sleep(50);
  }
}

const at = (s: number) => {
  const target = T0.getTime() + s * 1000;
  t.clock.advance(target - t.clock.now().getTime());
};
const decide = async (actor: Actor, id: string, decision: 'approve' | 'deny') => {
  const res = await as(t, actor, 'POST', `/v1/handoffs/${id}/decision`, { decision });
  expect(res.statusCode, res.body).toBe(200);
};
const view = async (actor: Actor, id: string, payload: 'include' | 'omit') => {
  const res = await as(t, actor, 'GET', `/v1/handoffs/${id}/detail?payload=${payload}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ payload: unknown; payload_withheld: boolean }>();
};
const insights = (actor: Actor, query = `from=${iso(-3600)}&to=${iso(3600)}`) =>
  as(t, actor, 'GET', `/v1/admin/insights?${query}`);
const iso = (s: number) => encodeURIComponent(new Date(T0.getTime() + s * 1000).toISOString());

beforeAll(async () => {
  t = await startTestServer();
  admin = await createOrgWithAdmin(t, 'fatigue');
  m1 = await addMember(t, admin, 'm1@fatigue.test', 'member');
  m2 = await addMember(t, admin, 'm2@fatigue.test', 'member');
  viewer = await addMember(t, admin, 'viewer@fatigue.test', 'viewer');
  foreign = await createOrgWithAdmin(t, 'fatigue-other');
  const ci3 = await newDevice(admin, 'ci-3');
  const foreignDevice = await newDevice(foreign, 'ci-3');

  T0 = t.clock.now();
  // Low: allowed by the default policy, never asked.
  ids.P1 = await create(ci3, { action: { type: 'shell.exec', target: 'npm test' } });
  ids.P2 = await create(ci3, { action: { type: 'shell.exec', target: 'npm  test' } });
  const payload = { kind: 'text', content: 'rm -r tmp/cache' };
  for (const n of [1, 2, 3, 4, 5])
    ids[`N${n}`] = await create(ci3, { action: { type: 'file.delete', target: 'tmp/cache' }, payload });
  ids.D1 = await create(ci3, { action: { type: 'deploy', target: 'prod' } });
  ids.E1 = await create(ci3, { action: { type: 'file.delete', target: 'tmp/other' }, timeout_s: 30 });
  // Another org's handoffs, decided by its admin: they never count for this org.
  foreignHandoff = await create(foreignDevice, { action: { type: 'deploy', target: 'staging' }, payload });
  // Approved by m1 2 s after the escalation, without opening them: a noisy action.
  for (const n of [1, 2, 3, 4, 5])
    ids[`Q${n}`] = await create(ci3, { action: { type: 'deploy', target: 'staging' } });
  const escalated = Object.entries(ids).filter(([k]) => !k.startsWith('P'));
  await attemptsRecorded([...escalated.map(([, id]) => id), foreignHandoff]);

  at(2);
  for (const n of [1, 2, 3, 4, 5]) await decide(m1, ids[`Q${n}`]!, 'approve');

  at(10);
  await view(m1, ids.N1!, 'omit');
  await view(m1, ids.N2!, 'omit');
  await view(foreign, foreignHandoff, 'include');
  at(12);
  await decide(m1, ids.N1!, 'approve');
  await decide(m1, ids.N2!, 'approve');
  await decide(foreign, foreignHandoff, 'approve');
  at(20);
  await view(m1, ids.N3!, 'include');
  at(29);
  await view(m1, ids.N3!, 'include'); // a second view: the first one (at 20) stays
  at(30);
  await decide(m1, ids.N3!, 'approve');
  at(40);
  await view(m1, ids.N4!, 'omit');
  at(41);
  expect((await as(t, m1, 'GET', `/v1/handoffs/${ids.N4}/payload`)).json()).toEqual(payload);
  at(43);
  await decide(m1, ids.N4!, 'approve');
  await decide(m2, ids.N5!, 'approve');
  at(50);
  await view(m2, ids.D1!, 'include');
  at(100);
  await decide(m2, ids.D1!, 'deny');
  expect((await as(t, admin, 'GET', `/v1/handoffs/${ids.E1}`)).json<{ status: string }>().status).toBe(
    'expired',
  );
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const rubber = (
  opened: number,
  fast: number,
  fastRate: number | null,
  withPayload: number,
  unopened: number,
  unopenedRate: number | null,
) => ({
  approvals_opened_first: opened,
  approved_within_5s_of_opening: fast,
  fast_after_opening_rate: fastRate,
  approvals_with_payload: withPayload,
  approved_payload_never_expanded: unopened,
  payload_never_expanded_rate: unopenedRate,
});
const noPeople = {
  decisions: 0,
  approvals: 0,
  denials: 0,
  decision_seconds: { median: null, p90: null },
  rubber_stamp: rubber(0, 0, null, 0, 0, null),
};

describe('GET /v1/admin/insights', () => {
  it('answers the exact numbers of the seeded decisions', async () => {
    const res = await insights(admin);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<Record<string, unknown>>();
    expect(body.window).toEqual({
      from: new Date(T0.getTime() - 3600_000).toISOString(),
      to: new Date(T0.getTime() + 3600_000).toISOString(),
    });
    expect(body.per_person).toBe(true);
    expect(body.totals).toEqual({
      handoffs: 14,
      approved: 12,
      denied: 1,
      expired: 1,
      cancelled: 0,
      pending: 0,
      allowed_by_policy: 2,
      decided_by_people: 11,
      expiry_rate: 0.0714,
      deny_rate: 0.0769,
      policy_allowed_share: 0.1429,
      decision_seconds: { median: 12, p90: 43 },
      people: {
        decisions: 11,
        approvals: 10,
        denials: 1,
        decision_seconds: { median: 12, p90: 43 },
        rubber_stamp: rubber(4, 3, 0.75, 5, 3, 0.6),
      },
      channels: [
        { channel: 'web', decisions: 11 },
        { channel: 'policy', decisions: 2 },
      ],
    });
    expect(body.by_risk_level).toEqual([
      {
        risk_level: 'low',
        handoffs: 2,
        approved: 2,
        denied: 0,
        expired: 0,
        cancelled: 0,
        pending: 0,
        allowed_by_policy: 2,
        decided_by_people: 0,
        expiry_rate: 0,
        deny_rate: 0,
        policy_allowed_share: 1,
        decision_seconds: { median: null, p90: null },
        people: noPeople,
      },
      {
        risk_level: 'medium',
        handoffs: 6,
        approved: 5,
        denied: 0,
        expired: 1,
        cancelled: 0,
        pending: 0,
        allowed_by_policy: 0,
        decided_by_people: 5,
        expiry_rate: 0.1667,
        deny_rate: 0,
        policy_allowed_share: 0,
        decision_seconds: { median: 2, p90: 2 },
        people: {
          decisions: 5,
          approvals: 5,
          denials: 0,
          decision_seconds: { median: 2, p90: 2 },
          rubber_stamp: rubber(0, 0, null, 0, 0, null),
        },
      },
      {
        // The payload's `rm -r` makes the N handoffs high.
        risk_level: 'high',
        handoffs: 6,
        approved: 5,
        denied: 1,
        expired: 0,
        cancelled: 0,
        pending: 0,
        allowed_by_policy: 0,
        decided_by_people: 6,
        expiry_rate: 0,
        deny_rate: 0.1667,
        policy_allowed_share: 0,
        decision_seconds: { median: 36.5, p90: 71.5 },
        people: {
          decisions: 6,
          approvals: 5,
          denials: 1,
          decision_seconds: { median: 36.5, p90: 71.5 },
          rubber_stamp: rubber(4, 3, 0.75, 5, 3, 0.6),
        },
      },
    ]);
    const byAction = body.by_action_type as { action_type: string }[];
    expect(byAction.map((a) => a.action_type)).toEqual(['deploy', 'file.delete', 'shell.exec']);
    expect(byAction[0]).toMatchObject({
      handoffs: 6,
      approved: 5,
      denied: 1,
      deny_rate: 0.1667,
      decision_seconds: { median: 2, p90: 51 },
    });
    expect(byAction[1]).toMatchObject({
      handoffs: 6,
      approved: 5,
      expired: 1,
      expiry_rate: 0.1667,
      decision_seconds: { median: 30, p90: 43 },
      people: { rubber_stamp: rubber(4, 3, 0.75, 5, 3, 0.6) },
    });
    expect(byAction[2]).toMatchObject({ handoffs: 2, allowed_by_policy: 2, policy_allowed_share: 1 });

    expect(body.by_approver).toEqual([
      {
        member_id: m1.memberId,
        name: 'm1',
        decisions: 9,
        approvals: 9,
        denials: 0,
        decision_seconds: { median: 2, p90: 32.6 },
        rubber_stamp: rubber(4, 3, 0.75, 4, 2, 0.5),
        channels: [{ channel: 'web', decisions: 9 }],
      },
      {
        member_id: m2.memberId,
        name: 'm2',
        decisions: 2,
        approvals: 1,
        denials: 1,
        decision_seconds: { median: 71.5, p90: 94.3 },
        rubber_stamp: rubber(0, 0, null, 1, 1, 1),
        channels: [{ channel: 'web', decisions: 2 }],
      },
    ]);
    expect(body.noisy_actions).toEqual({
      rule: { min_handoffs: 5, min_fast_share: 0.9, levels: ['low', 'medium'] },
      items: [
        {
          action_type: 'deploy',
          target: 'staging',
          device: { id: expect.any(String), name: 'ci-3' },
          handoffs: 5,
          approved_fast: 5,
          fast_share: 1,
          max_risk_level: 'medium',
          suggestion:
            '100% of `staging` (deploy) handoffs from device `ci-3` were approved within 5 s: allow by policy?',
          policy_link: '/admin/policy',
        },
      ],
    });
  });

  it('answers the same numbers from the daily rollups (whole days) as from the handoffs (partial days)', async () => {
    const asJson = async (query?: string) => {
      const res = await insights(admin, query);
      expect(res.statusCode, res.body).toBe(200);
      const { window: _window, ...rest } = res.json<Record<string, unknown>>();
      return rest;
    };
    // Within ±1 h: partial days, counted from the handoffs themselves.
    const raw = await asJson();
    // The request folded every finished handoff into the rollups; only pending ones stay unfolded.
    const { rows } = await sql<{ unfolded: number; pending: number; days: number }>`
      select count(*) filter (where not insights_folded)::int as unfolded,
        count(*) filter (where status = 'pending')::int as pending,
        (select count(*)::int from insight_handoff_days where org_id = ${admin.orgId}) as days
      from handoffs where org_id = ${admin.orgId}`.execute(t.database.db);
    expect(rows[0]!.unfolded).toBe(rows[0]!.pending);
    expect(rows[0]!.days).toBeGreaterThan(0);
    // Whole UTC days around T0: the finished handoffs are read from the rollups.
    const day = Math.floor(T0.getTime() / 86_400_000) * 86_400_000;
    const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const rolled = await asJson(`from=${date(day - 86_400_000)}&to=${date(day + 2 * 86_400_000)}`);
    expect(rolled).toEqual(raw);
  });

  it('folds each finished handoff exactly once, however many folds run at the same time', async () => {
    const org = await createOrgWithAdmin(t, 'fold-race');
    const token = (await as(t, org, 'POST', '/v1/admin/devices', { name: 'racer' })).json<{ token: string }>()
      .token;
    const made: string[] = [];
    for (let k = 0; k < 12; k++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/handoffs',
        headers: { authorization: `Bearer ${token}` },
        payload: { title: `race ${k}`, action: { type: 'file.delete', target: 'tmp/cache' } },
      });
      expect(res.statusCode, res.body).toBe(201);
      made.push(res.json<{ id: string }>().id);
    }
    for (const id of made.slice(0, 9)) await decide(org, id, id === made[0] ? 'deny' : 'approve');
    // Three folds of at most 2 handoffs each, at once, until none folds any more.
    let total = 0;
    for (;;) {
      const n = await Promise.all(
        [1, 2, 3].map(() => withTenant(t.database.db, org.orgId, (tx) => foldFinished(tx, 2))),
      );
      total += n.reduce((a, b) => a + b, 0);
      if (n.every((x) => x === 0)) break;
    }
    expect(total).toBe(9);
    const { rows } = await sql<{ handoffs: number; approved: number; denied: number }>`
      select sum(handoffs)::int as handoffs, sum(approved)::int as approved, sum(denied)::int as denied
      from insight_handoff_days where org_id = ${org.orgId}`.execute(t.database.db);
    expect(rows[0]).toEqual({ handoffs: 9, approved: 8, denied: 1 });

    // The hourly job folds what finished since (every org), and queues its next run.
    await decide(org, made[9]!, 'approve');
    await t.container.insights.foldJob();
    const after = await sql<{ unfolded: number; handoffs: number }>`
      select (select count(*)::int from handoffs where org_id = ${org.orgId} and not insights_folded) as unfolded,
        (select sum(handoffs)::int from insight_handoff_days where org_id = ${org.orgId}) as handoffs`.execute(
      t.database.db,
    );
    expect(after.rows[0]).toEqual({ unfolded: 2, handoffs: 10 });
  });

  it('records the first view and the first payload fetch once, and nothing when the payload is omitted', async () => {
    const { rows } = await sql<{ h: string; m: string; v: Date; p: Date | null }>`
      select handoff_id as h, member_id as m, first_viewed_at as v, payload_expanded_at as p
      from handoff_views where handoff_id in (${ids.N1!}, ${ids.N3!}, ${ids.N4!})`.execute(t.database.db);
    const s = (d: Date | null) => (d === null ? null : (d.getTime() - T0.getTime()) / 1000);
    expect(rows.map((r) => [r.h, r.m, s(r.v), s(r.p)]).sort()).toEqual(
      [
        [ids.N1, m1.memberId, 10, null],
        [ids.N3, m1.memberId, 20, 20],
        [ids.N4, m1.memberId, 40, 41],
      ].sort(),
    );
  });

  it('gives members and viewers the org numbers without any per-person row', async () => {
    const full = (await insights(admin)).json<Record<string, unknown>>();
    for (const who of [m1, viewer]) {
      const res = await insights(who);
      expect(res.statusCode).toBe(200);
      const body = res.json<Record<string, unknown>>();
      expect(body.per_person).toBe(false);
      expect(body.by_approver).toBeNull();
      expect(body.totals).toEqual(full.totals);
      expect(body.by_risk_level).toEqual(full.by_risk_level);
      expect(JSON.stringify(body)).not.toContain(m1.memberId);
      expect(JSON.stringify(body)).not.toContain(m2.memberId);
    }
  });

  it("never counts another org's handoffs, and gives a foreign org nothing of this one", async () => {
    const res = await insights(foreign);
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      totals: { handoffs: number; approved: number };
      by_approver: { member_id: string }[];
    }>();
    expect(body.totals).toMatchObject({ handoffs: 1, approved: 1 });
    expect(body.by_approver.map((a) => a.member_id)).toEqual([foreign.memberId]);
    // A foreign member opening this org's handoff gets 404 and leaves no view behind.
    expect((await as(t, foreign, 'GET', `/v1/handoffs/${ids.N5}/detail`)).statusCode).toBe(404);
    expect((await as(t, foreign, 'GET', `/v1/handoffs/${ids.N5}/payload`)).statusCode).toBe(404);
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from handoff_views where handoff_id = ${ids.N5!}`.execute(t.database.db);
    expect(rows[0]!.n).toBe(0);
  });

  it('answers 400 with a clear message for a bad window, and 401 without a session', async () => {
    const cases: [string, RegExp][] = [
      [`from=${iso(10)}&to=${iso(0)}`, /from .* must be before to/],
      [`from=${iso(0)}&to=${iso(0)}`, /must be before to/],
      ['from=yesterday', /from must be an ISO 8601 date/],
      ['to=2026-13-45', /to is not a real date|to must be an ISO/],
      ['from=2026-02-31&to=2026-03-05', /from is not a real date/],
      ['from=2025-01-01&to=2026-06-01', /longer than 366 days/],
      ['since=2026-01-01', /since|additional/i],
    ];
    for (const [q, message] of cases) {
      const res = await insights(admin, q);
      expect(res.statusCode, q).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json<{ detail: string }>().detail, q).toMatch(message);
    }
    expect((await t.app.inject({ method: 'GET', url: '/v1/admin/insights' })).statusCode).toBe(401);
  });

  it('defaults to the last 30 days', async () => {
    const res = await insights(admin, '');
    expect(res.statusCode).toBe(200);
    const w = res.json<{ window: { from: string; to: string } }>().window;
    expect(Date.parse(w.to) - Date.parse(w.from)).toBe(30 * 86_400_000);
    expect(w.to).toBe(t.clock.now().toISOString());
  });
});
