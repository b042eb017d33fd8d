/**
 * The database handle: Kysely over a pg Pool (production) or PGlite (embedded), and the only
 * ways to run queries: withTenant (RLS-scoped to one org, as the app role), withApp (the app role
 * with no org: only the narrow SECURITY DEFINER look-ups answer) and withOwner (migrations and
 * operator commands).
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.js';
import { PGliteDialect } from './pglite-dialect.js';
import { connectErrorMessage, safeUrl } from '../lib/safe-url.js';

/** A Kysely bound to one connection inside an open transaction. */
export type Tx = Kysely<DB>;

/** A transaction scoped to one org: RLS sees only that org's rows. */
export interface TenantTx {
  readonly orgId: string;
  readonly db: Tx;
}

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly db: Kysely<DB>;
  /** PGlite only: its data directory as a gzipped tarball (embedded backups, docs/backups.md). */
  readonly dumpDataDir?: () => Promise<Blob>;
  close(): Promise<void>;
}

export const APP_ROLE = 'ony_app';
export const OWNER_ROLE = 'ony_owner';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string): boolean => UUID.test(v);

// int8 as JS number (ids and counters stay far below 2^53), bytea as Buffer, on both drivers.
pg.types.setTypeParser(20, (v) => Number(v));

/** How long a request waits for a database connection (a new one, or a free one from the pool). */
export const CONNECT_TIMEOUT_MS = 10_000;

export function connectPostgres(
  url: string,
  max = 10,
  onIdleError: (err: Error) => void = () => undefined,
): Database {
  // A database that does not accept a connection within 10 s is unavailable: the request answers
  // 503 with Retry-After (lib/db-unavailable.ts) instead of hanging until its client gives up.
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: 'ony',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // An idle client can die (server restart, admin termination); without a listener pg would throw
  // it as an uncaught exception. The pool replaces the client; the next query reconnects.
  pool.on('error', onIdleError);
  // So can a checked-out one (pg-pool listens only while a client is idle): its socket error fails
  // its queries (the request answers 503) and is then emitted on the client, where without this
  // listener it would crash the process. The pool drops the dead client when it is released.
  pool.on('connect', (client) => client.on('error', onIdleError));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return { kind: 'postgres', db, close: () => db.destroy() };
}

/**
 * Connects once, so that a database that cannot be reached (or refuses the login) is named as the
 * database, with its address but not its password, instead of a bare `connect ECONNREFUSED`.
 * `variable` is where the URL came from (DATABASE_URL, ONY_MIGRATE_DATABASE_URL, --database-url).
 */
export async function probeDatabase(database: Database, url: string, variable: string): Promise<void> {
  try {
    await sql`select 1`.execute(database.db);
  } catch (err) {
    throw new Error(
      `the database at ${safeUrl(url)} (${variable}) did not accept a connection: ${connectErrorMessage(err)}`,
      { cause: err },
    );
  }
}

/** Opens PGlite in dataDir (undefined: in memory), from a data-dir dump when `load` is given. */
export async function openPglite(dataDir: string | undefined, load?: Blob): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const hexToBuffer = (v: string): Buffer => Buffer.from(v.slice(2), 'hex');
  const pglite = new PGlite(dataDir, {
    parsers: { 17: hexToBuffer },
    ...(load !== undefined && { loadDataDir: load }),
  });
  await pglite.waitReady;
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
  return {
    kind: 'pglite',
    db,
    dumpDataDir: () => pglite.dumpDataDir('gzip'),
    close: () => db.destroy(),
  };
}

/**
 * Runs fn in a transaction on one connection. BEGIN and the session settings travel in one simple-
 * protocol message, so scoping a transaction costs no extra round trip over a plain one. `setup`
 * holds only literals this module built from validated values (no user text).
 */
async function inTransaction<T>(
  db: Kysely<DB>,
  setup: string,
  fn: (tx: Tx) => Promise<T>,
  begin = 'begin',
): Promise<T> {
  return db.connection().execute((conn) => transactionOn(conn, `${begin}; ${setup}`, fn));
}

/** Runs fn in a transaction on a connection already held (`open`: BEGIN and any settings). */
export async function transactionOn<T>(conn: Tx, open: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  await sql.raw(open).execute(conn);
  let result: T;
  try {
    result = await fn(conn);
  } catch (err) {
    await sql
      .raw('rollback')
      .execute(conn)
      .catch(() => undefined);
    throw err;
  }
  await sql.raw('commit').execute(conn);
  return result;
}

/** Runs fn in a transaction as the app role with `ony.org_id` set: RLS confines it to orgId. */
export async function withTenant<T>(
  db: Kysely<DB>,
  orgId: string,
  fn: (tx: TenantTx) => Promise<T>,
): Promise<T> {
  if (!isUuid(orgId)) throw new Error('withTenant: org id must be a uuid');
  const setup = `select set_config('ony.org_id', '${orgId.toLowerCase()}', true), set_config('role', '${APP_ROLE}', true)`;
  return inTransaction(db, setup, (conn) => fn({ orgId, db: conn }));
}

/**
 * Like withTenant, but one read-only REPEATABLE READ snapshot: every query sees the database as it
 * was at the first one (exports read many pages that must agree with each other).
 */
export async function withTenantSnapshot<T>(
  db: Kysely<DB>,
  orgId: string,
  fn: (tx: TenantTx) => Promise<T>,
): Promise<T> {
  if (!isUuid(orgId)) throw new Error('withTenantSnapshot: org id must be a uuid');
  const setup = `select set_config('ony.org_id', '${orgId.toLowerCase()}', true), set_config('role', '${APP_ROLE}', true)`;
  return inTransaction(
    db,
    setup,
    (conn) => fn({ orgId, db: conn }),
    'begin isolation level repeatable read, read only',
  );
}

