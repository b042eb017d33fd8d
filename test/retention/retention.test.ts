/**
 * Payload retention (issue #10 item 1): the admin setting, the batched sweep (pending handoffs never
 * swept, metadata, decision and audit chain kept, one retention.swept entry per org), the handoff
 * view's "removed by retention" field, retention 0, and the daily job's schedule.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { createRetentionService, nextSweepAt } from '../../src/features/retention/retention.service.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  login,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

let t: TestServer;
let admin: Actor;
let other: Actor;
let token: string;
let otherToken: string;
const DAY = 86_400_000;
const MARKER = 'payload-marker-3b7c';

async function newDevice(actor: Actor) {
  const r = await as(t, actor, 'POST', '/v1/admin/devices', { name: 'agent' });
  return r.json<{ token: string }>().token;
}

async function create(tok: string, withPayload = true) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${tok}` },
    payload: {
      action: { type: 'db.migrate', target: 'prod' },
      title: 'migrate the thing',
      summary: 'schema change',
      ...(withPayload && { payload: { kind: 'diff', content: `${MARKER} ALTER TABLE x` } }),
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; status: string }>();
}

async function decide(id: string) {
  const res = await as(t, admin, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'deny' });
  expect(res.statusCode, res.body).toBe(200);
}

/** Moves the clock on; sessions idle out meanwhile, so the admin signs in again. */
async function advance(ms: number) {
  t.clock.advance(ms);
  admin = await login(t, 'admin@keep.test');
}

const payloadRows = async (orgId: string) =>
  (
    await sql<{
      handoff_id: string;
    }>`select handoff_id from handoff_payloads where org_id = ${orgId}`.execute(t.database.db)
  ).rows.map((r) => r.handoff_id);

const auditActions = async (orgId: string, action: string) =>
  (
    await sql<{
      meta: Record<string, unknown>;
    }>`select meta from audit_events where org_id = ${orgId} and action = ${action} order by seq`.execute(
      t.database.db,
    )
  ).rows.map((r) => r.meta);

beforeAll(async () => {
  t = await startTestServer();
  admin = await createOrgWithAdmin(t, 'keep');
  other = await createOrgWithAdmin(t, 'other');
  token = await newDevice(admin);
  otherToken = await newDevice(other);
});
afterAll(async () => t?.close());

describe('the retention setting', () => {
  it('defaults to 30 days; admins change it (audited); bad values are 422 and change nothing', async () => {
    const get = await as(t, admin, 'GET', '/v1/admin/retention');
    expect(get.statusCode).toBe(200);
    expect(get.json()).toEqual({ payload_retention_days: 30 });
    for (const bad of [-1, 366, 1.5, '7', null]) {
      const r = await as(t, admin, 'PUT', '/v1/admin/retention', { payload_retention_days: bad });
      expect(r.statusCode, String(bad)).toBe(422);
    }
    const missing = await as(t, admin, 'PUT', '/v1/admin/retention', {});
    expect(missing.statusCode).toBe(400);
    expect((await as(t, admin, 'GET', '/v1/admin/retention')).json()).toEqual({ payload_retention_days: 30 });
    expect(await auditActions(admin.orgId, 'retention.updated')).toEqual([]);

    const ok = await as(t, admin, 'PUT', '/v1/admin/retention', { payload_retention_days: 7 });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ payload_retention_days: 7 });
    expect(await auditActions(admin.orgId, 'retention.updated')).toEqual([{ from_days: 30, to_days: 7 }]);
  });

  it('is 403 for members and viewers', async () => {
    const member = await addMember(t, admin, 'm@keep.test', 'member');
    const viewer = await addMember(t, admin, 'v@keep.test', 'viewer');
    for (const who of [member, viewer]) {
      const r = await as(t, who, 'PUT', '/v1/admin/retention', { payload_retention_days: 1 });
      expect(r.statusCode).toBe(403);
    }
    expect((await as(t, viewer, 'GET', '/v1/admin/retention')).json()).toEqual({ payload_retention_days: 7 });
  });
});

