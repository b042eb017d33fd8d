/**
 * The audit chain on a real database: what gets recorded, what never does, append-only for every
 * role, fail-closed appends, gap-free under concurrency, and tamper detection (done as the database
 * owner, bypassing the triggers, as an attacker with the keys to the database would).
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../src/db/client.js';
import type { DB } from '../../src/db/schema.js';
import { appendAudit } from '../../src/features/audit/audit.repository.js';
import { auditEvents, systemActor } from '../../src/core/audit-chain/events.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  login,
  PASSWORD,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

let t: TestServer;
let db: Kysely<DB>;
beforeAll(async () => {
  t = await startTestServer();
  db = t.database.db;
});
afterAll(async () => t?.close());

const actions = async (actor: Actor) =>
  (await as(t, actor, 'GET', '/v1/admin/audit?limit=500'))
    .json<{ entries: { seq: number; action: string }[] }>()
    .entries.map((e) => e.action)
    .reverse();

/** Runs SQL as the connecting (owner/superuser) role with the append-only triggers off: the attacker's view. */
async function tamper(statements: string[]): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql.raw('alter table audit_events disable trigger append_only').execute(tx);
    for (const s of statements) await sql.raw(s).execute(tx);
    await sql.raw('alter table audit_events enable always trigger append_only').execute(tx);
  });
}

async function orgWithEvents(slug: string, devices: number): Promise<Actor> {
  const admin = await createOrgWithAdmin(t, slug);
  for (let i = 0; i < devices; i++) await as(t, admin, 'POST', '/v1/admin/devices', { name: `d${i}` });
  return admin;
}

const verify = async (actor: Actor) =>
  (await as(t, actor, 'GET', '/v1/admin/audit/verify')).json<Record<string, unknown>>();

