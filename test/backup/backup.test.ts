/**
 * Backups end to end (docs/backups.md), on embedded PGlite (its data-dir dump) or, with
 * DATABASE_URL, real Postgres (pg_dump and pg_restore): back up a server with two orgs, erase one,
 * destroy the database, restore into an empty one, and serve again. Every audit chain verifies,
 * members sign in, the payload of a handoff made before the backup decrypts, and the org erased
 * after the backup stays gone (the erasure ledger), with the other one intact.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupKeysFrom, deriveBackupKey } from '../../src/features/backup/backup-key.js';
import {
  BackupError,
  createBackup,
  restorePglite,
  restorePostgres,
  verifyBackup,
} from '../../src/features/backup/backup.service.js';
import { readLedger } from '../../src/features/backup/erasure-ledger.js';
import { addMember, as, createOrgWithAdmin, login, startTestServer, type Actor } from '../helpers/app.js';
import { asServerAdmin, freshDatabase, realDatabaseUrl, type TestDatabase } from '../helpers/db.js';

const MASTER = randomBytes(32);
const env = { ONY_MASTER_KEY: MASTER.toString('base64') };
const keys = backupKeysFrom([deriveBackupKey(MASTER)]);

let dir: string;
let database: TestDatabase;
let restored: TestDatabase | undefined;
let closeDatabase: () => Promise<void>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ony-backup-'));
  const fresh = await freshDatabase();
  // On Postgres a server's close would drop the database (and its login): keep both until afterAll,
  // so this test destroys the database itself and restores into one of the same name.
  database =
    fresh.url !== undefined
      ? { ...fresh, runtime: { ...fresh.runtime, close: async () => undefined } }
      : fresh;
  closeDatabase = () => fresh.close();
});
afterAll(async () => {
  if (restored !== undefined && restored !== database) await restored.close();
  await closeDatabase();
  await rm(dir, { recursive: true, force: true });
});

const sourceOf = (d: TestDatabase) =>
  d.url !== undefined
    ? { kind: 'postgres' as const, url: d.url, env: process.env }
    : { kind: 'pglite' as const, database: d };

describe('backup, erase, destroy, restore', () => {
  it('restores everything but the org erased since the backup', async () => {
    const t = await startTestServer({ ...env, ONY_BACKUP_DIR: dir }, { database });
    let alpha: Actor;
    let handoffId: string;
    let betaId: string;
    try {
      alpha = await createOrgWithAdmin(t, 'alpha');
      await addMember(t, alpha, 'member@alpha.test', 'member');
      const beta = await createOrgWithAdmin(t, 'beta');
      betaId = beta.orgId;
      const token = (await as(t, alpha, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{
        token: string;
      }>().token;
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/handoffs',
        headers: { authorization: `Bearer ${token}` },
        payload: {
          action: { type: 'deploy', target: 'prod' },
          title: 'deploy before the backup',
          summary: 'routine',
          payload: { kind: 'text', content: 'the payload written before the backup' },
        },
      });
      expect(res.statusCode, res.body).toBe(201);
      handoffId = res.json<{ id: string }>().id;

      const created = await createBackup(sourceOf(database), keys, { kind: 'dir', path: dir }, new Date());
      expect(created.manifest.orgs.map((o) => o.org_id).sort()).toEqual([alpha.orgId, betaId].sort());
      expect(created.manifest.last_migration).toMatch(/^\d{4}_/);
      expect(created.manifest.source).toBe(database.url !== undefined ? 'pg_dump' : 'pglite');

      // After the backup, beta is erased: the eraser records it in the ledger beside the backups.
      await t.container.erasure.eraseNow(betaId);
      const ledger = await readLedger(dir);
      expect(ledger.map((e) => e.org_id)).toEqual([betaId]);
      expect(JSON.stringify(ledger)).not.toContain('beta'); // ids and times only
    } finally {
      await t.close();
    }

    const [file] = (await readdir(dir)).filter((n) => n.endsWith('.onybak'));
    expect(file).toBeDefined();
    const archive = join(dir, file!);
    const ledger = await readLedger(dir);
    let result;
    if (database.url !== undefined) {
      const name = new URL(database.url).pathname.slice(1);
      // Destroy the database; an empty one of the same name takes its place.
      await asServerAdmin(realDatabaseUrl!, `drop database ${name} with (force)`, `create database ${name}`);
      result = await restorePostgres({
        file: archive,
        keys,
        ledger,
        url: database.url,
        env: process.env,
        grantRuntime: database.login!,
      });
      restored = database;
      // A restore goes only into an empty database.
      await expect(
        restorePostgres({ file: archive, keys, ledger, url: database.url, env: process.env }),
      ).rejects.toThrow(/the database is not empty/);
    } else {
      await database.close();
      const r = await restorePglite({ file: archive, keys, ledger, dataDir: undefined });
      result = r;
      restored = {
        ...r.database,
        url: undefined,
        runtime: r.database,
        runtimeUrl: undefined,
        login: undefined,
      };
    }
    expect(result.erased).toEqual([betaId]);

    const t2 = await startTestServer(env, { database: restored });
    try {
      for (const o of result.manifest.orgs.filter((x) => x.org_id !== betaId)) {
        const report = await t2.container.audit.verify(o.org_id);
        expect(report.ok, JSON.stringify(report)).toBe(true);
      }
      const admin = await login(t2, 'admin@alpha.test');
      await login(t2, 'member@alpha.test');
      await expect(login(t2, 'admin@beta.test')).rejects.toThrow(/login failed/);
      const detail = await as(t2, admin, 'GET', `/v1/handoffs/${handoffId}/detail`);
      expect(detail.statusCode, detail.body).toBe(200);
      expect(detail.json<{ payload: { content: string } }>().payload.content).toBe(
        'the payload written before the backup',
      );
    } finally {
      await t2.close();
    }
  }, 240_000);
});

describe('the erasure ledger', () => {
  it('fails closed: when the ledger cannot be written, nothing is erased', async () => {
    const t = await startTestServer({ ...env, ONY_BACKUP_DIR: join(dir, 'no-such-dir') });
    try {
      const org = await createOrgWithAdmin(t, 'stays');
      await expect(t.container.erasure.eraseNow(org.orgId)).rejects.toThrow(/ENOENT/);
      await login(t, 'admin@stays.test');
      expect((await t.container.audit.verify(org.orgId)).ok).toBe(true);
    } finally {
      await t.close();
    }
  }, 120_000);

  it('refuses a ledger line that is not an entry', async () => {
    const { writeFile } = await import('node:fs/promises');
    const path = join(dir, 'broken-ledger.jsonl');
    await writeFile(path, '{"org_id":"not-a-uuid","erased_at":"2026-01-01T00:00:00Z"}\n');
    await expect(readLedger(path)).rejects.toThrow(/line 1 is not an entry/);
  });
});

describe('bad archives', () => {
  let archive: string;
  beforeAll(async () => {
    const d = await freshDatabase();
    try {
      archive = (
        await createBackup(sourceOf(d), keys, { kind: 'file', path: join(dir, 'plain.onybak') }, new Date())
      ).file;
    } finally {
      await d.close();
    }
  }, 120_000);

  const copyWith = async (name: string, change: (b: Buffer) => Buffer): Promise<string> => {
    const path = join(dir, name);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, change(await readFile(archive)));
    return path;
  };

  it('verifies an untouched archive', async () => {
    const { manifest } = await verifyBackup(archive, keys);
    expect(manifest.chunks).toBeGreaterThan(1);
  });

  it('refuses a tampered archive, naming the chunk', async () => {
    // The first chunk's record starts right after the header: flip a byte well inside chunk 1.
    const buf = await readFile(archive);
    const headerEnd = 12 + buf.readUInt32BE(8);
    const chunk0 = buf.readUInt32BE(headerEnd);
    const inChunk1 = headerEnd + 4 + chunk0 + 4 + 100;
    const path = await copyWith('tampered.onybak', (b) => {
      const c = Buffer.from(b);
      c[inChunk1] = c[inChunk1]! ^ 0xff;
      return c;
    });
    await expect(verifyBackup(path, keys)).rejects.toThrow(/chunk 1 failed authentication/);
  });

  it('refuses chunks swapped in order', async () => {
    const path = await copyWith('swapped.onybak', (b) => {
      const headerEnd = 12 + b.readUInt32BE(8);
      const l0 = b.readUInt32BE(headerEnd);
      const r0 = b.subarray(headerEnd, headerEnd + 4 + l0);
      const l1 = b.readUInt32BE(headerEnd + 4 + l0);
      const r1 = b.subarray(headerEnd + 4 + l0, headerEnd + 8 + l0 + l1);
      return Buffer.concat([b.subarray(0, headerEnd), r1, r0, b.subarray(headerEnd + 8 + l0 + l1)]);
    });
    await expect(verifyBackup(path, keys)).rejects.toThrow(/chunk 0 failed authentication/);
  });

  it('refuses a truncated archive, clearly', async () => {
    const cut = await copyWith('cut.onybak', (b) => b.subarray(0, b.length - 40));
    await expect(verifyBackup(cut, keys)).rejects.toThrow(/truncated inside chunk \d+/);
    // Cut at a chunk boundary: the final (manifest) chunk is missing.
    const atBoundary = await copyWith('boundary.onybak', (b) => {
      const headerEnd = 12 + b.readUInt32BE(8);
      return b.subarray(0, headerEnd + 4 + b.readUInt32BE(headerEnd));
    });
    await expect(verifyBackup(atBoundary, keys)).rejects.toThrow(
      /truncated: it ends after chunk 0 without its final \(manifest\) chunk/,
    );
  });

  it('names a wrong key as such', async () => {
    const other = backupKeysFrom([deriveBackupKey(randomBytes(32))]);
    await expect(verifyBackup(archive, other)).rejects.toThrow(
      new RegExp(`sealed with backup key ${keys.current.id}, and this server's key is ${other.current.id}`),
    );
  });

  it('refuses to restore into a data directory that holds a database', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const target = join(dir, 'occupied');
    await mkdir(target);
    await writeFile(join(target, 'PG_VERSION'), '17');
    await expect(restorePglite({ file: archive, keys, ledger: undefined, dataDir: target })).rejects.toThrow(
      BackupError,
    );
  });
});
