/**
 * Backups (docs/backups.md): create (pg_dump -Fc in one exported snapshot, or PGlite's data-dir
 * dump), verify, and restore into an empty database followed by the migrations and every erasure
 * in the ledger. The dump streams through the sealing and never sits in memory on Postgres.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import {
  backupFileName,
  expiredBackups,
  type Manifest,
  type OrgHead,
} from '../../core/backup/archive-format.js';
import { connectPostgres, openPglite, withOwner, type Database } from '../../db/client.js';
import { grantRuntime, loadMigrations, migrate } from '../../db/migrator.js';
import type { DB } from '../../db/schema.js';
import { deleteOrgJobs, eraseOrgRows, orgNameAsOwner } from '../erasure/erasure.repository.js';
import { openArchive, sealArchive, type ManifestBase } from './archive-stream.js';
import type { BackupKeys } from './backup-key.js';
import { ensureLedger, type LedgerEntry } from './erasure-ledger.js';
import type { S3ArchiveStore } from './s3-archive-store.js';

export const SERVER_VERSION = '0.1.0';

export class BackupError extends Error {
  override readonly name = 'BackupError';
}

/** libpq's environment for a postgres:// URL, so no password ever appears in a child's argv. */
export function libpqEnv(url: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const u = new URL(url);
  const env: NodeJS.ProcessEnv = { PATH: base.PATH, PGAPPNAME: 'ony-backup', PGCONNECT_TIMEOUT: '10' };
  const host = u.searchParams.get('host') ?? u.hostname.replace(/^\[|\]$/g, '');
  if (host !== '') env.PGHOST = host;
  if (u.port !== '') env.PGPORT = u.port;
  if (u.username !== '') env.PGUSER = decodeURIComponent(u.username);
  if (u.password !== '') env.PGPASSWORD = decodeURIComponent(u.password);
  else if (base.PGPASSWORD !== undefined) env.PGPASSWORD = base.PGPASSWORD;
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode !== null) env.PGSSLMODE = sslmode;
  env.PGDATABASE = decodeURIComponent(u.pathname.slice(1)) || env.PGUSER;
  return env;
}

type Query = (text: string) => Promise<Record<string, unknown>[]>;

/** What the manifest says about the database: the last migration and every org's audit head. */
async function readState(query: Query, now: Date): Promise<ManifestBase> {
  const heads = await query(
    `select org_id::text as org_id, seq, encode(hash, 'hex') as hash from audit_heads order by org_id`,
  );
  const last = await query(`select max(name) as name from ony_migrations`);
  return {
    server_version: SERVER_VERSION,
    last_migration: (last[0]?.name as string | null | undefined) ?? null,
    created_at: now.toISOString(),
    orgs: heads.map((h): OrgHead => ({ org_id: String(h.org_id), seq: Number(h.seq), hash: String(h.hash) })),
  };
}

/**
 * A tool's exit code, collecting (a bounded tail of) its stderr. It never rejects (an unawaited
 * rejection would crash the process): a tool that cannot start answers -1, with the reason.
 */
function exitOf(child: ChildProcess, stderr: { text: string }): Promise<number> {
  child.stderr?.on('data', (d: Buffer) => (stderr.text = (stderr.text + d.toString()).slice(-4000)));
  return new Promise((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      stderr.text =
        err.code === 'ENOENT'
          ? `${child.spawnfile} is not installed or not on PATH (install the PostgreSQL client, version 15 or newer)`
          : err.message;
      resolve(-1);
    });
    child.once('close', (code, signal) => resolve(code ?? (signal !== null ? 128 : 1)));
  });
}

const toolError = (tool: string, code: number, stderr: string): BackupError =>
  new BackupError(
    `${tool} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no message'}`,
  );

export type BackupSourceDb =
  | { readonly kind: 'postgres'; readonly url: string; readonly env: NodeJS.ProcessEnv }
  | { readonly kind: 'pglite'; readonly database: Database };

export interface CreatedBackup {
  /** The archive: a path, or s3://bucket/prefix/name. */
  readonly file: string;
  readonly manifest: Manifest;
  readonly bytes: number;
  /** Older backups removed by --keep. */
  readonly removed: readonly string[];
}

/** Where a backup goes: a file, a directory (time-named files, pruned), or a bucket (the same). */
export type Destination =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'dir'; readonly path: string; readonly keep?: number | undefined }
  | { readonly kind: 's3'; readonly store: S3ArchiveStore; readonly keep?: number | undefined };

/** An archive to read: a file path, or a function that streams it (from a bucket). */
export type ArchiveSource = string | (() => AsyncIterable<Buffer | Uint8Array>);

const streamOf = (src: ArchiveSource): AsyncIterable<Buffer | Uint8Array> =>
  typeof src === 'string' ? createReadStream(src) : src();

