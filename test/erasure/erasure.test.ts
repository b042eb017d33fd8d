/**
 * Org erasure (docs/erasure.md): scheduling with password + TOTP + the org name typed back, the
 * 30-day grace and its cancellation, the job that erases, and the proof: after erasure no table of
 * the schema (enumerated from the catalog) holds a row with the org's id, no job names it, a
 * tombstone is left, and the other org is untouched and its chain still verifies.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../src/db/schema.js';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOwner, withTenant } from '../../src/db/client.js';
import { readLedger } from '../../src/features/backup/erasure-ledger.js';
import { sha256 } from '../../src/lib/crypto.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  PASSWORD,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

let t: TestServer;
let admin: Actor;
let admin2: Actor;
let member: Actor;
let viewer: Actor;
let kept: Actor;
let totpSecret: string;
let ledgerDir: string;
const DAY = 24 * 60 * 60 * 1000;

const totp = () => {
  t.clock.advance(31_000); // a fresh step each time (a used step is refused)
  return generateSync({ secret: totpSecret, epoch: Math.floor(t.clock.now().getTime() / 1000) });
};

async function newDevice(actor: Actor) {
  const r = (await as(t, actor, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>();
  return r.token;
}

async function createHandoff(token: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${token}` },
    payload: {
      action: { type: 'deploy', target: 'prod' },
      title: 'deploy',
      summary: 'routine',
      payload: { kind: 'text', content: 'the secret payload' },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
}

/** Every table of the schema with an org_id column, from the catalog. */
async function tablesWithOrgId(db: Kysely<DB>): Promise<string[]> {
  const r = await sql<{ t: string }>`
    select c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped
    where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1`.execute(db);
  return r.rows.map((x) => x.t);
}

/**
 * Rows of the org in every table, counted as the connection's own role (superuser in tests, so
 * row-level security hides nothing: the count cannot miss a row the owner role would not see).
 */
async function rowsOf(orgId: string): Promise<Record<string, number>> {
  const db = t.database.db;
  const role = await sql<{ sees_all: boolean }>`
    select rolsuper or rolbypassrls as sees_all from pg_roles where rolname = current_user`.execute(db);
  expect(role.rows[0]!.sees_all).toBe(true);
  const out: Record<string, number> = {};
  for (const table of await tablesWithOrgId(db)) {
    const r = await sql<{
      n: number;
    }>`select count(*)::int as n from ${sql.table(table)} where org_id = ${orgId}`.execute(db);
    out[table] = r.rows[0]!.n;
  }
  out.orgs = (
    await sql<{ n: number }>`select count(*)::int as n from orgs where id = ${orgId}`.execute(db)
  ).rows[0]!.n;
  return out;
}

const jobsNaming = async (orgId: string) =>
  (
    await sql<{ n: number }>`select (select count(*) from pgboss.job where strpos(data::text, ${orgId}) > 0)
      + (select count(*) from pgboss.archive where strpos(data::text, ${orgId}) > 0) as n`.execute(
      t.database.db,
    )
  ).rows[0]!.n;

const erasureRows = async (orgId: string) =>
  withOwner(t.database.db, async (tx) =>
    Number(
      (
        await sql<{ n: number }>`select count(*)::int as n from org_erasures where org_id = ${orgId}`.execute(
          tx,
        )
      ).rows[0]!.n,
    ),
  );

beforeAll(async () => {
  // Mail on (to a closed port: deliveries are recorded, sending just fails and retries).
  // The erasure ledger goes beside the backups (docs/backups.md): the job records there too.
  ledgerDir = await mkdtemp(join(tmpdir(), 'ony-erasure-ledger-'));
  t = await startTestServer({
    ONY_SMTP_URL: 'smtp://127.0.0.1:9',
    ONY_MAIL_FROM: 'ony <ony@ony.test>',
    ONY_BACKUP_DIR: ledgerDir,
  });
  admin = await createOrgWithAdmin(t, 'doomed');
  admin2 = await addMember(t, admin, 'second@doomed.test', 'admin');
  member = await addMember(t, admin, 'm@doomed.test', 'member');
  viewer = await addMember(t, admin, 'v@doomed.test', 'viewer');
  const start = await as(t, admin, 'POST', '/v1/me/totp');
  totpSecret = start.json<{ secret: string }>().secret;
  const confirm = await as(t, admin, 'POST', '/v1/me/totp/confirm', { code: totp() });
  expect(confirm.statusCode, confirm.body).toBe(200);
  await createHandoff(await newDevice(admin));
  kept = await createOrgWithAdmin(t, 'kept');
  await createHandoff(await newDevice(kept));
});
afterAll(async () => {
  await t?.close();
  await rm(ledgerDir, { recursive: true, force: true });
});