/** The app role with no org: tenant tables answer nothing; only the definer look-ups work. */
export async function withApp<T>(db: Kysely<DB>, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return inTransaction(
    db,
    `select set_config('ony.org_id', '', true), set_config('role', '${APP_ROLE}', true)`,
    fn,
  );
}

/** The owner role: operator commands (setup tokens). */
export async function withOwner<T>(db: Kysely<DB>, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return inTransaction(db, `select set_config('role', '${OWNER_ROLE}', true)`, fn);
}

/** Start-up check: the role that serves queries must not be superuser or bypass RLS. */
export async function assertAppRoleIsConfined(db: Kysely<DB>): Promise<void> {
  const row = await withApp(db, async (tx) =>
    (
      await sql<{ rolsuper: boolean; rolbypassrls: boolean; owns: number }>`
        select r.rolsuper, r.rolbypassrls,
          (select count(*)::int from pg_class c where c.relowner = r.oid and c.relkind in ('r','p','v','m')) as owns
        from pg_roles r where r.rolname = current_user`.execute(tx)
    ).rows.at(0),
  );
  if (!row) throw new Error(`database role ${APP_ROLE} is missing: run \`ony migrate\``);
  if (row.rolsuper || row.rolbypassrls || row.owns > 0) {
    throw new Error(
      `refusing to start: database role ${APP_ROLE} is superuser, has BYPASSRLS or owns tables; tenant isolation would not hold`,
    );
  }
}

/** What the runtime login is and may do, as the start-up check reads it from the catalog. */
export interface LoginRights {
  readonly login: string;
  /** Each right that lets the login escape the app role, in words (empty: confined). */
  readonly privileges: readonly string[];
  /** It can SET ROLE ony_app (without that no request can run). */
  readonly canUseAppRole: boolean;
}

/**
 * Reads the connection's own login (not a SET ROLE) and every way it could get past the app role
 * (DESIGN.md §3 invariant 11): superuser, BYPASSRLS, CREATEROLE (in PG 15 it can grant itself
 * ony_owner), membership of ony_owner (direct or through other roles; SET ROLE needs only that),
 * membership of a role that is privileged itself (superuser, BYPASSRLS, CREATEROLE, or one of the
 * predefined roles that write any table or the server's files), and ownership, itself or through
 * a role it belongs to, of the schema public, the database, or
 * any table, view, sequence or function in public. Objects in other schemas (pg-boss's own
 * schema, which the runtime installs and owns) are not ony's.
 */
export async function readLoginRights(db: Kysely<DB>): Promise<LoginRights> {
  const row = (
    await sql<{
      login: string;
      rolsuper: boolean;
      rolbypassrls: boolean;
      rolcreaterole: boolean;
      owner_member: boolean;
      app_member: boolean;
      owns_schema: boolean;
      owns_database: boolean;
      via: string[] | null;
      owned: string[] | null;
    }>`
      select r.rolname as login, r.rolsuper, r.rolbypassrls, r.rolcreaterole,
        exists (select 1 from pg_roles o where o.rolname = ${OWNER_ROLE}
                and pg_has_role(r.oid, o.oid, 'MEMBER')) as owner_member,
        exists (select 1 from pg_roles a where a.rolname = ${APP_ROLE}
                and pg_has_role(r.oid, a.oid, 'MEMBER')) as app_member,
        exists (select 1 from pg_namespace n where n.nspname = 'public'
                and pg_has_role(r.oid, n.nspowner, 'MEMBER')) as owns_schema,
        exists (select 1 from pg_database d where d.datname = current_database()
                and pg_has_role(r.oid, d.datdba, 'MEMBER')) as owns_database,
        (select array_agg(v.rolname::text order by v.rolname) from pg_roles v
          where v.oid <> r.oid and pg_has_role(r.oid, v.oid, 'MEMBER')
            and (v.rolsuper or v.rolbypassrls or v.rolcreaterole
                 or v.rolname in ('pg_write_all_data', 'pg_execute_server_program', 'pg_write_server_files'))
        ) as via,
        (select array_agg(x.name order by x.name) from (
           select c.relname::text as name from pg_class c
           where c.relnamespace = 'public'::regnamespace and c.relkind in ('r','p','v','m','S','f')
             and pg_has_role(r.oid, c.relowner, 'MEMBER')
           union all
           select p.proname::text || '()' from pg_proc p
           where p.pronamespace = 'public'::regnamespace and pg_has_role(r.oid, p.proowner, 'MEMBER')
           limit 5) x) as owned
      from pg_roles r where r.rolname = session_user`.execute(db)
  ).rows[0];
  if (!row) throw new Error('the database login is not in pg_roles');
  const privileges: string[] = [];
  if (row.rolsuper) privileges.push('is a superuser');
  if (row.rolbypassrls) privileges.push('has BYPASSRLS');
  if (row.rolcreaterole) privileges.push('has CREATEROLE (it could grant itself ony_owner)');
  if (row.owner_member && !row.rolsuper)
    privileges.push(`is a member of ${OWNER_ROLE} (it can SET ROLE ${OWNER_ROLE})`);
  if (row.via !== null && row.via.length > 0 && !row.rolsuper)
    privileges.push(`can SET ROLE to a privileged role (${row.via.join(', ')})`);
  if (row.owns_database && !row.rolsuper) privileges.push('owns the database');
  if (row.owns_schema && !row.rolsuper) privileges.push('owns the schema public');
  if (row.owned !== null && row.owned.length > 0 && !row.rolsuper)
    privileges.push(`owns ony's objects (${row.owned.join(', ')})`);
  return { login: row.login, privileges, canUseAppRole: row.app_member };
}
