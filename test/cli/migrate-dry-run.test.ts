/**
 * `ony migrate --dry-run` on an unmigrated database (a fresh embedded data dir, or a new Postgres
 * database): lists every migration as pending, changes nothing, exits 0; after `ony migrate`, says
 * nothing is pending; with an applied migration's recorded checksum no longer matching its file,
 * names it and exits 1. Bad flags exit 2 with the usage; no output holds the database password.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/db/client.js';
import { isNoTransaction } from '../../src/core/migrations/plan.js';
import { loadMigrations } from '../../src/db/migrator.js';
import { runInMemory } from '../helpers/cli.js';
import { asServerAdmin, emptyDatabase, realDatabaseUrl, uniqueRoleName, urlAs } from '../helpers/db.js';

const PASSWORD = 'dry-run-secret-7f3a';
const login = uniqueRoleName('ony_mig');
let dir: string;
let database: Awaited<ReturnType<typeof emptyDatabase>> | undefined;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ony-dry-run-'));
  if (realDatabaseUrl) {
    database = await emptyDatabase();
    // A migrating login of its own with a password in the URL, to show it never reaches the output.
    await asServerAdmin(realDatabaseUrl, `create role ${login} login superuser password '${PASSWORD}'`);
    env = {
      DATABASE_URL: urlAs(database.url!, login, PASSWORD),
      ONY_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
      ONY_LOG_LEVEL: 'silent',
    };
  } else {
    env = { ONY_DATA_DIR: dir, ONY_LOG_LEVEL: 'silent' };
  }
});
afterAll(async () => {
  await database?.close();
  if (realDatabaseUrl) await asServerAdmin(realDatabaseUrl, `drop role if exists ${login}`);
  await rm(dir, { recursive: true, force: true });
});

const cli = async (argv: string[]) => {
  const r = await runInMemory(['migrate', ...argv], { env });
  expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  return r;
};

/** Runs statements as the migrating login: the Postgres database, or the embedded data dir. */
async function asOwner(statement: string): Promise<unknown[]> {
  if (database) return (await sql.raw(statement).execute(database.db)).rows;
  const local = await openPglite(join(dir, 'pglite'));
  try {
    return (await sql.raw(statement).execute(local.db)).rows;
  } finally {
    await local.close();
  }
}

describe('ony migrate --dry-run', () => {
  it('lists what is pending and changes nothing; then nothing is pending; a changed file fails', async () => {
    const migrations = await loadMigrations();
    const names = migrations.map((m) => m.name);
    // A migration marked `-- ony:no-transaction` (a concurrent index build) is listed as such.
    const line = (m: { name: string; sql: string }) =>
      `  ${m.name}${isNoTransaction(m.sql) ? '  (outside a transaction, alone)' : ''}\n`;
    const dry = await cli(['--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(`pending (${migrations.length}):\n${migrations.map(line).join('')}`);
    expect(dry.stdout).toContain('0023_handoff_list_index.sql  (outside a transaction, alone)');
    expect(await asOwner(`select to_regclass('ony_migrations')::text as t`)).toEqual([{ t: null }]);

    const applied = await cli([]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toBe(`applied: ${names.join(', ')}\n`);
    expect(await cli(['--dry-run'])).toMatchObject({
      code: 0,
      stdout: 'database is up to date; nothing pending\n',
    });

    await asOwner(`update ony_migrations set sha256 = 'edited' where name = '${names[2]}'`);
    const changed = await cli(['--dry-run']);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toBe(
      `ony migrate: migration ${names[2]} was changed after it was applied; add a new migration instead\n`,
    );
    expect(changed.stdout).toBe('');
  }, 120_000);

  it('bad flags exit 2 with the usage and change nothing', async () => {
    for (const argv of [['--dry-run', '--grant-runtime', 'ony_rt'], ['--dry-run=yes'], ['--bogus']]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toContain('usage: ony migrate');
      expect(r.stdout).toBe('');
    }
  });
});
