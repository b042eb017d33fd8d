/**
 * Applies migrations/*.sql in name order, each once, under an advisory lock (several replicas may
 * start at once): consecutive ones in one transaction, and one marked `-- ony:no-transaction`
 * alone, outside any (core/migrations/plan.ts). A changed, already-applied file is an error:
 * migrations are append-only.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import {
  changedMigrationMessage,
  concurrentIndexName,
  planMigrations,
  type MigrationFile,
  type MigrationPlan,
  type MigrationStep,
} from '../core/migrations/plan.js';
import { sha256Hex } from '../lib/crypto.js';
import { transactionOn, type Tx } from './client.js';
import type { DB } from './schema.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const LOCK_KEY = 0x6f6e79; // "ony"; the same key as earlier releases' transaction-scoped lock

export type Migration = MigrationFile;

export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (name) => {
      const text = await readFile(`${dir}${name}`, 'utf8');
      return { name, sql: text, sha256: sha256Hex(text) };
    }),
  );
}

async function appliedMigrations(conn: Tx): Promise<Map<string, string>> {
  const { rows } = await sql<{ name: string; sha256: string }>`
    select name, sha256 from ony_migrations`.execute(conn);
  return new Map(rows.map((r) => [r.name, r.sha256]));
}

/** What `migrate` would do, changing nothing (`ony migrate --dry-run`). */
export async function planPending(db: Kysely<DB>, migrations?: readonly Migration[]): Promise<MigrationPlan> {
  const all = migrations ?? (await loadMigrations());
  return db.connection().execute(async (conn) => {
    const exists = (
      await sql<{ t: string | null }>`select to_regclass('ony_migrations')::text as t`.execute(conn)
    ).rows[0]?.t;
    return planMigrations(all, exists ? await appliedMigrations(conn) : new Map());
  });
}

/** Applies pending migrations; answers the names it applied. */
export async function migrate(db: Kysely<DB>, migrations?: readonly Migration[]): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  // One session for the whole run: the lock must outlive the transactions between steps.
  return db.connection().execute(async (conn) => {
    await lockMigrations(conn);
    try {
      await sql`create table if not exists ony_migrations (
        name text primary key, sha256 text not null, applied_at timestamptz not null default now())`.execute(
        conn,
      );
      const plan = planMigrations(all, await appliedMigrations(conn));
      if (plan.changed.length > 0) throw new Error(changedMigrationMessage(plan.changed));
      const done: string[] = [];
      for (const step of plan.steps) done.push(...(await applyStep(conn, step)));
      // The list of applied files is no secret, and the runtime login reads it to refuse to serve
      // a schema older than its code (pendingMigrations).
      await sql`grant select on ony_migrations to public`.execute(conn);
      return done;
    } finally {
      await sql`reset role`.execute(conn).catch(() => undefined);
      await sql`select pg_advisory_unlock(${LOCK_KEY})`.execute(conn).catch(() => undefined);
    }
  });
}

/**
 * Waits for the migration lock between short attempts, never inside a statement: a replica waiting
 * in `pg_advisory_lock` is an open transaction, which a CREATE INDEX CONCURRENTLY run by the lock's
 * holder would wait for in turn (a deadlock).
 */
