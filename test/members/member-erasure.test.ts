/**
 * Member deletion (issue #10 item 3): the person is erased from every table (found through the
 * catalog, so a table a later migration adds is checked too), the member id stays as a pseudonym so
 * decisions and the audit chain stay intact and verifiable, `member.erased` is appended; a member can
 * delete themselves; the last admin cannot be deleted; bad calls change nothing.
 */
import { sql } from 'kysely';
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
let otherAdmin: Actor;
let token: string;

const EMAIL = 'zelda.erase@gone.test';
const PHONE = '+14155550199';
const SLACK_ID = 'T0ERASE:U0ZELDA';
const TG_ID = '777000111';
const SUBJECT = 'oidc-subject-zelda-42';

/** Every (table, row text) of the org's rows, in every table with an org_id column (from the catalog). */
async function orgRowsContaining(orgId: string, needles: readonly string[]) {
  const db = t.database.db;
  const tables = (
    await sql<{ table_name: string }>`
      select c.table_name from information_schema.columns c
      join information_schema.tables tb on tb.table_schema = c.table_schema and tb.table_name = c.table_name
      where c.table_schema = 'public' and c.column_name = 'org_id' and tb.table_type = 'BASE TABLE'`.execute(
      db,
    )
  ).rows.map((r) => r.table_name);
  tables.push('orgs');
  expect(tables).toEqual(
    expect.arrayContaining(['members', 'sessions', 'channel_identities', 'mail_tokens']),
  );
  const hits: string[] = [];
  for (const table of tables) {
    const key = table === 'orgs' ? 'id' : 'org_id';
    const { rows } = await sql<{ t: string }>`
      select row_to_json(x)::text as t from ${sql.table(table)} x where ${sql.ref(key)} = ${orgId}`.execute(
      db,
    );
    for (const r of rows)
      for (const n of needles) if (r.t.toLowerCase().includes(n.toLowerCase())) hits.push(`${table}: ${n}`);
  }
  // Jobs that name the org (mail, escalation) must not carry the person either.
  const jobs = await sql<{ t: string }>`
    select data::text as t from pgboss.job where data::text like ${'%' + orgId + '%'}`.execute(db);
  for (const r of jobs.rows)
    for (const n of needles) if (r.t.toLowerCase().includes(n.toLowerCase())) hits.push(`pgboss.job: ${n}`);
  return hits;
}

const auditOf = async (orgId: string, action: string) =>
  (
    await sql<{
      actor_id: string | null;
      subject_id: string;
      meta: Record<string, unknown>;
    }>`select actor_id, subject_id, meta from audit_events where org_id = ${orgId} and action = ${action} order by seq`.execute(
      t.database.db,
    )
  ).rows;

beforeAll(async () => {
  t = await startTestServer();
  admin = await createOrgWithAdmin(t, 'erasing');
  otherAdmin = await createOrgWithAdmin(t, 'elsewhere');
  const d = await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' });
  token = d.json<{ token: string }>().token;
});
afterAll(async () => t?.close());

