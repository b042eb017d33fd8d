/**
 * Exports end to end on a real database: an admin's org export and a member's self-export, the job
 * that marks them ready, the single-use 15-minute link, the streamed zip's contents (no secrets, the
 * payloads retention still holds, the audit chain that `ony audit verify --file` checks offline),
 * the limits (one running, five a day) and every bad input answered with a clear error.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  as,
  createOrgWithAdmin,
  login,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { runInMemory } from '../helpers/cli.js';

let t: TestServer;
let dir: string;
beforeAll(async () => {
  t = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'ony-export-test-'));
});
afterAll(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

const SECRET_PAYLOAD = 'psql -c "drop table users" # marker-7f3a';
const PHONE = '+14155550123';

interface ExportView {
  id: string;
  status: string;
  scope: string;
  counts: Record<string, number> | null;
}

async function unzip(buf: Buffer): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      const files = new Map<string, string>();
      zip.on('error', reject);
      zip.on('end', () => resolve(files));
      zip.on('entry', (e: yauzl.Entry) =>
        zip.openReadStream(e, (e2, s) => {
          if (e2) return reject(e2);
          const chunks: Buffer[] = [];
          s.on('data', (c: Buffer) => chunks.push(c));
          s.on('end', () => {
            files.set(e.fileName, Buffer.concat(chunks).toString('utf8'));
            zip.readEntry();
          });
        }),
      );
      zip.readEntry();
    });
  });
}

async function waitReady(actor: Actor, url: string): Promise<ExportView> {
  for (let i = 0; i < 100; i++) {
    const x = (await as(t, actor, 'GET', url)).json<ExportView>();
    if (x.status !== 'queued') return x;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('export never became ready');
}

const linkPath = (url: string) => url.replace('https://ony.test', '');

async function download(actor: Actor, url: string) {
  return t.app.inject({ method: 'GET', url: linkPath(url), headers: { cookie: actor.cookie } });
}

/** An org with a device, three handoffs (one with a payload, one decided), a member with a phone. */
async function seededOrg(slug: string) {
  const admin = await createOrgWithAdmin(t, slug);
  const bob = await addMember(t, admin, `bob@${slug}.test`, 'member');
  const viewer = await addMember(t, admin, `vera@${slug}.test`, 'viewer');
  expect((await as(t, bob, 'PATCH', '/v1/me', { phone: PHONE })).statusCode).toBe(200);
  const dev = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'ci' })).json<{ token: string }>();
  const create = (body: Record<string, unknown>) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/handoffs',
      headers: { authorization: `Bearer ${dev.token}` },
      payload: body,
    });
  const ids: string[] = [];
  for (const [i, payload] of [SECRET_PAYLOAD, undefined, 'echo hello'].entries()) {
    const res = await create({
      action: { type: 'db.query', target: 'prod' },
      title: `Handoff ${i}`,
      summary: 'summary',
      ...(payload !== undefined && { payload: { kind: 'command', content: payload } }),
    });
    expect(res.statusCode, res.body).toBe(201);
    ids.push(res.json<{ id: string }>().id);
  }
  const decided = await as(t, bob, 'POST', `/v1/handoffs/${ids[2]}/decision`, { decision: 'deny' });
  expect(decided.statusCode, decided.body).toBe(200);
  return { admin, bob, viewer, devToken: dev.token, ids };
}