describe('what the chain records', () => {
  it('every state change of the foundation appends one event, in order, and the chain verifies', async () => {
    const admin = await createOrgWithAdmin(t, 'rec');
    const bob = await addMember(t, admin, 'bob@rec.test', 'member');
    await as(t, admin, 'PATCH', `/v1/admin/members/${bob.memberId}`, { role: 'viewer' });
    await as(t, admin, 'PATCH', `/v1/admin/members/${bob.memberId}`, { role: 'viewer' }); // no change, no event
    await as(t, admin, 'POST', `/v1/admin/members/${bob.memberId}/deactivate`);
    await as(t, admin, 'POST', `/v1/admin/members/${bob.memberId}/reactivate`);
    const inv = (
      await as(t, admin, 'POST', '/v1/admin/invites', { email: 'x@rec.test', role: 'viewer' })
    ).json<{ invite: { id: string } }>();
    await as(t, admin, 'DELETE', `/v1/admin/invites/${inv.invite.id}`);
    const dev = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'ci' })).json<{
      device: { id: string };
    }>();
    await as(t, admin, 'PATCH', `/v1/admin/devices/${dev.device.id}`, { name: 'ci-2' });
    await as(t, admin, 'DELETE', `/v1/admin/devices/${dev.device.id}`);
    const { secret } = (await as(t, admin, 'POST', '/v1/me/totp')).json<{ secret: string }>();
    await as(t, admin, 'POST', '/v1/me/totp/confirm', {
      code: generateSync({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) }),
    });
    t.clock.advance(60_000);
    await as(t, admin, 'POST', '/v1/me/totp/disable', {
      totp_code: generateSync({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) }),
    });
    await as(t, admin, 'POST', `/v1/admin/members/${bob.memberId}/totp-reset`);
    await as(t, admin, 'PATCH', '/v1/me', { phone: '+14155550199' });
    await as(t, admin, 'POST', '/v1/me/password', {
      current_password: PASSWORD,
      new_password: 'another long password',
    });
    expect(await actions(admin)).toEqual([
      'org.created',
      'member.created',
      'member.invited',
      'invite.accepted',
      'member.role_changed',
      'member.deactivated',
      'member.reactivated',
      'member.invited',
      'invite.revoked',
      'device.created',
      'device.renamed',
      'device.revoked',
      'member.totp_enrolled',
      'member.totp_disabled',
      'member.totp_reset',
      'member.profile_updated',
      'member.password_changed',
    ]);
    const page = (await as(t, admin, 'GET', `/v1/admin/audit?action=member.role_changed`)).json<{
      entries: Record<string, unknown>[];
    }>();
    expect(page.entries).toHaveLength(1);
    expect(page.entries[0]).toMatchObject({
      actor_type: 'member',
      actor_id: admin.memberId,
      subject_id: bob.memberId,
      meta: { from: 'member', to: 'viewer' },
    });
    expect(await verify(admin)).toMatchObject({ ok: true, entries: 17, head_seq: 17 });
  });

  it('filters and pages', async () => {
    const admin = await login(t, 'admin@rec.test', 'another long password');
    const first = (await as(t, admin, 'GET', '/v1/admin/audit?limit=5')).json<{
      entries: { seq: number }[];
      next_before_seq: number;
    }>();
    expect(first.entries.map((e) => e.seq)).toEqual([17, 16, 15, 14, 13]);
    const second = (
      await as(t, admin, 'GET', `/v1/admin/audit?limit=5&before_seq=${first.next_before_seq}`)
    ).json<{ entries: { seq: number }[] }>();
    expect(second.entries.map((e) => e.seq)).toEqual([12, 11, 10, 9, 8]);
    const bySubject = (await as(t, admin, 'GET', `/v1/admin/audit?subject_type=device`)).json<{
      entries: unknown[];
    }>();
    expect(bySubject.entries).toHaveLength(3);
    const future = (await as(t, admin, 'GET', `/v1/admin/audit?from=2999-01-01T00:00:00Z`)).json<{
      entries: unknown[];
    }>();
    expect(future.entries).toHaveLength(0);
    for (const bad of ['action=member.hacked', 'limit=0', 'limit=100000', 'from=yesterday', 'nope=1']) {
      expect((await as(t, admin, 'GET', `/v1/admin/audit?${bad}`)).statusCode, bad).toBe(400);
    }
    const member = await addMember(t, admin, 'm@rec.test', 'member');
    expect((await as(t, member, 'GET', '/v1/admin/audit')).statusCode).toBe(403);
    expect((await as(t, member, 'GET', '/v1/admin/audit/verify')).statusCode).toBe(403);
  });

  it('never records secrets, tokens, passwords, TOTP material or phone numbers', async () => {
    const admin = await createOrgWithAdmin(t, 'leak');
    const stripe = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
    const created = (await as(t, admin, 'POST', '/v1/admin/devices', { name: `prod ${stripe}` })).json<{
      token: string;
      device: { id: string };
    }>();
    const inv = (
      await as(t, admin, 'POST', '/v1/admin/invites', { email: 'y@leak.test', role: 'member' })
    ).json<{ token: string }>();
    const { secret } = (await as(t, admin, 'POST', '/v1/me/totp')).json<{ secret: string }>();
    const code = generateSync({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) });
    const recovery = (await as(t, admin, 'POST', '/v1/me/totp/confirm', { code })).json<{
      recovery_codes: string[];
    }>().recovery_codes;
    await as(t, admin, 'PATCH', '/v1/me', { phone: '+14155550177' });
    const cookie = admin.cookie.split('=')[1]!;
    const rows = await sql<{
      canonical: string;
    }>`select canonical from audit_events where org_id = ${admin.orgId}`.execute(db);
    const all = rows.rows.map((r) => r.canonical).join('\n');
    expect(rows.rows.length).toBeGreaterThanOrEqual(6);
    for (const value of [
      stripe,
      created.token,
      inv.token,
      secret,
      code,
      ...recovery,
      '4155550177',
      cookie,
      PASSWORD,
    ]) {
      expect(all).not.toContain(value);
    }
    expect(all).toContain('[REDACTED:stripe-secret-key]');
  });
});

