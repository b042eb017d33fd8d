/**
 * `ony backup create|verify|restore` from the shell, on embedded PGlite (a data dir) or the Postgres
 * of DATABASE_URL: retention, the manifest listing, restore into an empty database only, the ledger
 * it insists on, bad flags (exit 2 with the usage), failed checks (exit 1, one clear line), and no
 * credential in any output.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD } from '../helpers/app.js';
import { runInMemory } from '../helpers/cli.js';
import { asServerAdmin, freshDatabase, realDatabaseUrl, urlAs, type TestDatabase } from '../helpers/db.js';

const cli = (argv: string[], env: NodeJS.ProcessEnv, stdin = '') =>
  runInMemory(argv, { env: { PATH: process.env.PATH, ...env }, stdin });

let dir: string;
let backups: string;
let database: TestDatabase | undefined;
let env: NodeJS.ProcessEnv;
const MASTER = randomBytes(32).toString('base64');
const base = { ONY_LOG_LEVEL: 'silent', ONY_PUBLIC_URL: 'https://ony.test' };
const extraDatabases: string[] = [];
let orgId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ony-backup-cli-'));
  backups = join(dir, 'backups');
  await mkdir(backups);
  if (realDatabaseUrl) {
    database = await freshDatabase();
    env = {
      ...base,
      DATABASE_URL: database.runtimeUrl,
      ONY_MIGRATE_DATABASE_URL: database.url,
      ONY_MASTER_KEY: MASTER,
    };
  } else {
    env = { ...base, ONY_DATA_DIR: join(dir, 'data'), ONY_MASTER_KEY: MASTER };
  }
  const r = await cli(
    ['setup', '--org-name', 'Kept', '--email', 'a@kept.test', '--name', 'A'],
    env,
    `${PASSWORD}\n`,
  );
  expect(r.code, r.stderr).toBe(0);
  orgId = /\(([0-9a-f-]{36})\)/.exec(r.stdout)![1]!;
}, 180_000);
afterAll(async () => {
  // The restored databases first: their pg-boss schema belongs to the runtime login that close() drops.
  for (const name of extraDatabases)
    await asServerAdmin(realDatabaseUrl!, `drop database if exists ${name} with (force)`);
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

/** An environment whose database is a new, empty one (Postgres), or a new data dir (embedded). */
async function emptyTarget(): Promise<NodeJS.ProcessEnv> {
  if (database === undefined) {
    const dataDir = join(dir, `restored-${randomBytes(3).toString('hex')}`);
    return { ...env, ONY_DATA_DIR: dataDir };
  }
  const name = `ony_t_${randomBytes(6).toString('hex')}`;
  await asServerAdmin(realDatabaseUrl!, `create database ${name}`);
  extraDatabases.push(name);
  const owner = new URL(database.url!);
  owner.pathname = `/${name}`;
  const runtime = new URL(database.runtimeUrl!);
  runtime.pathname = `/${name}`;
  return { ...env, ONY_MIGRATE_DATABASE_URL: owner.toString(), DATABASE_URL: runtime.toString() };
}

const secretsOf = (e: NodeJS.ProcessEnv): string[] =>
  [e.DATABASE_URL, e.ONY_MIGRATE_DATABASE_URL]
    .filter((u): u is string => u !== undefined)
    .map((u) => new URL(u).password)
    .filter((p) => p !== '')
    .concat([MASTER]);

