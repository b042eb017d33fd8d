/**
 * The migrator with migrations of a test's own (a temp dir): a `-- ony:no-transaction` migration
 * builds its index CONCURRENTLY outside any transaction, after the transactional ones before it; a
 * failed build is not recorded, leaves the INVALID index Postgres leaves, and a retry drops it and
 * finishes. The same SQL runs on PGlite (it supports CONCURRENTLY too). A dry run changes nothing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { DB } from '../../src/db/schema.js';
import { connectPostgres, type Database } from '../../src/db/client.js';
import { loadMigrations, migrate, planPending } from '../../src/db/migrator.js';
import { emptyDatabase, realDatabaseUrl } from '../helpers/db.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ony-migrations-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return `${dir}/`;
}

async function empty(): Promise<Database & { url: string | undefined }> {
  const database = await emptyDatabase();
  cleanups.push(() => database.close());
  return database;
}

const applied = async (db: Kysely<DB>) =>
  (await sql<{ name: string }>`select name from ony_migrations order by name`.execute(db)).rows.map(
    (r) => r.name,
  );

const indexValid = async (db: Kysely<DB>, name: string) =>
  (
    await sql<{ valid: boolean }>`
      select i.indisvalid as valid from pg_index i where i.indexrelid = to_regclass(${name})`.execute(db)
  ).rows[0]?.valid;

const FILES = {
  '0001_items.sql': `create table items (id int primary key, code text not null);
insert into items values (1, 'a'), (2, 'a'), (3, 'b');`,
  // Would fail inside a transaction ("cannot run inside a transaction block"), and fails here
  // while two items share a code: the build leaves an INVALID index.
  '0002_items_code.sql': `-- ony:no-transaction
-- A unique index on a big table, built without blocking writes.
create unique index concurrently if not exists items_code on items (code);
comment on index items_code is 'built concurrently; the comment shows a second statement ran';`,
  '0003_after.sql': `create table after_items (id int primary key);`,
};

describe('migrator', () => {
  it('builds an index concurrently outside the transaction; a failed build is retried from scratch', async () => {
    const dir = await migrationsDir(FILES);
    const database = await empty();
    const migrations = await loadMigrations(dir);

    await expect(migrate(database.db, migrations)).rejects.toThrow(
      /migration 0002_items_code.sql failed: could not create unique index "items_code"/,
    );
    // The transactional migration before it is applied and recorded; the failed one and the one
    // after it are not; the failed build left its index INVALID, as Postgres does.
    expect(await applied(database.db)).toEqual(['0001_items.sql']);
    expect(await indexValid(database.db, 'items_code')).toBe(false);
    expect(await sql`select to_regclass('after_items') as t`.execute(database.db)).toMatchObject({
      rows: [{ t: null }],
    });

    await sql`update items set code = 'c' where id = 2`.execute(database.db);
    expect(await migrate(database.db, migrations)).toEqual(['0002_items_code.sql', '0003_after.sql']);
    expect(await indexValid(database.db, 'items_code')).toBe(true);
    const comment = await sql<{
      c: string;
    }>`select obj_description(to_regclass('items_code'), 'pg_class') as c`.execute(database.db);
    expect(comment.rows[0]!.c).toMatch(/built concurrently/);
    expect(await applied(database.db)).toEqual(['0001_items.sql', '0002_items_code.sql', '0003_after.sql']);
    expect(await migrate(database.db, migrations)).toEqual([]);
    // The lock was released and the session's role reset: the connection is fit for reuse.
    const who = await sql<{ u: string; c: string }>`select current_user as u, session_user as c`.execute(
      database.db,
    );
    expect(who.rows[0]!.u).toBe(who.rows[0]!.c);
  }, 60_000);

  it('a dry run lists what is pending and changes nothing; it finds a changed applied file', async () => {
    const dir = await migrationsDir(FILES);
    const database = await empty();
    const migrations = await loadMigrations(dir);
    const plan = await planPending(database.db, migrations);
    expect(plan.pending.map((m) => m.name)).toEqual(Object.keys(FILES));
    expect(plan.changed).toEqual([]);
    expect(
      (await sql<{ t: string | null }>`select to_regclass('ony_migrations')::text as t`.execute(database.db))
        .rows[0]!.t,
    ).toBeNull();

    await writeFile(`${dir}0002_items_code.sql`, '-- ony:no-transaction\nselect 1;');
    await migrate(database.db, await loadMigrations(dir));
    await writeFile(`${dir}0001_items.sql`, 'create table items ();');
    const changed = await planPending(database.db, await loadMigrations(dir));
    expect(changed.changed).toEqual(['0001_items.sql']);
    expect(changed.pending).toEqual([]);
    await expect(migrate(database.db, await loadMigrations(dir))).rejects.toThrow(
      'migration 0001_items.sql was changed after it was applied; add a new migration instead',
    );
  }, 60_000);

  it.skipIf(realDatabaseUrl === undefined)(
    'replicas migrating at once apply each migration once (Postgres: PGlite has one connection)',
    async () => {
      const dir = await migrationsDir({
        ...FILES,
        '0001_items.sql': 'create table items (id int primary key, code text);',
      });
      const database = await empty();
      const other = connectPostgres(database.url!, 2);
      cleanups.push(() => other.close());
      const migrations = await loadMigrations(dir);
      const results = await Promise.all([migrate(database.db, migrations), migrate(other.db, migrations)]);
      expect(results.flat().sort()).toEqual(Object.keys(FILES));
      expect(await applied(database.db)).toEqual(Object.keys(FILES));
    },
    60_000,
  );
});