describe('org export', () => {
  it('streams a zip of the org without secrets; the link is single use; the chain verifies offline', async () => {
    const { admin, bob, viewer, devToken, ids } = await seededOrg('exp');
    // As the retention sweep leaves a decided handoff: payload row gone, the handoff says when.
    const db = t.database.db;
    await sql`delete from handoff_payloads where handoff_id = ${ids[2]}`.execute(db);
    await sql`update handoffs set payload_removed_at = now() where id = ${ids[2]}`.execute(db);
    const started = await as(t, admin, 'POST', '/v1/admin/exports');
    expect(started.statusCode, started.body).toBe(202);
    const x = started.json<ExportView>();
    expect(x).toMatchObject({ status: 'queued', scope: 'org' });

    // One running export per org; members and viewers may not; an unready export has no link.
    const again = await as(t, admin, 'POST', '/v1/admin/exports');
    expect(again.statusCode).toBe(409);
    expect(again.headers['content-type']).toMatch(/problem\+json/);
    expect((await as(t, bob, 'POST', '/v1/admin/exports')).statusCode).toBe(403);
    expect((await as(t, viewer, 'POST', '/v1/admin/exports')).statusCode).toBe(403);
    expect((await as(t, bob, 'GET', `/v1/admin/exports/${x.id}`)).statusCode).toBe(403);

    const ready = await waitReady(admin, `/v1/admin/exports/${x.id}`);
    expect(ready.status).toBe('ready');
    expect(ready.counts).toMatchObject({ members: 3, devices: 1, handoffs: 3, payloads: 1 });

    // Another org's admin: the id does not exist for them.
    const other = await createOrgWithAdmin(t, 'exp-other');
    expect((await as(t, other, 'GET', `/v1/admin/exports/${x.id}`)).statusCode).toBe(404);
    expect((await as(t, other, 'POST', `/v1/admin/exports/${x.id}/link`)).statusCode).toBe(404);

    const link = await as(t, admin, 'POST', `/v1/admin/exports/${x.id}/link`);
    expect(link.statusCode, link.body).toBe(200);
    const { url, expires_at } = link.json<{ url: string; expires_at: string }>();
    expect(new Date(expires_at).getTime() - t.clock.now().getTime()).toBe(15 * 60_000);
    expect(url).toMatch(new RegExp(`^https://ony\\.test/v1/exports/${x.id}/download\\?token=ony_exp_`));

    // A wrong token, or another org's admin with the right one, changes nothing.
    const wrong = `/v1/exports/${x.id}/download?token=ony_exp_wrong`;
    expect((await t.app.inject({ url: wrong, headers: { cookie: admin.cookie } })).statusCode).toBe(410);
    const none = `/v1/exports/${x.id}/download`;
    expect((await t.app.inject({ url: none, headers: { cookie: admin.cookie } })).statusCode).toBe(410);
    expect((await download(other, url)).statusCode).toBe(404);
    expect((await download(bob, url)).statusCode).toBe(404);

    const res = await download(admin, url);
    expect(res.statusCode, res.body.slice(0, 200)).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="ony-org-export-/);
    const files = await unzip(res.rawPayload);
    expect([...files.keys()]).toEqual([
      'manifest.json',
      'org.json',
      'members.json',
      'invites.json',
      'devices.json',
      'policies.json',
      'channels.json',
      'handoffs.json',
      'decisions.json',
      'approvals.json',
      'audit.jsonl',
      'audit-checkpoints.txt',
      'audit-verifier-key.txt',
    ]);
    // The link was single use.
    expect((await download(admin, url)).statusCode).toBe(410);

    const manifest = JSON.parse(files.get('manifest.json')!) as Record<string, unknown>;
    expect(manifest).toMatchObject({ format: 1, scope: 'org', org_id: admin.orgId, export_id: x.id });
    const members = JSON.parse(files.get('members.json')!) as Record<string, unknown>[];
    expect(members.map((m) => m.email).sort()).toEqual(['admin@exp.test', 'bob@exp.test', 'vera@exp.test']);
    const bobRow = members.find((m) => m.email === 'bob@exp.test')!;
    expect(bobRow.phone).not.toBe(PHONE); // masked in the admin's export
    expect(String(bobRow.phone)).toMatch(/0123$/);
    const handoffs = JSON.parse(files.get('handoffs.json')!) as {
      id: string;
      payload: { content: string } | null;
      payload_removed_at: string | null;
      decision: unknown;
    }[];
    expect(handoffs.map((h) => h.id).sort()).toEqual([...ids].sort());
    expect(handoffs.find((h) => h.id === ids[0])!.payload!.content).toBe(SECRET_PAYLOAD);
    expect(handoffs.find((h) => h.id === ids[1])).toMatchObject({ payload: null, payload_removed_at: null });
    expect(handoffs.find((h) => h.id === ids[2])!.payload).toBeNull();
    expect(handoffs.find((h) => h.id === ids[2])!.payload_removed_at).toMatch(/^\d{4}-/);
    expect(handoffs.find((h) => h.id === ids[2])!.decision).toMatchObject({ option: 'deny' });
    const decisions = JSON.parse(files.get('decisions.json')!) as {
      handoff_id: string;
      decided_by: string;
    }[];
    expect(decisions).toEqual([expect.objectContaining({ handoff_id: ids[2], decided_by: bob.memberId })]);
    // Each decision carries its assurance (docs/assurance.md): here a deny from a password session.
    const assurance = expect.objectContaining({
      level: 'A1',
      channel: 'web',
      step_up: 'none',
      identity: 'password',
    });
    expect(decisions[0]).toMatchObject({ assurance });
    expect(handoffs.find((h) => h.id === ids[2])!.decision).toMatchObject({ assurance });

    // No secrets anywhere: password hashes, TOTP secrets, device and session tokens.
    const whole = [...files.values()].join('\n');
    for (const forbidden of [
      'password_hash',
      'totp_secret',
      'token_hash',
      'webhook_secret',
      devToken,
      '$argon2',
    ])
      expect(whole).not.toContain(forbidden);
    expect(files.get('devices.json')).not.toContain('token');
    const channels = JSON.parse(files.get('channels.json')!) as { configured_channels: string[] };
    expect(channels.configured_channels).toContain('console');

    // The chain verifies offline from the zip, from the extracted folder, and fails when tampered.
    const zipFile = join(dir, 'org.zip');
    await writeFile(zipFile, res.rawPayload);
    const key = files.get('audit-verifier-key.txt')!.trim();
    const published = (await t.app.inject({ url: '/.well-known/ony-audit-key' })).json<{
      verifier_key: string;
    }>();
    expect(key).toBe(published.verifier_key);
    const fromZip = await runInMemory(['audit', 'verify', '--file', zipFile, '--pubkey', key]);
    expect(fromZip.code, fromZip.stderr + fromZip.stdout).toBe(0);
    expect(JSON.parse(fromZip.stdout)).toMatchObject({
      ok: true,
      org_id: admin.orgId,
      signatures_checked: true,
    });
    const extracted = join(dir, 'extracted');
    await rm(extracted, { recursive: true, force: true });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(extracted);
    await writeFile(join(extracted, 'audit.jsonl'), files.get('audit.jsonl')!);
    expect((await runInMemory(['audit', 'verify', '--file', extracted])).code).toBe(0);
    const tampered = join(dir, 'tampered.jsonl');
    await writeFile(tampered, files.get('audit.jsonl')!.replace('handoff.created', 'handoff.expired'));
    const bad = await runInMemory(['audit', 'verify', '--file', tampered]);
    expect(bad.code).toBe(1);

    // The request and the download are in the chain; the export is downloaded and the slot free.
    const audit = (await as(t, admin, 'GET', '/v1/admin/audit?subject_type=export')).json<{
      entries: { action: string; subject_id: string }[];
    }>();
    expect(audit.entries.map((e) => e.action).sort()).toEqual(['export.downloaded', 'export.requested']);
    await waitFor(
      async () =>
        (await as(t, admin, 'GET', `/v1/admin/exports/${x.id}`)).json<ExportView>().status === 'downloaded',
    );
    const next = await as(t, admin, 'POST', '/v1/admin/exports');
    expect(next.statusCode).toBe(202);
  });

  it('an expired link answers 410 and a fresh link for the same export works', async () => {
    const admin = await createOrgWithAdmin(t, 'exp-ttl');
    const x = (await as(t, admin, 'POST', '/v1/admin/exports')).json<ExportView>();
    await waitReady(admin, `/v1/admin/exports/${x.id}`);
    const first = (await as(t, admin, 'POST', `/v1/admin/exports/${x.id}/link`)).json<{ url: string }>();
    t.clock.advance(15 * 60_000 + 1000);
    expect((await download(admin, first.url)).statusCode).toBe(410);
    const status = (await as(t, admin, 'GET', `/v1/admin/exports/${x.id}`)).json<ExportView>();
    expect(status.status).toBe('ready');
    const second = (await as(t, admin, 'POST', `/v1/admin/exports/${x.id}/link`)).json<{ url: string }>();
    // The older link stays dead even inside its window once a new one is issued.
    expect((await download(admin, first.url)).statusCode).toBe(410);
    expect((await download(admin, second.url)).statusCode).toBe(200);
  });

  it('an export nobody downloads expires after a day and frees the slot', async () => {
    let admin = await createOrgWithAdmin(t, 'exp-day');
    const x = (await as(t, admin, 'POST', '/v1/admin/exports')).json<ExportView>();
    await waitReady(admin, `/v1/admin/exports/${x.id}`);
    expect((await as(t, admin, 'POST', '/v1/admin/exports')).statusCode).toBe(409);
    t.clock.advance(24 * 3600_000 + 1000);
    admin = await login(t, 'admin@exp-day.test'); // the session idled out
    expect((await as(t, admin, 'GET', `/v1/admin/exports/${x.id}`)).json<ExportView>().status).toBe(
      'expired',
    );
    expect((await as(t, admin, 'POST', `/v1/admin/exports/${x.id}/link`)).statusCode).toBe(410);
    expect((await as(t, admin, 'POST', '/v1/admin/exports')).statusCode).toBe(202);
  }, 60_000);
});