describe('ony backup', () => {
  let archive: string;

  it('creates backups in a directory and keeps the newest N', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await cli(['backup', 'create', '--out', backups, '--keep', '2'], env);
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout) as { file: string; orgs: number };
      expect(summary.orgs).toBe(1);
      archive = summary.file;
      for (const s of secretsOf(env)) expect(r.stdout + r.stderr).not.toContain(s);
    }
    const names = (await readdir(backups)).sort();
    expect(names.filter((n) => n.endsWith('.onybak'))).toHaveLength(2);
    expect(names).toContain('erasure-ledger.jsonl');
  }, 180_000);

  it('verify lists the orgs and their audit heads', async () => {
    const r = await cli(['backup', 'verify', archive], env);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as { ok: boolean; orgs: { org_id: string; seq: number; hash: string }[] };
    expect(m.ok).toBe(true);
    expect(m.orgs).toEqual([
      { org_id: orgId, seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
  });

  it('verify: a tampered archive exits 1 naming the chunk; a wrong key says so', async () => {
    const bad = join(dir, 'bad.onybak');
    const buf = Buffer.from(await readFile(archive));
    buf[buf.length - 5] = buf[buf.length - 5]! ^ 1;
    await writeFile(bad, buf);
    const r = await cli(['backup', 'verify', bad], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ony backup verify: chunk \d+ failed authentication/);

    const wrong = await cli(['backup', 'verify', archive], {
      ...env,
      ONY_BACKUP_KEY: randomBytes(32).toString('base64'),
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/sealed with backup key bk_[0-9a-f]{12}, and this server's key is bk_/);
  });

  it('bad flags exit 2 with the usage', async () => {
    for (const argv of [
      ['backup', 'create', '--nope'],
      ['backup', 'create', '--out', backups, '--keep', '0'],
      ['backup', 'create', '--out', join(dir, 'one.onybak'), '--keep', '2'],
      ['backup', 'verify'],
      ['backup', 'verify', 'a', 'b'],
      ['backup', 'restore', archive],
      ['backup', 'restore', archive, '--ledger', backups, '--no-ledger'],
      ['backup', 'restore'],
      ['backup', 'create', '--out', backups, '--s3', 's3://bucket/x/'],
    ]) {
      const r = await cli(argv, env);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toContain('usage: ony backup');
    }
  });

  it('restores into an empty database only, with the ledger it was told to use', async () => {
    const target = await emptyTarget();
    if (database === undefined) {
      await mkdir(target.ONY_DATA_DIR!, { recursive: true });
    }
    const noLedger = await cli(['backup', 'restore', archive, '--ledger', join(dir, 'missing')], target);
    expect(noLedger.code).toBe(1);
    expect(noLedger.stderr).toMatch(/cannot read the erasure ledger at .*missing/);

    const grant = database !== undefined ? ['--grant-runtime', database.login!] : [];
    const ok = await cli(['backup', 'restore', archive, '--ledger', backups, ...grant], target);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ orgs: 1, erased_again: [] });
    for (const s of secretsOf(target)) expect(ok.stdout + ok.stderr).not.toContain(s);

    // The restored server's chain verifies.
    const verify = await cli(['audit', 'verify', '--org', orgId], target);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);

    const again = await cli(['backup', 'restore', archive, '--no-ledger'], target);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not empty|already holds a database/);
  }, 240_000);

  it('a failed connection names no password', async () => {
    if (database === undefined) {
      const r = await cli(['backup', 'create', '--out', backups], {
        ...env,
        ONY_DATA_DIR: join(dir, 'nothing'),
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no embedded database at/);
      return;
    }
    const secret = 'S3cretPassw0rd';
    const url = urlAs(database.url!, 'nobody_here', secret);
    const r = await cli(['backup', 'create', '--out', backups], { ...env, ONY_MIGRATE_DATABASE_URL: url });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ony backup create: /);
    expect(r.stdout + r.stderr).not.toContain(secret);
    // Without pg_dump on PATH: one line saying so.
    const noTool = await runInMemory(['backup', 'create', '--out', backups], {
      env: { ...env, PATH: join(dir, 'empty-path') },
    });
    expect(noTool.code).toBe(1);
    expect(noTool.stderr).toMatch(/pg_dump is not installed or not on PATH/);
  }, 60_000);
});

