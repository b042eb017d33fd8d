/**
 * A fresh, migrated database for one test file: PGlite in memory by default, or a new database on
 * the Postgres server of DATABASE_URL (dropped afterwards) when that is set.
 *
 * On Postgres the server gets what production gets (DESIGN.md §3 invariant 11): the database is
 * migrated with the server's login (the owner credential; `db` stays on it, for tests that look at
 * or tamper with rows as the owner), and `runtime` is a confined login of its own (`ony migrate
 * --grant-runtime`), so the whole real-mode suite proves the runtime never needs owner rights.
 * Embedded PGlite has one login: `runtime` is the same database.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectPostgres, openPglite, type Database } from '../../src/db/client.js';
import { grantRuntime, migrate } from '../../src/db/migrator.js';

export const realDatabaseUrl = process.env.DATABASE_URL;
export const realRedisUrl = process.env.REDIS_URL;

export interface TestDatabase extends Database {
  /** The owner credential's connection string (Postgres mode only): migrations, operator commands. */
  readonly url: string | undefined;
  /** What the server runs on: a confined runtime login on Postgres; the same database on PGlite. */
  readonly runtime: Database;
  /** The runtime login's connection string, for DATABASE_URL (Postgres mode only). */
  readonly runtimeUrl: string | undefined;
  /** The runtime login's role name (Postgres mode only). */
  readonly login: string | undefined;
}

export async function freshDatabase(): Promise<TestDatabase> {
  return realDatabaseUrl === undefined ? freshPglite() : freshPostgres(realDatabaseUrl);
}

/** A migrated in-memory PGlite (one login: the runtime is the same database). */
export async function freshPglite(): Promise<TestDatabase> {
  const database = await openPglite(undefined);
  await migrate(database.db);
  return { ...database, url: undefined, runtime: database, runtimeUrl: undefined, login: undefined };
}

/**
 * An empty, unmigrated database: in-memory PGlite, or a new database on DATABASE_URL's server (its
 * `url` logs in as the server's login; closing drops it).
 */
export async function emptyDatabase(): Promise<Database & { readonly url: string | undefined }> {
  if (realDatabaseUrl === undefined) return { ...(await openPglite(undefined)), url: undefined };
  const name = `ony_t_${randomBytes(6).toString('hex')}`;
  await asServerAdmin(realDatabaseUrl, `create database ${name}`);
  const url = new URL(realDatabaseUrl);
  url.pathname = `/${name}`;
  const database = connectPostgres(url.toString(), 3);
  const close = async (): Promise<void> => {
    await database.close();
    await asServerAdmin(realDatabaseUrl, `drop database if exists ${name} with (force)`);
  };
  return { ...database, url: url.toString(), close };
}

/** Runs statements with the server's own login (creating and dropping databases and roles). */
export async function asServerAdmin(serverUrl: string, ...statements: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

/** A unique role name for a test (several test files share one server). */
export const uniqueRoleName = (prefix: string): string => `${prefix}_${randomBytes(6).toString('hex')}`;

/** serverUrl's server and database, logging in as `login`. */
export function urlAs(baseUrl: string, login: string, password: string): string {
  const u = new URL(baseUrl);
  u.username = login;
  u.password = password;
  return u.toString();
}

/**
 * A new database on the server of serverUrl, migrated by the server's login (the owner handle,
 * `db`), with a new confined runtime login for the server (`runtime`). Closing either closes both
 * and drops the database and the login. `prefix` names the database (benches use their own).
 */
export async function freshPostgres(serverUrl: string, prefix = 'ony_t'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const login = uniqueRoleName('ony_rt');
  const password = randomBytes(12).toString('hex');
  await asServerAdmin(serverUrl, `create database ${name}`);
  const ownerUrl = new URL(serverUrl);
  ownerUrl.pathname = `/${name}`;
  const owner = connectPostgres(ownerUrl.toString(), 3);
  await migrate(owner.db);
  // NOINHERIT, as docker-compose's login: without SET ROLE ony_app it holds no right on ony's tables.
  await asServerAdmin(serverUrl, `create role ${login} login noinherit password '${password}'`);
  await grantRuntime(owner.db, login);
  const runtimeUrl = urlAs(ownerUrl.toString(), login, password);
  const runtimeDb = connectPostgres(runtimeUrl, 5);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await Promise.allSettled([runtimeDb.close(), owner.close()]);
      await asServerAdmin(
        serverUrl,
        `drop database if exists ${name} with (force)`,
        `drop role if exists ${login}`,
      );
    })());
  return {
    kind: owner.kind,
    db: owner.db,
    url: ownerUrl.toString(),
    runtime: { kind: runtimeDb.kind, db: runtimeDb.db, close },
    runtimeUrl,
    login,
    close,
  };
}