describe('append-only, for every role', () => {
  it('the app role cannot UPDATE or DELETE entries (no grant), and the owner is stopped by the triggers', async () => {
    const admin = await orgWithEvents('ro', 1);
    const asApp = (q: string) => withTenant(db, admin.orgId, (tx) => sql.raw(q).execute(tx.db));
    // The app submits entries only through the outbox; it cannot write the chain or its head.
    await expect(
      asApp(
        `insert into audit_events (org_id, seq, prev_hash, hash, canonical) values ('${admin.orgId}', 99, '\\x00', '\\x00', '{}')`,
      ),
    ).rejects.toThrow(/permission denied/);
    await expect(asApp(`update audit_heads set seq = 0`)).rejects.toThrow(/permission denied/);
    await expect(asApp(`update audit_events set canonical = '{}' where seq = 1`)).rejects.toThrow(
      /permission denied/,
    );
    await expect(asApp(`delete from audit_events where seq = 1`)).rejects.toThrow(/permission denied/);
    await expect(asApp(`truncate audit_events`)).rejects.toThrow(/permission denied/);
    // The connecting role owns the database (superuser here): the triggers still refuse.
    await expect(
      sql`update audit_events set canonical = '{}' where org_id = ${admin.orgId}`.execute(db),
    ).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_events where org_id = ${admin.orgId}`.execute(db)).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`truncate audit_events`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_checkpoints`.execute(db)).resolves.toBeDefined(); // nothing to delete: no row, no trigger call
    // Replica mode does not skip ENABLE ALWAYS triggers.
    await expect(
      db.transaction().execute(async (tx) => {
        await sql`set local session_replication_role = replica`.execute(tx);
        await sql`delete from audit_events where org_id = ${admin.orgId}`.execute(tx);
      }),
    ).rejects.toThrow(/append-only/);
    expect(await verify(admin)).toMatchObject({ ok: true, entries: 3 });
  });

  it('fails closed: when the append fails, the change it records does not happen', async () => {
    const admin = await orgWithEvents('closed', 0);
    await sql
      .raw(
        `alter table audit_events add constraint no_device_events check ((canonical::jsonb ->> 'action') <> 'device.created') not valid`,
      )
      .execute(db);
    try {
      const res = await as(t, admin, 'POST', '/v1/admin/devices', { name: 'ghost' });
      expect(res.statusCode).toBe(500);
      expect(res.json().detail).toBeUndefined(); // no internals in a 5xx
    } finally {
      await sql.raw('alter table audit_events drop constraint no_device_events').execute(db);
    }
    const devices = await sql<{
      n: number;
    }>`select count(*)::int as n from devices where org_id = ${admin.orgId}`.execute(db);
    expect(devices.rows[0]!.n).toBe(0);
    expect(await verify(admin)).toMatchObject({ ok: true, entries: 2 });
  });

  it('concurrent appends never fork or leave gaps', async () => {
    const admin = await orgWithEvents('race', 0);
    await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        withTenant(db, admin.orgId, (tx) =>
          appendAudit(tx, auditEvents.deviceRevoked(systemActor, { id: `r${i}` }), new Date()),
        ),
      ),
    );
    const seqs = await sql<{
      seq: number;
    }>`select seq from audit_events where org_id = ${admin.orgId} order by seq`.execute(db);
    expect(seqs.rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    const outbox = await sql<{ n: number }>`select count(*)::int as n from audit_outbox`.execute(db);
    expect(outbox.rows[0]!.n).toBe(0);
    expect(await verify(admin)).toMatchObject({ ok: true, entries: 18, head_seq: 18 });
  });
});

describe('tamper detection names the right seq', () => {
  it('one changed byte of meta', async () => {
    const a = await orgWithEvents('t-meta', 4);
    await tamper([
      `update audit_events set canonical = replace(canonical, '"name":"d1"', '"name":"e1"') where org_id = '${a.orgId}' and seq = 4`,
    ]);
    expect(await verify(a)).toMatchObject({ ok: false, bad_seq: 4, reason: 'hash_mismatch' });
    // The queryable copy is generated from the hashed text, so it shows what verification rejects.
    const row = await sql<{
      meta: { name: string };
    }>`select meta from audit_events where org_id = ${a.orgId} and seq = 4`.execute(db);
    expect(row.rows[0]!.meta.name).toBe('e1');
  });

  it('a deleted middle row', async () => {
    const a = await orgWithEvents('t-del', 4);
    await tamper([`delete from audit_events where org_id = '${a.orgId}' and seq = 3`]);
    expect(await verify(a)).toMatchObject({ ok: false, bad_seq: 3, reason: 'gap' });
  });

  it('two reordered rows', async () => {
    const a = await orgWithEvents('t-swap', 4);
    await tamper(
      [
        `update audit_events set seq = -1 where org_id = '${a.orgId}' and seq = 3`,
        `update audit_events set seq = 3 where org_id = '${a.orgId}' and seq = 4`,
        `update audit_events set seq = 4 where org_id = '${a.orgId}' and seq = -1`,
      ]
        .map((s) => s.replace('set seq = -1', 'set seq = 1000'))
        .map((s) => s.replace('and seq = -1', 'and seq = 1000')),
    );
    const r = await verify(a);
    expect(r).toMatchObject({ ok: false, bad_seq: 3 });
    expect(['broken_link', 'field_mismatch']).toContain(r.reason);
  });

  it('a forged row inserted in the middle, even with a correct hash', async () => {
    const a = await orgWithEvents('t-forge', 4);
    const forged = await db.transaction().execute(async (tx) => {
      // Compute a well-formed entry that links to seq 2, as an attacker with the code could.
      const { sealEntry } = await import('../../src/core/audit-chain/entry.js');
      const prev = await sql<{
        hash: Buffer;
      }>`select hash from audit_events where org_id = ${a.orgId} and seq = 2`.execute(tx);
      return sealEntry(
        a.orgId,
        { seq: 2, hash: Buffer.from(prev.rows[0]!.hash).toString('hex') },
        auditEvents.deviceRevoked(systemActor, { id: 'x' }),
        new Date(),
      );
    });
    await tamper([
      `update audit_events set seq = seq + 1000 where org_id = '${a.orgId}' and seq >= 3`,
      `update audit_events set seq = seq - 999 where org_id = '${a.orgId}' and seq >= 1003`,
      `insert into audit_events (org_id, seq, prev_hash, hash, canonical) values ('${a.orgId}', 3, '\\x${forged.fields.prev_hash}', '\\x${forged.hash}', '${forged.canonical}')`,
    ]);
    const r = await verify(a);
    expect(r).toMatchObject({ ok: false, bad_seq: 4 });
  });

  it('a cut tail with a rewound head is caught by a signed checkpoint', async () => {
    const a = await orgWithEvents('t-tail', 4);
    const cp = await as(t, a, 'POST', '/v1/admin/audit/checkpoints');
    expect(cp.statusCode).toBe(201);
    expect(cp.json()).toMatchObject({ seq: 6 });
    await tamper([
      `delete from audit_events where org_id = '${a.orgId}' and seq >= 5`,
      `update audit_heads set seq = 4, hash = (select hash from audit_events where org_id = '${a.orgId}' and seq = 4) where org_id = '${a.orgId}'`,
    ]);
    expect(await verify(a)).toMatchObject({ ok: false, bad_seq: 5, reason: 'head_mismatch' });
  });
});

