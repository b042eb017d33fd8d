/**
 * Applies migrations/*.sql in name order, each once, all in one transaction under an advisory lock
 * (several replicas may start at once). A changed, already-applied file is an error: migrations
 * are append-only.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { sha256Hex } from '../lib/crypto.js';
import type { DB } from './schema.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const LOCK_KEY = 0x6f6e79; // "ony"

export interface Migration {
  readonly name: string;
  readonly sql: string;
  readonly sha256: string;
}

export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (name) => {
      const text = await readFile(`${dir}${name}`, 'utf8');
      return { name, sql: text, sha256: sha256Hex(text) };
    }),
  );
}

/** Applies pending migrations; answers the names it applied. */
export async function migrate(db: Kysely<DB>, migrations?: readonly Migration[]): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${LOCK_KEY})`.execute(tx);
    await sql`create table if not exists ony_migrations (
      name text primary key, sha256 text not null, applied_at timestamptz not null default now())`.execute(
      tx,
    );
    const applied = new Map(
      (
        await sql<{ name: string; sha256: string }>`select name, sha256 from ony_migrations`.execute(tx)
      ).rows.map((r) => [r.name, r.sha256]),
    );
    const done: string[] = [];
    for (const m of all) {
      const previous = applied.get(m.name);
      if (previous !== undefined) {
        if (previous !== m.sha256) {
          throw new Error(
            `migration ${m.name} was changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      await sql.raw(m.sql).execute(tx);
      await sql`reset role`.execute(tx);
      await sql`insert into ony_migrations (name, sha256) values (${m.name}, ${m.sha256})`.execute(tx);
      done.push(m.name);
    }
    return done;
  });
}