describe('the sweep', () => {
  it('removes only due payloads of decided/expired handoffs, keeps the rest, and the chain still verifies', async () => {
    const decidedOld = await create(token);
    await decide(decidedOld.id);
    const pendingOld = await create(token);
    const noPayload = await create(token, false);
    await decide(noPayload.id);
    const otherOrgOld = await create(otherToken);
    await advance(8 * DAY);
    const decidedNew = await create(token);
    await decide(decidedNew.id);
    // Still pending in the database (its expiry job has not run; reading it through the API would expire it).
    const st = await sql<{
      status: string;
    }>`select status from handoffs where id = ${pendingOld.id}`.execute(t.database.db);
    expect(st.rows[0]!.status).toBe('pending');

    // Dry run: counts, deletes nothing, appends nothing.
    const dry = await t.container.retention.run({ orgId: admin.orgId, dryRun: true });
    expect(dry).toMatchObject([{ orgId: admin.orgId, retentionDays: 7, removed: 1, batches: 0 }]);
    expect((await payloadRows(admin.orgId)).sort()).toEqual(
      [decidedOld.id, pendingOld.id, decidedNew.id].sort(),
    );
    expect(await auditActions(admin.orgId, 'retention.swept')).toEqual([]);

    const [r] = await t.container.retention.run({ orgId: admin.orgId });
    expect(r).toMatchObject({ removed: 1, batches: 1 });
    expect((await payloadRows(admin.orgId)).sort()).toEqual([pendingOld.id, decidedNew.id].sort());
    // The other org was not in this run.
    expect(await payloadRows(other.orgId)).toEqual([otherOrgOld.id]);

    const view = (await as(t, admin, 'GET', `/v1/handoffs/${decidedOld.id}`)).json<{
      status: string;
      decision: { option: string } | null;
      payload: { status: string; removed_at: string; note: string };
    }>();
    const today = t.clock.now().toISOString().slice(0, 10);
    expect(view).toMatchObject({
      status: 'denied',
      decision: { option: 'deny' },
      payload: { status: 'removed', note: `payload removed by retention on ${today}` },
    });
    expect((await as(t, admin, 'GET', `/v1/handoffs/${pendingOld.id}`)).json()).toMatchObject({
      payload: { status: 'stored', removed_at: null },
    });
    expect((await as(t, admin, 'GET', `/v1/handoffs/${noPayload.id}`)).json()).toMatchObject({
      payload: { status: 'none' },
    });
    // The salted hash stays on the handoff (and in the chain).
    const kept = await sql<{
      payload_sha256: Buffer | null;
    }>`select payload_sha256 from handoffs where id = ${decidedOld.id}`.execute(t.database.db);
    expect(kept.rows[0]!.payload_sha256).not.toBeNull();

    const swept = await auditActions(admin.orgId, 'retention.swept');
    expect(swept).toEqual([{ retention_days: 7, cutoff: r!.cutoff.toISOString(), removed: 1, batches: 1 }]);
    expect(await t.container.audit.verify(admin.orgId)).toMatchObject({ ok: true });

    // Reading the old pending handoff above expired it: the next run sweeps it, and then nothing is due.
    const [again] = await t.container.retention.run({ orgId: admin.orgId });
    expect(again).toMatchObject({ removed: 1, batches: 1 });
    expect(await payloadRows(admin.orgId)).toEqual([decidedNew.id]);
    const [third] = await t.container.retention.run({ orgId: admin.orgId });
    expect(third).toMatchObject({ removed: 0, batches: 0 });
    expect(await auditActions(admin.orgId, 'retention.swept')).toHaveLength(3);

    // The whole-server run (the daily job's) covers every org; the other org keeps 30 days.
    const all = await t.container.retention.run();
    expect(all.map((x) => x.orgId).sort()).toEqual([admin.orgId, other.orgId].sort());
    expect(await payloadRows(other.orgId)).toEqual([otherOrgOld.id]);
    expect(await t.container.audit.verify(other.orgId)).toMatchObject({ ok: true });
  });

  it('works in batches, each its own short transaction', async () => {
    const small = createRetentionService({
      db: t.database.db,
      clock: t.clock,
      logger: createLogger('silent'),
      jobs: { send: () => Promise.resolve(null) },
      batchSize: 2,
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const h = await create(token);
      await decide(h.id);
      ids.push(h.id);
    }
    await advance(8 * DAY);
    const [dry] = await small.run({ orgId: admin.orgId, dryRun: true });
    expect(dry!.removed).toBeGreaterThanOrEqual(5);
    const [r] = await small.run({ orgId: admin.orgId });
    expect(r).toMatchObject({ removed: dry!.removed, batches: Math.ceil(dry!.removed / 2) });
    for (const id of ids) expect(await payloadRows(admin.orgId)).not.toContain(id);
    expect(await t.container.audit.verify(admin.orgId)).toMatchObject({ ok: true });
  });

  it('an unknown org is 404', async () => {
    await expect(
      t.container.retention.run({ orgId: '00000000-0000-4000-8000-000000000000' }),
    ).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('retention 0', () => {
  it('never stores the payload; the agent still gets a decision and the view says so', async () => {
    expect((await as(t, admin, 'PUT', '/v1/admin/retention', { payload_retention_days: 0 })).statusCode).toBe(
      200,
    );
    const h = await create(token);
    expect(await payloadRows(admin.orgId)).not.toContain(h.id);
    const view = (await as(t, admin, 'GET', `/v1/handoffs/${h.id}`)).json<{
      payload: { status: string; note: string };
    }>();
    expect(view.payload.status).toBe('not_stored');
    expect(view.payload.note).toContain('retention 0 days');
    await decide(h.id);
    expect((await as(t, admin, 'GET', `/v1/handoffs/${h.id}`)).json()).toMatchObject({ status: 'denied' });
    // Nothing in the database holds the payload text.
    const hit = await sql<{ n: number }>`
      select count(*)::int as n from handoffs h where h.org_id = ${admin.orgId}
        and row_to_json(h)::text like ${'%' + MARKER + '%'}`.execute(t.database.db);
    expect(hit.rows[0]!.n).toBe(0);
  });
});

describe('the daily job', () => {
  it('is scheduled at start-up for the next 03:00 UTC, once per day however often it is asked', async () => {
    const jobs = async () =>
      (
        await sql<{
          start_after: Date;
        }>`select start_after from pgboss.job where name = 'retention-sweep' order by start_after`.execute(
          t.database.db,
        )
      ).rows.map((r) => r.start_after.toISOString());
    const before = await jobs();
    expect(before.length).toBeGreaterThanOrEqual(1);
    for (const at of before) expect(at).toMatch(/T03:00:00\.000Z$/);
    await t.container.retention.scheduleNext();
    await t.container.retention.scheduleNext();
    const after = await jobs();
    expect(after).toContain(nextSweepAt(t.clock.now()).toISOString());
    expect(after.length).toBeLessThanOrEqual(before.length + 1);
  });

  it('nextSweepAt picks today 03:00 UTC before it, tomorrow after', () => {
    expect(nextSweepAt(new Date('2026-05-01T02:59:00Z')).toISOString()).toBe('2026-05-01T03:00:00.000Z');
    expect(nextSweepAt(new Date('2026-05-01T03:00:00Z')).toISOString()).toBe('2026-05-02T03:00:00.000Z');
    expect(nextSweepAt(new Date('2026-12-31T23:00:00Z')).toISOString()).toBe('2027-01-01T03:00:00.000Z');
  });
});