describe('checkpoints and the public key', () => {
  it('signs on demand, lists, verifies under the published key, and checkpoints only moved chains', async () => {
    const a = await orgWithEvents('cp', 1);
    const key = (await t.app.inject({ url: '/.well-known/ony-audit-key' })).json<{
      key_name: string;
      verifier_key: string;
    }>();
    expect(key.key_name).toBe('ony.test/ony-audit');
    expect(key.verifier_key).toMatch(/^ony\.test\/ony-audit\+[0-9a-f]{8}\+[A-Za-z0-9+/=]{44}$/);
    const first = (await as(t, a, 'POST', '/v1/admin/audit/checkpoints')).json<{
      seq: number;
      note: string;
    }>();
    expect(first.seq).toBe(3);
    const { openCheckpoint, parseVerifierKey } = await import('../../src/core/audit-chain/checkpoint.js');
    expect(openCheckpoint(first.note, parseVerifierKey(key.verifier_key))).toMatchObject({
      orgId: a.orgId,
      seq: 3,
    });
    expect((await as(t, a, 'GET', '/v1/admin/audit/checkpoints')).json()).toHaveLength(1);
    const v = await verify(a);
    expect(v).toMatchObject({ ok: true, checkpoints_verified: 1, latest_checkpoint: { seq: 3 } });
    // The periodic job signs orgs whose chain moved since their last checkpoint (not this one).
    const before = await sql<{
      n: number;
    }>`select count(*)::int as n from audit_checkpoints where org_id = ${a.orgId}`.execute(db);
    await t.container.audit.checkpointAll();
    const after = await sql<{
      n: number;
    }>`select count(*)::int as n from audit_checkpoints where org_id = ${a.orgId}`.execute(db);
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    await as(t, a, 'POST', '/v1/admin/devices', { name: 'more' });
    await t.container.audit.checkpointAll();
    expect((await as(t, a, 'GET', '/v1/admin/audit/checkpoints')).json()).toHaveLength(2);
  });

  it('a checkpoint signed by a key the server never used is reported, not skipped', async () => {
    const a = await orgWithEvents('cp-unknown', 1);
    const { signCheckpoint, signingKeyFromSeed } = await import('../../src/core/audit-chain/checkpoint.js');
    const { insertCheckpoint, getHead } = await import('../../src/features/audit/audit.repository.js');
    const stranger = signingKeyFromSeed('elsewhere.example/ony-audit', randomBytes(32));
    // The app role may add checkpoint rows: one signed elsewhere, attesting the true head.
    await withTenant(db, a.orgId, async (tx) => {
      const head = (await getHead(tx))!;
      const at = t.clock.now();
      const note = signCheckpoint(
        { orgId: a.orgId, seq: head.seq, hash: head.hash, at: at.toISOString() },
        stranger,
      );
      await insertCheckpoint(tx, { ...head, at, keyName: stranger.name, note });
    });
    const r = await verify(a);
    expect(r).toMatchObject({ ok: false, bad_seq: 3, checkpoint_seq: 3, reason: 'head_mismatch' });
    expect(r.detail).toMatch(
      /checkpoint at seq 3 does not verify: it is signed by an unknown key \(elsewhere\.example\/ony-audit\+[0-9a-f]{8}\)/,
    );
  });

  it('publishes every key with its validity period, the current one also in the old fields', async () => {
    const key = (await t.app.inject({ url: '/.well-known/ony-audit-key' })).json<{
      key_name: string;
      verifier_key: string;
      keys: { key_name: string; key_id: string; verifier_key: string; valid_until: string | null }[];
    }>();
    expect(key.keys.at(-1)).toMatchObject({
      key_name: key.key_name,
      verifier_key: key.verifier_key,
      key_id: key.verifier_key.split('+')[1],
      valid_until: null,
    });
  });
});