describe('scheduling an org erasure', () => {
  it('refuses bad requests with a clear error and changes nothing', async () => {
    const body = () => ({ password: PASSWORD, totp_code: totp(), org_name: 'doomed' });
    const cases: [Actor, () => Record<string, unknown>, number][] = [
      [member, body, 403],
      [viewer, body, 403],
      [admin, () => ({ password: PASSWORD, org_name: 'doomed' }), 403], // no TOTP
      [admin, () => ({ ...body(), totp_code: '000000' }), 403],
      [admin, () => ({ ...body(), password: 'wrong password entirely' }), 403],
      [admin, () => ({ ...body(), org_name: 'Doomed' }), 422],
      [admin, () => ({ ...body(), org_name: '' }), 400],
      [admin2, body, 403], // an admin without TOTP cannot
    ];
    for (const [actor, payload, status] of cases) {
      const sent = payload();
      const res = await as(t, actor, 'POST', '/v1/admin/org/erasure', sent);
      expect(res.statusCode, `${JSON.stringify(sent)} -> ${res.body}`).toBe(status);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    expect(await erasureRows(admin.orgId)).toBe(0);
    expect((await as(t, admin, 'GET', '/v1/admin/org/erasure')).json()).toEqual({ scheduled: null });
    expect((await as(t, member, 'GET', '/v1/admin/org/erasure')).statusCode).toBe(403);
  });

  it('schedules 30 days out, refuses a second, lets any admin cancel, and audits both', async () => {
    const now = t.clock.now();
    const code = totp();
    const res = await as(t, admin, 'POST', '/v1/admin/org/erasure', {
      password: PASSWORD,
      totp_code: code,
      org_name: 'doomed',
    });
    expect(res.statusCode, res.body).toBe(202);
    const e = res.json<{ id: string; erase_at: string }>();
    // Every active admin is mailed (recorded in the same transaction as the request).
    const mailed = await withTenant(t.database.db, admin.orgId, (tx) =>
      tx.db
        .selectFrom('mail_deliveries')
        .select('member_id')
        .where('kind', '=', 'erasure_scheduled')
        .execute(),
    );
    expect(mailed.map((m) => m.member_id).sort()).toEqual([admin.memberId, admin2.memberId].sort());
    expect(new Date(e.erase_at).getTime() - now.getTime()).toBeGreaterThanOrEqual(30 * DAY);
    expect(new Date(e.erase_at).getTime() - now.getTime()).toBeLessThan(30 * DAY + 60_000);
    // The used TOTP step is refused now (it was recorded with the request).
    const again = await as(t, admin, 'POST', '/v1/admin/org/erasure', {
      password: PASSWORD,
      totp_code: totp(),
      org_name: 'doomed',
    });
    expect(again.statusCode).toBe(409);
    expect(
      (await as(t, admin2, 'GET', '/v1/admin/org/erasure')).json<{ scheduled: { id: string } }>().scheduled
        .id,
    ).toBe(e.id);

    expect((await as(t, member, 'DELETE', '/v1/admin/org/erasure')).statusCode).toBe(403);
    expect((await as(t, admin2, 'DELETE', '/v1/admin/org/erasure')).statusCode).toBe(204);
    expect((await as(t, admin2, 'DELETE', '/v1/admin/org/erasure')).statusCode).toBe(404);
    expect((await as(t, admin, 'GET', '/v1/admin/org/erasure')).json()).toEqual({ scheduled: null });
    // The cancelled request's job does nothing even when run.
    await t.container.erasure.runJob({ org_id: admin.orgId, erasure_id: e.id });
    expect((await rowsOf(admin.orgId)).orgs).toBe(1);

    const actions = await withTenant(t.database.db, admin.orgId, async (tx) =>
      (await tx.db.selectFrom('audit_events').select('action').orderBy('seq').execute()).map((r) => r.action),
    );
    expect(actions).toContain('org.erasure_scheduled');
    expect(actions).toContain('org.erasure_cancelled');
  });
});

describe('the erasure', () => {
  it('the app role cannot run the eraser, and the chain stays append-only outside it', async () => {
    await expect(
      withTenant(t.database.db, admin.orgId, (tx) =>
        sql`select ony_erase_org(${admin.orgId}::uuid)`.execute(tx.db),
      ),
    ).rejects.toThrow(/permission denied/);
    await expect(
      withOwner(t.database.db, (tx) =>
        sql`delete from audit_events where org_id = ${admin.orgId}`.execute(tx),
      ),
    ).rejects.toThrow(/append-only/);
  });

  it('erases every row of the org when due, leaves a tombstone, and touches no other org', async () => {
    const res = await as(t, admin, 'POST', '/v1/admin/org/erasure', {
      password: PASSWORD,
      totp_code: totp(),
      org_name: 'doomed',
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json<{ id: string }>().id;
    // A table a later migration might add (a parent and a child, both with org_id): the eraser reads
    // the catalog, so it is covered without being named anywhere.
    await withOwner(t.database.db, async (tx) => {
      await sql`create table later_parent (org_id uuid not null references orgs (id), id int, primary key (org_id, id))`.execute(
        tx,
      );
      await sql`create table later_child (org_id uuid not null, parent int not null,
        foreign key (org_id, parent) references later_parent (org_id, id))`.execute(tx);
      for (const org of [admin.orgId, kept.orgId]) {
        await sql`insert into later_parent values (${org}, 1)`.execute(tx);
        await sql`insert into later_child values (${org}, 1)`.execute(tx);
      }
    });
    const before = await rowsOf(admin.orgId);
    expect(before.later_child).toBe(1);
    expect(before.handoff_payloads).toBe(1);
    expect(before.audit_events).toBeGreaterThan(5);
    expect(before.org_keys).toBe(1);
    expect(await jobsNaming(admin.orgId)).toBeGreaterThan(0);
    const keptBefore = await rowsOf(kept.orgId);
    const head = await withOwner(t.database.db, async (tx) =>
      tx
        .selectFrom('audit_heads')
        .select(['seq', 'hash'])
        .where('org_id', '=', admin.orgId)
        .executeTakeFirstOrThrow(),
    );

    // A table whose row-level security hides rows from the owner role stops the eraser (it would
    // look empty and keep the org's rows); nothing is erased.
    await withOwner(t.database.db, async (tx) => {
      await sql`create table hidden_rows (org_id uuid not null)`.execute(tx);
      await sql`alter table hidden_rows enable row level security`.execute(tx);
      await sql`alter table hidden_rows force row level security`.execute(tx);
    });
    await expect(t.container.erasure.eraseNow(admin.orgId)).rejects.toThrow(
      /row-level security hides rows of hidden_rows/,
    );
    expect(await rowsOf(admin.orgId)).toEqual({ ...before, hidden_rows: 0 });
    await withOwner(t.database.db, (tx) => sql`drop table hidden_rows`.execute(tx));

    // Not due yet: the job refuses (pg-boss retries later) and nothing is erased.
    await expect(t.container.erasure.runJob({ org_id: admin.orgId, erasure_id: id })).rejects.toThrow(
      /not due/,
    );
    expect((await rowsOf(admin.orgId)).orgs).toBe(1);

    t.clock.advance(30 * DAY + 1000);
    // The job runs on the runtime login, whose eraser also checks the due time by the database's
    // clock (a stolen runtime credential cannot erase early): that clock cannot be moved, so as the
    // owner the request is moved 31 days into the past instead.
    await expect(t.container.erasure.runJob({ org_id: admin.orgId, erasure_id: id })).rejects.toThrow(
      /is not due/,
    );
    expect((await rowsOf(admin.orgId)).orgs).toBe(1);
    await withOwner(t.database.db, (tx) =>
      sql`update org_erasures set requested_at = requested_at - interval '31 days',
            erase_at = erase_at - interval '31 days' where id = ${id}`.execute(tx),
    );
    await t.container.erasure.runJob({ org_id: admin.orgId, erasure_id: id });
    expect((await readLedger(ledgerDir)).map((e) => e.org_id)).toEqual([admin.orgId]);

    const after = await rowsOf(admin.orgId);
    const left = Object.entries(after).filter(([, n]) => n > 0);
    expect(left, `rows left: ${JSON.stringify(left)}`).toEqual([]);
    expect(Object.keys(after)).toEqual(
      expect.arrayContaining([
        'audit_events',
        'org_erasures',
        'handoffs',
        'members',
        'later_child',
        'mail_deliveries',
      ]),
    );
    expect(await jobsNaming(admin.orgId)).toBe(0);

    const tomb = await withOwner(t.database.db, async (tx) =>
      tx
        .selectFrom('org_tombstones')
        .selectAll()
        .where('org_id_sha256', '=', sha256(admin.orgId))
        .executeTakeFirst(),
    );
    expect(tomb).toBeDefined();
    expect(Number(tomb!.last_seq)).toBe(Number(head.seq));
    expect(Buffer.from(tomb!.last_hash).equals(Buffer.from(head.hash))).toBe(true);
    // The tombstone table is not the app's to read.
    await expect(
      withTenant(t.database.db, kept.orgId, (tx) => tx.db.selectFrom('org_tombstones').selectAll().execute()),
    ).rejects.toThrow(/permission denied/);

    expect(await rowsOf(kept.orgId)).toEqual(keptBefore);
    expect((await t.container.audit.verify(kept.orgId)).ok).toBe(true);
    // The erased admin's session is gone with the org.
    expect((await as(t, admin, 'GET', '/v1/admin/org/erasure')).statusCode).toBe(401);
    // Running it again (a retried job) is a no-op.
    await t.container.erasure.runJob({ org_id: admin.orgId, erasure_id: id });
  });
});