describe('ony backup to an S3 bucket (s3rver)', () => {
  const BUCKET = 'ony-backups';
  let s3server: S3rver;
  let s3env: NodeJS.ProcessEnv;
  let s3: S3Client;
  beforeAll(async () => {
    s3server = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: join(dir, 's3'),
      configureBuckets: [{ name: BUCKET, configs: [] }],
    });
    const { port } = await s3server.run();
    const endpoint = `http://127.0.0.1:${port}`;
    s3 = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    s3env = {
      ONY_BACKUP_S3_BUCKET: BUCKET,
      ONY_BACKUP_S3_PREFIX: 'nightly/',
      ONY_BACKUP_S3_ENDPOINT: endpoint,
      ONY_BACKUP_S3_ALLOW_HTTP: 'true',
      ONY_BACKUP_S3_ACCESS_KEY_ID: 'S3RVER',
      ONY_BACKUP_S3_SECRET_ACCESS_KEY: 'S3RVER',
    };
  });
  afterAll(async () => {
    s3?.destroy();
    await s3server?.close();
  });

  const keys = async (prefix: string) =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map(
      (o) => o.Key!,
    );

  it('uploads, keeps the newest N, records erasures beside them, and restores without the erased org', async () => {
    const e = { ...env, ...s3env };
    const setup = await cli(
      ['setup', '--org-name', 'Gone', '--email', 'a@gone.test', '--name', 'A'],
      e,
      `${PASSWORD}\n`,
    );
    expect(setup.code, setup.stderr).toBe(0);
    const goneId = /\(([0-9a-f-]{36})\)/.exec(setup.stdout)![1]!;
    let archive = '';
    for (let i = 0; i < 2; i++) {
      const r = await cli(['backup', 'create', '--s3', `s3://${BUCKET}/nightly/`, '--keep', '1'], e);
      expect(r.code, r.stderr).toBe(0);
      archive = (JSON.parse(r.stdout) as { file: string }).file;
      expect(r.stdout + r.stderr).not.toContain('S3RVER');
    }
    expect((await keys('nightly/')).filter((k) => k.endsWith('.onybak'))).toEqual([
      archive.slice(`s3://${BUCKET}/`.length),
    ]);

    // The erasure goes to the ledger in the bucket, in the erasing transaction.
    const erase = await cli(['org', 'erase', '--org', goneId, '--now'], e, 'Gone\n');
    expect(erase.code, erase.stderr).toBe(0);
    expect(await keys('nightly/erasure-ledger/')).toEqual([`nightly/erasure-ledger/${goneId}.json`]);

    const verify = await cli(['backup', 'verify', archive], e);
    expect(verify.code, verify.stderr).toBe(0);
    expect((JSON.parse(verify.stdout) as { orgs: { org_id: string }[] }).orgs.map((o) => o.org_id)).toContain(
      goneId,
    );

    const target = { ...(await emptyTarget()), ...s3env };
    if (database === undefined) await mkdir(target.ONY_DATA_DIR!, { recursive: true });
    const grant = database !== undefined ? ['--grant-runtime', database.login!] : [];
    const restored = await cli(['backup', 'restore', archive, ...grant], target); // ledger: the bucket
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ erased_again: [goneId] });
    expect((await cli(['audit', 'verify', '--org', orgId], target)).code).toBe(0);
    const gone = await cli(['org', 'erase', '--org', goneId, '--now'], target, 'Gone\n');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`no organization ${goneId}`);
  }, 240_000);

  it('an unreachable bucket fails the backup with one clear line', async () => {
    const r = await cli(['backup', 'create', '--s3', `s3://${BUCKET}/x/`], {
      ...env,
      ...s3env,
      ONY_BACKUP_S3_ENDPOINT: 'http://127.0.0.1:9',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ony backup create: cannot upload to s3:\/\/ony-backups\/x\//);
    const bad = await cli(['backup', 'create', '--s3', 'https://example.com/'], { ...env, ...s3env });
    expect(bad.code).toBe(2);
  }, 120_000);
});
