/**
 * A fresh, migrated database for one test file: PGlite in memory by default, or a new database on
 * the Postgres server of DATABASE_URL (dropped afterwards) when that is set.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectPostgres, openPglite, type Database } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrator.js';

export const realDatabaseUrl = process.env.DATABASE_URL;
export const realRedisUrl = process.env.REDIS_URL;

export interface TestDatabase extends Database {
  /** The connection string of this test database (Postgres mode only). */
  readonly url: string | undefined;
}

export async function freshDatabase(): Promise<TestDatabase> {
  return realDatabaseUrl === undefined ? freshPglite() : freshPostgres(realDatabaseUrl);
}

/** A migrated in-memory PGlite. */
export async function freshPglite(): Promise<TestDatabase> {
  const database = await openPglite(undefined);
  await migrate(database.db);
  return { ...database, url: undefined };
}

/** A new, migrated database on the server of serverUrl; close() drops it. */
export async function freshPostgres(serverUrl: string): Promise<TestDatabase> {
  const name = `ony_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = connectPostgres(url.toString(), 5);
  await migrate(database.db);
  return {
    kind: database.kind,
    db: database.db,
    url: url.toString(),
    close: async () => {
      await database.close();
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