describe('delete member', () => {
  it('erases the person everywhere, keeps the pseudonymous id, the decision and a verifiable chain', async () => {
    const zelda = await addMember(t, admin, EMAIL, 'member');
    expect((await as(t, zelda, 'PATCH', '/v1/me', { name: 'Zelda Quux', phone: PHONE })).statusCode).toBe(
      200,
    );
    const db = t.database.db;
    const now = new Date();
    // What the person accumulates through the other features, written directly (those flows have their own tests).
    await sql`insert into channel_identities (org_id, member_id, channel, external_id, label, created_at) values
      (${admin.orgId}, ${zelda.memberId}, 'slack', ${SLACK_ID}, 'zelda.q', ${now}),
      (${admin.orgId}, ${zelda.memberId}, 'telegram', ${TG_ID}, '@zeldaq', ${now})`.execute(db);
    await sql`insert into sso_identities (org_id, member_id, issuer, subject, created_at)
      values (${admin.orgId}, ${zelda.memberId}, 'https://idp.test', ${SUBJECT}, ${now})`.execute(db);
    await sql`insert into mail_tokens (org_id, member_id, purpose, token_hash, new_email, created_at, expires_at)
      values (${admin.orgId}, ${zelda.memberId}, 'email_change', ${Buffer.alloc(32, 7)}, 'zelda.new@gone.test', ${now}, ${now})`.execute(
      db,
    );
    await sql`insert into recovery_codes (org_id, member_id, code_hash) values (${admin.orgId}, ${zelda.memberId}, ${Buffer.alloc(32, 8)})`.execute(
      db,
    );
    await sql`update members set totp_secret_enc = ${Buffer.alloc(40, 9)}, totp_enabled_at = ${now} where id = ${zelda.memberId}`.execute(
      db,
    );
    // A second, still open invite to the same address (e.g. sent again), and one the person made.
    await as(t, admin, 'POST', '/v1/admin/invites', { email: 'friend.of.zelda@other.test', role: 'viewer' });

    // Zelda decides a handoff.
    const h = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/handoffs',
        headers: { authorization: `Bearer ${token}` },
        payload: { action: { type: 'db.migrate', target: 'prod' }, title: 'migrate', summary: 'x' },
      })
    ).json<{ id: string }>();
    // The escalation's direct message to them (a Telegram private chat's id is the person's id).
    await sql`insert into channel_messages (org_id, handoff_id, channel, member_id, ref, created_at)
      values (${admin.orgId}, ${h.id}, 'telegram', ${zelda.memberId}, ${TG_ID + ':42'}, ${now})`.execute(db);
    const decided = await as(t, zelda, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'deny' });
    expect(decided.statusCode, decided.body).toBe(200);

    const needles = [
      EMAIL,
      'Zelda Quux',
      PHONE,
      PHONE.slice(-4) + '"',
      SLACK_ID,
      TG_ID,
      SUBJECT,
      'zelda.new@gone.test',
      '@zeldaq',
    ];
    expect((await orgRowsContaining(admin.orgId, needles)).length).toBeGreaterThan(5);

    const res = await as(t, admin, 'DELETE', `/v1/admin/members/${zelda.memberId}`);
    expect(res.statusCode, res.body).toBe(204);

    expect(await orgRowsContaining(admin.orgId, needles)).toEqual([]);
    // Sessions are gone: the old cookie no longer works.
    expect((await as(t, zelda, 'GET', '/v1/me')).statusCode).toBe(401);
    // The id stays as a pseudonym; the decision still names it.
    const list = (await as(t, admin, 'GET', '/v1/admin/members')).json<
      { id: string; name: string; status: string }[]
    >();
    expect(list.find((m) => m.id === zelda.memberId)).toMatchObject({
      name: 'Erased member',
      status: 'deactivated',
    });
    expect((await as(t, admin, 'GET', `/v1/handoffs/${h.id}`)).json()).toMatchObject({
      status: 'denied',
      decision: { option: 'deny', decided_by: { member_id: zelda.memberId, name: 'Erased member' } },
    });
    const row = await sql<{
      erased_at: Date | null;
      password_hash: string | null;
      totp_secret_enc: Buffer | null;
    }>`
      select erased_at, password_hash, totp_secret_enc from members where id = ${zelda.memberId}`.execute(db);
    expect(row.rows[0]).toMatchObject({ password_hash: null, totp_secret_enc: null });
    expect(row.rows[0]!.erased_at).not.toBeNull();

    expect(await auditOf(admin.orgId, 'member.erased')).toEqual([
      { actor_id: admin.memberId, subject_id: zelda.memberId, meta: { self: false } },
    ]);
    expect(await t.container.audit.verify(admin.orgId)).toMatchObject({ ok: true });

    // The address is free again: the person can be invited anew (a new member id).
    expect(
      (await as(t, admin, 'POST', '/v1/admin/invites', { email: EMAIL, role: 'member' })).statusCode,
    ).toBe(201);
  });

  it('a member deletes themselves; their cookie is cleared', async () => {
    const sam = await addMember(t, admin, 'sam@erasing.test', 'member');
    const res = await as(t, sam, 'DELETE', '/v1/me');
    expect(res.statusCode, res.body).toBe(204);
    expect(res.headers['set-cookie']).toMatch(/ony_session=;/);
    expect((await as(t, sam, 'GET', '/v1/me')).statusCode).toBe(401);
    expect((await auditOf(admin.orgId, 'member.erased')).at(-1)).toEqual({
      actor_id: sam.memberId,
      subject_id: sam.memberId,
      meta: { self: true },
    });
  });
});

