/**
 * `ony serve` says what is wrong when it cannot start (issue #20 §4), as an operator sees it: a
 * real process, one line on stderr, exit 1, no stack, no hang, never a password.
 * - the database refuses the connection: the line says it is the database, and where;
 * - Redis cannot be reached: the line names Redis and its URL;
 * - the database lacks migrations: "run `ony migrate`; pending: …".
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/db/client.js';
import { runInMemory } from '../helpers/cli.js';
import { asServerAdmin, freshDatabase, realDatabaseUrl, type TestDatabase } from '../helpers/db.js';

const root = new URL('../../', import.meta.url).pathname;
const masterKey = randomBytes(32).toString('base64');
const SECRET = `pw${randomBytes(6).toString('hex')}`;

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Runs `ony serve` to its exit (a hang fails the test at its timeout). */
async function serveUntilExit(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts'), 'serve'], {
    cwd: root,
    env: { PATH: process.env.PATH, ONY_LOG_LEVEL: 'warn', ONY_PORT: String(await closedPort()), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

const dirs: string[] = [];
const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  for (const d of databases) await d.close();
});

/** The database settings of this mode: a fresh Postgres database's runtime login, or a new data dir. */
async function databaseEnv(): Promise<Record<string, string>> {
  if (realDatabaseUrl !== undefined) {
    const database = await freshDatabase();
    databases.push(database);
    return { DATABASE_URL: database.runtimeUrl!, ONY_MASTER_KEY: masterKey };
  }
  const dir = await mkdtemp(join(tmpdir(), 'ony-explain-'));
  dirs.push(dir);
  return { ONY_DATA_DIR: dir };
}

describe('ony serve when something is missing', () => {
  it('a refused database connection is named as the database, with its address and no password', async () => {
    const port = await closedPort();
    const r = await serveUntilExit({
      DATABASE_URL: `postgres://ony:${SECRET}@127.0.0.1:${port}/ony`,
      ONY_MASTER_KEY: masterKey,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `ony: the database at postgres://ony@127.0.0.1:${port}/ony (DATABASE_URL) did not accept a connection: ` +
        `connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  }, 120_000);

  it('an unreachable Redis is one line naming Redis and its URL, then exit 1 (no stack, no hang)', async () => {
    const port = await closedPort();
    const r = await serveUntilExit({
      ...(await databaseEnv()),
      REDIS_URL: `redis://:${SECRET}@127.0.0.1:${port}`,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `ony: cannot connect to Redis at redis://127.0.0.1:${port} (REDIS_URL): connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
    expect(r.stdout).not.toMatch(/ioredis|Unhandled|\n\s+at /);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  }, 180_000);
});

describe('ony migrate when the database refuses', () => {
  it('names the database and where its URL came from, without the password', async () => {
    const port = await closedPort();
    const url = `postgres://ony:${SECRET}@127.0.0.1:${port}/ony`;
    const err = await runInMemory(['migrate', '--database-url', url]).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe(
      `the database at postgres://ony@127.0.0.1:${port}/ony (--database-url) did not accept a connection: ` +
        `connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });
});

describe('ony serve on a database behind its migrations', () => {
  /** A migrated database that then "loses" its two newest migrations; answers serve's environment. */
  async function behind(): Promise<{ env: Record<string, string>; missing: string[] }> {
    if (realDatabaseUrl !== undefined) {
      const database = await freshDatabase();
      databases.push(database);
      const missing = await dropNewest(database.db);
      return { env: { DATABASE_URL: database.runtimeUrl!, ONY_MASTER_KEY: masterKey }, missing };
    }
    const dir = await mkdtemp(join(tmpdir(), 'ony-explain-'));
    dirs.push(dir);
    expect((await runInMemory(['migrate'], { env: { ONY_DATA_DIR: dir } })).code).toBe(0);
    const pglite = await openPglite(join(dir, 'pglite'));
    try {
      return {
        env: { ONY_DATA_DIR: dir, ONY_MIGRATE_ON_START: 'false' },
        missing: await dropNewest(pglite.db),
      };
    } finally {
      await pglite.close();
    }
  }

  async function dropNewest(db: TestDatabase['db']): Promise<string[]> {
    const rows = await sql<{ name: string }>`
      delete from ony_migrations where name in (select name from ony_migrations order by name desc limit 2)
      returning name`.execute(db);
    return rows.rows.map((r) => r.name).sort();
  }

  it('refuses to start: "run `ony migrate`; pending: …" names the missing files', async () => {
    const { env, missing } = await behind();
    await expect(runInMemory(['serve'], { env })).rejects.toThrow(
      new RegExp(`run \`ony migrate\`; pending: ${missing.join(', ').replace(/\./g, '\\.')}$`),
    );
  }, 180_000);

  it.skipIf(realDatabaseUrl === undefined)(
    'a database migrated by an older ony (no read grant on the list) says to run `ony migrate` once',
    async () => {
      const database = await freshDatabase();
      databases.push(database);
      await asServerAdmin(database.url!, 'revoke select on ony_migrations from public');
      const env = { DATABASE_URL: database.runtimeUrl!, ONY_MASTER_KEY: masterKey };
      await expect(runInMemory(['serve'], { env })).rejects.toThrow(
        'the database login cannot read ony_migrations (a database migrated by an older ony): run `ony migrate` once with the owner credential',
      );
      // `ony migrate` with the owner credential grants it, with nothing else to apply.
      const migrated = await runInMemory(['migrate', '--database-url', database.url!], { env });
      expect(migrated).toMatchObject({ code: 0, stdout: 'database is up to date\n' });
      const rows = await sql<{ ok: boolean }>`
        select has_table_privilege(${database.login!}, 'ony_migrations', 'select') as ok`.execute(
        database.db,
      );
      expect(rows.rows[0]!.ok).toBe(true);
    },
    120_000,
  );
});
