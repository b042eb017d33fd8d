/**
 * `ony doctor` (issue #20 §4) from the operator's environment, in-process, against the real
 * database of this mode (a migrated PGlite data dir, or a fresh Postgres database and its confined
 * runtime login), real Redis when REDIS_URL is set, and the Telegram fake as a configured channel:
 * exit 0 when all is well, 1 naming each failed check, 2 on a bad flag; never a credential.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/db/client.js';
import { clockVerdict, type CheckRow } from '../../src/features/doctor/doctor-checks.js';
import { runInMemory } from '../helpers/cli.js';
import { freshDatabase, realDatabaseUrl, realRedisUrl, type TestDatabase } from '../helpers/db.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram.js';

const TOKEN = '7000001:AAHfakeTokenForTestsOnly_0123456789';
const SECRET = `pw${randomBytes(6).toString('hex')}`;
const masterKey = randomBytes(32).toString('base64');

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

let dir: string;
let database: TestDatabase | undefined;
let fake: FakeTelegram;
let publicServer: Server;
let publicUrl: string;
/** serve's environment in this mode: a healthy set-up with Telegram and a public URL that answers. */
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ony-doctor-'));
  fake = await startFakeTelegram(TOKEN);
  // What answers at the public URL (a reverse proxy in front of ony, as the operator set it up).
  publicServer = createHttpServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end());
  await new Promise<void>((resolve) => publicServer.listen(0, '127.0.0.1', resolve));
  publicUrl = `http://127.0.0.1:${(publicServer.address() as { port: number }).port}`;
  const common = {
    ONY_PUBLIC_URL: publicUrl,
    ONY_TELEGRAM_BOT_TOKEN: TOKEN,
    ONY_TELEGRAM_API_ROOT: fake.url,
    ONY_TELEGRAM_MODE: 'polling',
    ...(realRedisUrl !== undefined && { REDIS_URL: realRedisUrl }),
  };
  if (realDatabaseUrl !== undefined) {
    database = await freshDatabase();
    env = { ...common, DATABASE_URL: database.runtimeUrl!, ONY_MASTER_KEY: masterKey };
  } else {
    env = { ...common, ONY_DATA_DIR: dir };
    expect((await runInMemory(['migrate'], { env })).code).toBe(0);
  }
}, 120_000);

afterAll(async () => {
  await database?.close();
  await fake?.close();
  publicServer?.close();
  await rm(dir, { recursive: true, force: true });
});

async function doctor(extra: Record<string, string> = {}, argv: string[] = []) {
  const r = await runInMemory(['doctor', '--json', ...argv], { env: { ...env, ...extra } });
  const rows = r.code === 2 ? [] : (JSON.parse(r.stdout) as CheckRow[]);
  const row = (check: string) => rows.find((x) => x.check === check);
  return { ...r, rows, row };
}

/** As the owner: drop (or restore) the record of the newest migration. */
async function withNewestMissing<T>(fn: (name: string) => Promise<T>): Promise<T> {
  const owner = database ?? (await openPglite(join(dir, 'pglite')));
  const last = (
    await sql<{ name: string; sha256: string }>`
      select name, sha256 from ony_migrations order by name desc limit 1`.execute(owner.db)
  ).rows[0]!;
  await sql`delete from ony_migrations where name = ${last.name}`.execute(owner.db);
  if (database === undefined) await owner.close(); // PGlite serves one opener at a time
  try {
    return await fn(last.name);
  } finally {
    const again = database ?? (await openPglite(join(dir, 'pglite')));
    await sql`insert into ony_migrations (name, sha256) values (${last.name}, ${last.sha256})`.execute(
      again.db,
    );
    if (database === undefined) await again.close();
  }
}