async function lockMigrations(conn: Tx): Promise<void> {
  for (let pause = 50; ; pause = Math.min(pause * 2, 1000)) {
    const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${LOCK_KEY}) as ok`.execute(conn);
    if (rows[0]?.ok === true) return;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

const record = (conn: Tx, m: Migration) =>
  sql`insert into ony_migrations (name, sha256) values (${m.name}, ${m.sha256})`.execute(conn);

async function applyStep(conn: Tx, step: MigrationStep): Promise<string[]> {
  if (step.kind === 'transaction') {
    return transactionOn(conn, 'begin', async () => {
      for (const m of step.migrations) {
        await named(m, () => sql.raw(m.sql).execute(conn));
        await sql`reset role`.execute(conn);
        await record(conn, m);
      }
      return step.migrations.map((m) => m.name);
    });
  }
  const m = step.migration;
  await named(m, async () => {
    for (const statement of step.statements) {
      const index = concurrentIndexName(statement);
      if (index !== undefined) await dropInvalidIndex(conn, index);
      await sql.raw(statement).execute(conn);
    }
  });
  await sql`reset role`.execute(conn);
  await record(conn, m);
  return [m.name];
}

/** A failed concurrent build leaves its index behind, INVALID (unused, but still maintained). */
async function dropInvalidIndex(conn: Tx, name: string): Promise<void> {
  const invalid = (
    await sql<{ index: string }>`
      select i.indexrelid::regclass::text as index from pg_index i
      where i.indexrelid = to_regclass(${name}) and not i.indisvalid`.execute(conn)
  ).rows[0]?.index;
  // The name comes from the catalog (regclass output is quoted where it needs to be).
  if (invalid !== undefined) await sql.raw(`drop index concurrently if exists ${invalid}`).execute(conn);
}

async function named<T>(m: Migration, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * This server's migrations that the database has not applied, by name. Migrations the database has
 * and this server lacks (a newer replica migrated past it) are no concern: they are additive.
 */
export async function pendingMigrations(
  db: Kysely<DB>,
  migrations?: readonly Migration[],
): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  const table = (
    await sql<{ t: string | null }>`select to_regclass('public.ony_migrations')::text as t`.execute(db)
  ).rows[0]?.t;
  if (table === null || table === undefined) return all.map((m) => m.name);
  let rows: { name: string }[];
  try {
    rows = (await sql<{ name: string }>`select name from ony_migrations`.execute(db)).rows;
  } catch (err) {
    if ((err as { code?: unknown }).code !== '42501') throw err;
    throw new Error(
      'the database login cannot read ony_migrations (a database migrated by an older ony): run `ony migrate` once with the owner credential',
      { cause: err },
    );
  }
  const applied = new Set(rows.map((r) => r.name));
  return all.filter((m) => !applied.has(m.name)).map((m) => m.name);
}

/** pg-boss's schema (jobs/queue.ts), owned by the runtime login that runs the jobs. */
const JOBS_SCHEMA = 'pgboss';

/**
 * Gives a confined runtime login what `ony serve` needs, as the migrating (owner) credential:
 * membership of ony_app (every request SET ROLEs to it) and CREATE on the database, so pg-boss can
 * install and upgrade its own schema, which the runtime then owns. A pg-boss schema installed
 * earlier by another login (before the two credentials were split) is handed over to it. Refuses a
 * login that is the migrating one or already privileged: `ony serve` would refuse it anyway.
 */
export async function grantRuntime(db: Kysely<DB>, role: string): Promise<void> {
  if (!/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(role)) throw new Error(`"${role}" is not a role name`);
  await db.transaction().execute(async (tx) => {
    const r = (
      await sql<{ exists: boolean; me: boolean; login: boolean; privileged: boolean }>`
        select true as exists, r.rolname = current_user as me, r.rolcanlogin as login,
          (r.rolsuper or r.rolbypassrls or r.rolcreaterole
            or pg_has_role(r.oid, 'ony_owner', 'MEMBER')) as privileged
        from pg_roles r where r.rolname = ${role}`.execute(tx)
    ).rows[0];
    if (r === undefined)
      throw new Error(`role "${role}" does not exist; create it first (CREATE ROLE … LOGIN)`);
    if (r.me) throw new Error(`"${role}" is the migrating login; the runtime needs a login of its own`);
    if (r.privileged)
      throw new Error(
        `"${role}" is a superuser, has BYPASSRLS or CREATEROLE, or is a member of ony_owner; the runtime login must be confined`,
      );
    await sql`grant ony_app to ${sql.id(role)}`.execute(tx);
    const dbName = (await sql<{ d: string }>`select current_database() as d`.execute(tx)).rows[0]!.d;
    await sql`grant connect, create on database ${sql.id(dbName)} to ${sql.id(role)}`.execute(tx);
    // A pg-boss schema owned by another login: hand it, and everything in it, to the runtime.
    const owner = (
      await sql<{ owner: string }>`
        select n.nspowner::regrole::text as owner from pg_namespace n where n.nspname = ${JOBS_SCHEMA}`.execute(
        tx,
      )
    ).rows[0]?.owner;
    if (owner === undefined || owner === role) return;
    const objects = await sql<{ stmt: string }>`
      select format('alter %s %s owner to %I',
          case c.relkind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end,
          c.oid::regclass, ${role}::text) as stmt
        from pg_class c
        where c.relnamespace = ${JOBS_SCHEMA}::regnamespace and c.relkind in ('r','p','v','m')
      union all
      select format('alter sequence %s owner to %I', c.oid::regclass, ${role}::text)
        from pg_class c
        where c.relnamespace = ${JOBS_SCHEMA}::regnamespace and c.relkind = 'S'
          and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype in ('a','i'))
      union all
      select format('alter routine %s owner to %I', p.oid::regprocedure, ${role}::text)
        from pg_proc p where p.pronamespace = ${JOBS_SCHEMA}::regnamespace
      union all
      select format('alter type %s owner to %I', t.oid::regtype, ${role}::text)
        from pg_type t
        where t.typnamespace = ${JOBS_SCHEMA}::regnamespace and t.typrelid = 0 and t.typelem = 0`.execute(tx);
    await sql`alter schema ${sql.id(JOBS_SCHEMA)} owner to ${sql.id(role)}`.execute(tx);
    for (const o of objects.rows) await sql.raw(o.stmt).execute(tx);
  });
}