describe('bad calls change nothing', () => {
  it('members and viewers cannot delete others (403); unknown, erased or other-org ids are 404', async () => {
    const member = await addMember(t, admin, 'mo@erasing.test', 'member');
    const viewer = await addMember(t, admin, 'vi@erasing.test', 'viewer');
    const target = await addMember(t, admin, 'ta@erasing.test', 'member');
    const before = (await auditOf(admin.orgId, 'member.erased')).length;
    for (const who of [member, viewer]) {
      expect((await as(t, who, 'DELETE', `/v1/admin/members/${target.memberId}`)).statusCode).toBe(403);
    }
    expect((await as(t, otherAdmin, 'DELETE', `/v1/admin/members/${target.memberId}`)).statusCode).toBe(404);
    expect(
      (await as(t, admin, 'DELETE', '/v1/admin/members/00000000-0000-4000-8000-000000000000')).statusCode,
    ).toBe(404);
    expect((await as(t, target, 'GET', '/v1/me')).json()).toMatchObject({ email: 'ta@erasing.test' });
    expect((await auditOf(admin.orgId, 'member.erased')).length).toBe(before);

    expect((await as(t, admin, 'DELETE', `/v1/admin/members/${target.memberId}`)).statusCode).toBe(204);
    expect((await as(t, admin, 'DELETE', `/v1/admin/members/${target.memberId}`)).statusCode).toBe(404);
    // An erased member is only a pseudonym: it cannot be reactivated, re-roled or TOTP-reset.
    for (const [method, url, body] of [
      ['POST', `/v1/admin/members/${target.memberId}/reactivate`, undefined],
      ['PATCH', `/v1/admin/members/${target.memberId}`, { role: 'admin' }],
      ['POST', `/v1/admin/members/${target.memberId}/totp-reset`, undefined],
    ] as const) {
      expect((await as(t, admin, method, url, body)).statusCode, url).toBe(404);
    }
    const still = await sql<{ status: string; role: string }>`
      select status, role from members where id = ${target.memberId}`.execute(t.database.db);
    expect(still.rows[0]).toEqual({ status: 'deactivated', role: 'member' });
    expect((await auditOf(admin.orgId, 'member.erased')).length).toBe(before + 1);
  });

  it('the last admin cannot be deleted, by another or by themselves (409); with a second admin they can', async () => {
    const before = (await auditOf(otherAdmin.orgId, 'member.erased')).length;
    const self = await as(t, otherAdmin, 'DELETE', '/v1/me');
    expect(self.statusCode).toBe(409);
    expect(self.json()).toMatchObject({ code: 'last_admin' });
    expect((await as(t, otherAdmin, 'DELETE', `/v1/admin/members/${otherAdmin.memberId}`)).statusCode).toBe(
      409,
    );
    expect((await as(t, otherAdmin, 'GET', '/v1/me')).statusCode).toBe(200);
    expect((await auditOf(otherAdmin.orgId, 'member.erased')).length).toBe(before);

    const second = await addMember(t, otherAdmin, 'second@elsewhere.test', 'admin');
    expect((await as(t, second, 'DELETE', `/v1/admin/members/${otherAdmin.memberId}`)).statusCode).toBe(204);
    expect((await as(t, second, 'DELETE', '/v1/me')).statusCode).toBe(409);
  });
});