async function waitFor(cond: () => Promise<boolean>) {
  for (let i = 0; i < 100; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met');
}

describe('member self-export', () => {
  it('holds their profile (phone unmasked), linked identities and the decisions they made, nothing of others', async () => {
    const { bob, ids } = await seededOrg('self');
    const started = await as(t, bob, 'POST', '/v1/me/export');
    expect(started.statusCode, started.body).toBe(202);
    const x = started.json<ExportView>();
    expect(x.scope).toBe('member');
    expect((await as(t, bob, 'POST', '/v1/me/export')).statusCode).toBe(409);
    await waitReady(bob, `/v1/me/exports/${x.id}`);
    const { url } = (await as(t, bob, 'POST', `/v1/me/exports/${x.id}/link`)).json<{ url: string }>();
    const res = await download(bob, url);
    expect(res.statusCode).toBe(200);
    const files = await unzip(res.rawPayload);
    expect([...files.keys()]).toEqual([
      'manifest.json',
      'profile.json',
      'identities.json',
      'decisions.json',
      'approvals.json',
    ]);
    expect(JSON.parse(files.get('profile.json')!)).toMatchObject({
      id: bob.memberId,
      email: 'bob@self.test',
      phone: PHONE,
    });
    expect(JSON.parse(files.get('decisions.json')!)).toEqual([
      expect.objectContaining({ handoff_id: ids[2], option: 'deny' }),
    ]);
    const whole = [...files.values()].join('\n');
    expect(whole).not.toContain('admin@self.test');
    expect(whole).not.toContain(SECRET_PAYLOAD);
  });

  it("another member's export id is 404, an admin cannot read it through the org routes", async () => {
    const admin = await createOrgWithAdmin(t, 'self-iso');
    const carol = await addMember(t, admin, 'carol@self-iso.test', 'viewer');
    const x = (await as(t, carol, 'POST', '/v1/me/export')).json<ExportView>();
    expect((await as(t, admin, 'GET', `/v1/me/exports/${x.id}`)).statusCode).toBe(404);
    expect((await as(t, admin, 'GET', `/v1/admin/exports/${x.id}`)).statusCode).toBe(404);
    expect((await as(t, admin, 'POST', `/v1/me/exports/${x.id}/link`)).statusCode).toBe(404);
  });

  it('at most five a day: the sixth answers 429 and creates nothing', async () => {
    let admin = await createOrgWithAdmin(t, 'self-limit');
    for (let i = 0; i < 5; i++) {
      const x = (await as(t, admin, 'POST', '/v1/me/export')).json<ExportView>();
      await waitReady(admin, `/v1/me/exports/${x.id}`);
      const { url } = (await as(t, admin, 'POST', `/v1/me/exports/${x.id}/link`)).json<{ url: string }>();
      expect((await download(admin, url)).statusCode).toBe(200);
      await waitFor(
        async () =>
          (await as(t, admin, 'GET', `/v1/me/exports/${x.id}`)).json<ExportView>().status === 'downloaded',
      );
    }
    const sixth = await as(t, admin, 'POST', '/v1/me/export');
    expect(sixth.statusCode).toBe(429);
    const n = await sql<{
      n: number;
    }>`select count(*)::int as n from exports where org_id = ${admin.orgId}`.execute(t.database.db);
    expect(n.rows[0]!.n).toBe(5);
    t.clock.advance(24 * 3600_000 + 1000);
    admin = await login(t, 'admin@self-limit.test');
    expect((await as(t, admin, 'POST', '/v1/me/export')).statusCode).toBe(202);
  });
});

describe('streaming', () => {
  it('a client that goes away mid-download leaves the export failed and the server serving', async () => {
    const admin = await createOrgWithAdmin(t, 'exp-abort');
    const dev = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'ci' })).json<{
      device: { id: string };
    }>();
    const { randomBytes, randomUUID } = await import('node:crypto');
    const { withTenant } = await import('../../src/db/client.js');
    // 800 handoffs with incompressible 8 KiB payloads: a zip far larger than the socket buffers.
    const ids = Array.from({ length: 800 }, () => randomUUID());
    const now = t.clock.now();
    await withTenant(t.database.db, admin.orgId, async (tx) => {
      for (const id of ids) {
        await sql`insert into handoffs (org_id, id, short_code, device_id, status, action_type, title, summary,
            options, risk_level, risk_reasons, required_approvals, totp_required, request_sha256, created_at,
            expires_at, decided_at, payload_sha256)
          values (${admin.orgId}, ${id}, 'AAAAAA', ${dev.device.id}, 'expired', 'db.query', 't', 's', '[]', 'low',
            '{}', 1, false, 'x', ${now}, ${now}, ${now}, ${Buffer.alloc(32)})`.execute(tx.db);
        const enc = await t.container.keyring.encrypt(tx, randomBytes(8192), `payload:${id}`);
        await sql`insert into handoff_payloads (org_id, handoff_id, kind, salt, content_enc)
          values (${admin.orgId}, ${id}, 'text', ${Buffer.alloc(1)}, ${enc})`.execute(tx.db);
      }
    });
    const x = (await as(t, admin, 'POST', '/v1/admin/exports')).json<ExportView>();
    await waitReady(admin, `/v1/admin/exports/${x.id}`);
    const { url } = (await as(t, admin, 'POST', `/v1/admin/exports/${x.id}/link`)).json<{ url: string }>();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as { port: number };
    const http = await import('node:http');
    const got = await new Promise<number>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port, path: linkPath(url), headers: { cookie: admin.cookie } },
        (res) => {
          res.once('data', (c: Buffer) => {
            req.destroy();
            resolve(c.length);
          });
        },
      );
      req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
    });
    expect(got).toBeGreaterThan(0);
    await waitFor(
      async () =>
        (await as(t, admin, 'GET', `/v1/admin/exports/${x.id}`)).json<ExportView>().status === 'failed',
    );
    // The snapshot transaction ended: the database still answers, a new export can start.
    expect((await as(t, admin, 'GET', '/v1/admin/devices')).statusCode).toBe(200);
    expect((await as(t, admin, 'POST', '/v1/admin/exports')).statusCode).toBe(202);
  }, 60_000);
});