describe('ony doctor', () => {
  it('all well: every check ok, exit 0, a table with one row per check, no message sent', async () => {
    const sentBefore = fake.calls.filter((c) => c.method !== 'getMe').length;
    const r = await doctor();
    expect(r.code, r.stdout).toBe(0);
    expect(r.rows.map((x) => x.check)).toEqual([
      'config',
      'database',
      'database login',
      'migrations',
      'clock',
      'redis',
      'channel console',
      'channel telegram',
      'public URL',
    ]);
    expect(
      r.rows.filter((x) => x.status !== 'ok'),
      r.stdout,
    ).toEqual([]);
    expect(r.row('migrations')?.detail).toMatch(/^up to date \(\d+ applied\)$/);
    expect(r.row('public URL')?.detail).toContain(publicUrl);
    if (realDatabaseUrl !== undefined)
      expect(r.row('database login')?.detail).toBe(
        `"${database!.login}" is confined (uses ony_app; owns nothing, bypasses nothing)`,
      );
    // Telegram's health is a getMe: nothing was sent.
    expect(fake.calls.filter((c) => c.method !== 'getMe').length).toBe(sentBefore);
    expect(r.stderr).toBe('');

    const table = await runInMemory(['doctor'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^CHECK\s+STATUS\s+DETAIL$/);
    expect(table.stdout).toMatch(/^channel telegram\s+ok\s+bot @\S+ answers$/m);
    expect(table.stdout + table.stderr).not.toContain(TOKEN);
  }, 120_000);

  it('names every failed check, exits 1 and prints no credential', async () => {
    const redisPort = await closedPort();
    const telegramPort = await closedPort();
    await withNewestMissing(async (missing) => {
      const r = await doctor({
        REDIS_URL: `redis://:${SECRET}@127.0.0.1:${redisPort}`,
        ONY_TELEGRAM_API_ROOT: `http://127.0.0.1:${telegramPort}`,
        ONY_MIGRATE_ON_START: 'false',
      });
      expect(r.code).toBe(1);
      expect(r.row('migrations')).toEqual({
        check: 'migrations',
        status: 'fail',
        detail: `run \`ony migrate\`; pending: ${missing}`,
      });
      expect(r.row('redis')).toEqual({
        check: 'redis',
        status: 'fail',
        detail: `cannot connect to Redis at redis://127.0.0.1:${redisPort} (REDIS_URL): connect ECONNREFUSED 127.0.0.1:${redisPort}`,
      });
      expect(r.row('channel telegram')?.status).toBe('fail');
      expect(r.stderr).toBe('ony doctor: 3 checks failed\n');
      expect(r.stdout + r.stderr).not.toContain(SECRET);
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
    });
  }, 120_000);

  it.skipIf(realDatabaseUrl !== undefined)(
    'embedded: pending migrations are a warning, since ony serve applies them at start',
    async () => {
      await withNewestMissing(async () => {
        const r = await doctor();
        expect(r.code).toBe(0);
        expect(r.row('migrations')).toEqual({
          check: 'migrations',
          status: 'warn',
          detail: '1 pending; ony serve applies them at start',
        });
      });
    },
    120_000,
  );

  it('a database that refuses the connection fails, and the checks that need it are skipped', async () => {
    const port = await closedPort();
    const r = await doctor({
      DATABASE_URL: `postgres://ony:${SECRET}@127.0.0.1:${port}/ony`,
      ONY_MASTER_KEY: masterKey,
    });
    expect(r.code).toBe(1);
    expect(r.row('database')).toEqual({
      check: 'database',
      status: 'fail',
      detail: `the database at postgres://ony@127.0.0.1:${port}/ony (DATABASE_URL) did not accept a connection: connect ECONNREFUSED 127.0.0.1:${port}`,
    });
    for (const check of ['database login', 'migrations', 'clock'])
      expect(r.row(check)).toEqual({ check, status: 'skip', detail: 'needs the database' });
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  }, 60_000);

  it.skipIf(realDatabaseUrl === undefined)(
    'a privileged database login fails the confinement check (a warning when explicitly allowed)',
    async () => {
      const r = await doctor({ DATABASE_URL: database!.url! });
      expect(r.code).toBe(1);
      expect(r.row('database login')?.status).toBe('fail');
      expect(r.row('database login')?.detail).toMatch(/is a superuser.*serve with a confined login/);
      const allowed = await doctor({ DATABASE_URL: database!.url!, ONY_ALLOW_PRIVILEGED_DB_LOGIN: '1' });
      expect(allowed.code).toBe(0);
      expect(allowed.row('database login')?.status).toBe('warn');
    },
    60_000,
  );

  it('a bad configuration is the failed check, without echoing secrets', async () => {
    const r = await doctor({
      ONY_MASTER_KEY: `not-a-key-${SECRET}`,
      DATABASE_URL: `postgres://ony:${SECRET}@db/ony`,
    });
    expect(r.code).toBe(1);
    expect(r.rows).toEqual([
      {
        check: 'config',
        status: 'fail',
        detail: 'ONY_MASTER_KEY must be 32 bytes, base64-encoded; generate one with `ony keygen`',
      },
    ]);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('a bad flag exits 2 with the usage', async () => {
    const r = await runInMemory(['doctor', '--fix'], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ony doctor: Unknown option '--fix'\n\nusage: ony doctor \[--json\]/);
  });
});

describe('the clock row', () => {
  it('is ok within 2 s, a warning up to 30 s, a failure beyond', () => {
    expect(clockVerdict(-1_500, 3)).toEqual({
      check: 'clock',
      status: 'ok',
      detail: 'database behind by 1500 ms (round trip 3 ms)',
    });
    expect(clockVerdict(2_500, 3).status).toBe('warn');
    expect(clockVerdict(-31_000, 3)).toEqual({
      check: 'clock',
      status: 'fail',
      detail: 'database behind by 31000 ms (round trip 3 ms): sync both clocks (NTP)',
    });
  });
});