/**
 * Writes a backup to `out`. In a directory or a bucket it gets a time-named file, then `keep` prunes
 * the oldest, and a directory's erasure ledger is created if missing. A file is written to
 * `<file>.partial` and renamed when complete (a bucket's multipart upload is aborted on failure), so
 * an interrupted backup never looks like one. The archive is read back before `keep` prunes.
 */
export async function createBackup(
  source: BackupSourceDb,
  keys: BackupKeys,
  out: Destination,
  now: Date,
): Promise<CreatedBackup> {
  const name = backupFileName(now);
  const seal = async (sink: (sealed: AsyncIterable<Buffer>) => Promise<void>) => {
    if (source.kind === 'pglite') {
      if (source.database.dumpDataDir === undefined)
        throw new Error('this database cannot dump its data dir');
      const q: Query = async (text) => (await sql.raw(text).execute(source.database.db)).rows as never;
      const base = await readState(q, now);
      const blob = await source.database.dumpDataDir();
      await sink(sealArchive(Readable.fromWeb(blob.stream() as never), keys.current, 'pglite', () => base));
    } else {
      await dumpPostgres(source.url, source.env, now, (dump, base) =>
        sink(sealArchive(dump, keys.current, 'pg_dump', base)),
      );
    }
  };
  if (out.kind === 's3') {
    let bytes = 0;
    await seal(async (sealed) => {
      bytes = await out.store.upload(name, sealed);
    });
    const { manifest } = await verifyBackup(() => out.store.download(name), keys);
    const removed = out.keep !== undefined ? await pruneS3(out.store, out.keep) : [];
    return { file: `${out.store.url}${name}`, manifest, bytes, removed };
  }
  const file = out.kind === 'dir' ? join(out.path, name) : out.path;
  if (out.kind === 'dir') await ensureLedger(out.path);
  const partial = `${file}.partial`;
  try {
    await seal((sealed) => pipeline(Readable.from(sealed), createWriteStream(partial, { mode: 0o600 })));
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  // Read back once: a backup that does not open is reported now, not on the day it is needed.
  const { manifest } = await verifyBackup(file, keys);
  const removed = out.kind === 'dir' && out.keep !== undefined ? await prune(out.path, out.keep) : [];
  return { file, manifest, bytes: (await stat(file)).size, removed };
}

async function pruneS3(store: S3ArchiveStore, keep: number): Promise<string[]> {
  const old = expiredBackups(await store.list(), keep);
  for (const name of old) await store.remove(name);
  return old;
}

async function prune(dir: string, keep: number): Promise<string[]> {
  const old = expiredBackups(await readdir(dir), keep);
  for (const name of old) await rm(join(dir, name), { force: true });
  return old;
}

/**
 * pg_dump -Fc of the snapshot that the manifest's audit heads were read in (pg_export_snapshot),
 * so the heads describe exactly the dumped rows. row_security = off makes a login that RLS would
 * confine fail loudly instead of dumping a filtered database.
 */
async function dumpPostgres(
  url: string,
  baseEnv: NodeJS.ProcessEnv,
  now: Date,
  write: (dump: AsyncIterable<Buffer>, base: () => Promise<ManifestBase>) => Promise<void>,
): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'ony-backup' });
  client.on('error', () => undefined); // a dropped connection fails the query in flight
  await client.connect();
  try {
    await client.query('begin isolation level repeatable read, read only');
    await client.query('set local row_security = off');
    const snapshot = (await client.query<{ s: string }>('select pg_export_snapshot() as s')).rows[0]!.s;
    const base = await readState(async (text) => (await client.query(text)).rows, now);
    const child = spawn('pg_dump', ['-Fc', '--no-password', `--snapshot=${snapshot}`], {
      env: libpqEnv(url, baseEnv),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stderr = { text: '' };
    const exited = exitOf(child, stderr);
    await write(child.stdout!, async () => {
      const code = await exited;
      if (code !== 0) throw toolError('pg_dump', code, stderr.text);
      return base;
    });
    await client.query('commit');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Opens the whole archive (every chunk, the manifest, the checksum) without restoring. */
export async function verifyBackup(file: ArchiveSource, keys: BackupKeys) {
  return openArchive(
    streamOf(file),
    (id) => keys.get(id),
    () => undefined,
  );
}

export interface RestoreResult {
  readonly manifest: Manifest;
  readonly migrations: readonly string[];
  /** Orgs in the backup that the ledger says were erased since: erased again. */
  readonly erased: readonly string[];
}

/** Erases again, as the owner, every org of the ledger still in the restored database. */
async function reapplyErasures(db: Kysely<DB>, ledger: readonly LedgerEntry[]): Promise<string[]> {
  const erased: string[] = [];
  for (const e of ledger) {
    const done = await withOwner(db, async (tx) => {
      if ((await orgNameAsOwner(tx, e.org_id)) === undefined) return false;
      await eraseOrgRows(tx, e.org_id);
      return true;
    });
    if (!done) continue;
    await db.transaction().execute((tx) => deleteOrgJobs(tx, e.org_id));
    erased.push(e.org_id);
  }
  return erased;
}

/** What the target database already holds (a restore goes only into an empty one). */
async function existingTables(db: Kysely<DB>): Promise<string[]> {
  const r = await sql<{ t: string }>`
    select n.nspname || '.' || c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r','p','v','m','S') and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname not like 'pg\\_toast%' order by 1 limit 5`.execute(db);
  return r.rows.map((x) => x.t);
}

export interface RestoreOptions {
  readonly file: ArchiveSource;
  readonly keys: BackupKeys;
  /** The ledger's entries, or undefined when the operator said there is none (--no-ledger). */
  readonly ledger: readonly LedgerEntry[] | undefined;
}

/**
 * Restores a pg_dump archive into the empty database of `url` (the owner credential): verifies the
 * whole archive first (pg_restore may commit before the last chunk is read), makes sure ony's
 * roles exist, runs pg_restore in one transaction, then the migrations and the ledger's erasures,
 * and optionally grants a runtime login its rights.
 */
export async function restorePostgres(
  opts: RestoreOptions & {
    readonly url: string;
    readonly env: NodeJS.ProcessEnv;
    readonly grantRuntime?: string;
  },
): Promise<RestoreResult> {
  const { manifest } = await verifyBackup(opts.file, opts.keys);
  if (manifest.source !== 'pg_dump')
    throw new BackupError(
      'this is an embedded (PGlite) backup: restore it in embedded mode (without DATABASE_URL)',
    );
  const database = connectPostgres(opts.url, 2);
  try {
    const tables = await existingTables(database.db);
    if (tables.length > 0)
      throw new BackupError(
        `the database is not empty (it has ${tables.join(', ')}…): restore only into an empty database (createdb a new one)`,
      );
    // ony's roles are cluster-wide and not in a database dump: create them as a first install would.
    const roles = (await loadMigrations()).find((m) => m.name.startsWith('0001_'));
    if (roles !== undefined) await sql.raw(roles.sql).execute(database.db);
    const child = spawn(
      'pg_restore',
      [
        '--exit-on-error',
        '--single-transaction',
        '--no-password',
        `--dbname=${libpqEnv(opts.url, {}).PGDATABASE}`,
      ],
      { env: libpqEnv(opts.url, opts.env), stdio: ['pipe', 'ignore', 'pipe'] },
    );
    const stderr = { text: '' };
    const exited = exitOf(child, stderr);
    const stdin = child.stdin!;
    stdin.on('error', () => undefined); // pg_restore quit early: its exit code says why
    try {
      await openArchive(
        streamOf(opts.file),
        (id) => opts.keys.get(id),
        async (chunk) => {
          if (!stdin.write(chunk)) await Promise.race([once(stdin, 'drain'), exited]);
        },
      );
    } catch (err) {
      child.kill();
      throw err;
    }
    stdin.end();
    const code = await exited;
    if (code !== 0) throw toolError('pg_restore', code, stderr.text);
    return await afterRestore(database.db, manifest, opts.ledger, opts.grantRuntime);
  } finally {
    await database.close();
  }
}

async function afterRestore(
  db: Kysely<DB>,
  manifest: Manifest,
  ledger: readonly LedgerEntry[] | undefined,
  runtime: string | undefined,
): Promise<RestoreResult> {
  const migrations = await migrate(db);
  const erased = await reapplyErasures(db, ledger ?? []);
  if (runtime !== undefined) await grantRuntime(db, runtime);
  return { manifest, migrations, erased };
}

/**
 * Restores an embedded backup into `dataDir` (undefined: a new in-memory database, for drills),
 * which must not hold a database yet. PGlite loads a data dir from one in-memory tarball, so this
 * side holds the (compressed) dump in memory. Answers the open database with the result.
 */
export async function restorePglite(
  opts: RestoreOptions & { readonly dataDir: string | undefined },
): Promise<RestoreResult & { database: Database }> {
  if (opts.dataDir !== undefined) {
    const entries = await readdir(opts.dataDir).catch(() => [] as string[]);
    if (entries.length > 0)
      throw new BackupError(
        `${opts.dataDir} already holds a database: restore only into an empty data directory (move it away first)`,
      );
  }
  const { manifest } = await verifyBackup(opts.file, opts.keys);
  if (manifest.source !== 'pglite')
    throw new BackupError('this is a Postgres (pg_dump) backup: restore it with DATABASE_URL set');
  const parts: Buffer[] = [];
  await openArchive(
    streamOf(opts.file),
    (id) => opts.keys.get(id),
    (c) => void parts.push(c),
  );
  // PGlite loads a dump only into a named data dir ('memory://' for one in memory).
  const database = await openPglite(opts.dataDir ?? 'memory://', new Blob(parts));
  try {
    return { ...(await afterRestore(database.db, manifest, opts.ledger, undefined)), database };
  } catch (err) {
    await database.close();
    throw err;
  }
}
