/**
 * `ony doctor`'s checks: what `ony serve` would need, looked at without serving, sending or writing
 * anything. Each check answers one row; a detail is one line for an operator and never holds a
 * credential (URLs pass through safeUrl; channel health details promise the same).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { Config } from '../../config/index.js';
import { createChannels } from '../../channels/registry.js';
import { createTelephonyProvider } from '../../channels/telephony/index.js';
import {
  assertAppRoleIsConfined,
  connectPostgres,
  openPglite,
  probeDatabase,
  readLoginRights,
  type Database,
} from '../../db/client.js';
import { loadMigrations, pendingMigrations } from '../../db/migrator.js';
import { createLogger } from '../../lib/logger.js';
import { safeUrl } from '../../lib/safe-url.js';
import { createMemoryStore, createRedisStore } from '../../state/store.js';
import { pendingMessage } from '../readiness/readiness.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckRow {
  readonly check: string;
  readonly status: CheckStatus;
  readonly detail: string;
}

/** Clock skew against the database: above WARN, signed links and TOTP get tight; above FAIL they break. */
export const SKEW_WARN_MS = 2_000;
export const SKEW_FAIL_MS = 30_000;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The configuration as `ony serve` would run it, in one line (no secret). */
export function describeConfig(config: Config): string {
  const database =
    config.databaseUrl !== undefined ? safeUrl(config.databaseUrl) : `embedded in ${config.dataDir}`;
  const store = config.redisUrl !== undefined ? safeUrl(config.redisUrl) : 'memory';
  return `${config.mode} mode; database ${database}; store ${store}; listens on ${config.host}:${config.port}`;
}

/** Opens the database serve would use; embedded: only one that exists (doctor creates nothing). */
async function openForDoctor(config: Config): Promise<Database | CheckRow> {
  if (config.databaseUrl !== undefined) {
    const database = connectPostgres(config.databaseUrl, 1);
    try {
      await probeDatabase(database, config.databaseUrl, 'DATABASE_URL');
      return database;
    } catch (err) {
      await database.close();
      return { check: 'database', status: 'fail', detail: message(err) };
    }
  }
  const dir = join(config.dataDir, 'pglite');
  try {
    await access(dir);
  } catch {
    return {
      check: 'database',
      status: 'warn',
      detail: `no embedded database in ${config.dataDir} yet (ony serve creates it)`,
    };
  }
  return openPglite(dir);
}

async function databaseRow(database: Database): Promise<CheckRow> {
  const version = (
    await sql<{ v: string }>`select current_setting('server_version') as v`.execute(database.db)
  ).rows[0]!.v;
  return {
    check: 'database',
    status: 'ok',
    detail:
      database.kind === 'pglite'
        ? `embedded PGlite (PostgreSQL ${version})`
        : `PostgreSQL ${version} answers`,
  };
}

async function loginRow(config: Config, database: Database): Promise<CheckRow> {
  const check = 'database login';
  if (database.kind === 'pglite')
    return { check, status: 'ok', detail: 'embedded: one local login, no network; nothing to confine' };
  const { login, privileges, canUseAppRole } = await readLoginRights(database.db);
  if (privileges.length > 0) {
    const what = `"${login}" ${privileges.join('; ')}`;
    return config.allowPrivilegedDbLogin
      ? { check, status: 'warn', detail: `${what} (allowed by ONY_ALLOW_PRIVILEGED_DB_LOGIN)` }
      : { check, status: 'fail', detail: `${what}: serve with a confined login (docs/deploy.md)` };
  }
  if (!canUseAppRole)
    return {
      check,
      status: 'fail',
      detail: `"${login}" is not a member of ony_app: run \`ony migrate --grant-runtime ${login}\` with the owner credential`,
    };
  try {
    await assertAppRoleIsConfined(database.db);
  } catch (err) {
    return { check, status: 'fail', detail: message(err) };
  }
  return {
    check,
    status: 'ok',
    detail: `"${login}" is confined (uses ony_app; owns nothing, bypasses nothing)`,
  };
}

async function migrationsRow(config: Config, database: Database): Promise<CheckRow> {
  const check = 'migrations';
  const files = await loadMigrations();
  const pending = await pendingMigrations(database.db, files);
  if (pending.length === 0) return { check, status: 'ok', detail: `up to date (${files.length} applied)` };
  const serveMigrates =
    config.migrateOnStart && (config.databaseUrl === undefined || config.migrateDatabaseUrl !== undefined);
  return serveMigrates
    ? { check, status: 'warn', detail: `${pending.length} pending; ony serve applies them at start` }
    : { check, status: 'fail', detail: pendingMessage(pending) };
}

/** The clock row for a measured skew (database minus local, at the round trip's midpoint). */
export function clockVerdict(skewMs: number, roundTripMs: number): CheckRow {
  const check = 'clock';
  const side = skewMs >= 0 ? 'database ahead' : 'database behind';
  const detail = `${side} by ${Math.abs(Math.round(skewMs))} ms (round trip ${roundTripMs} ms)`;
  const abs = Math.abs(skewMs);
  if (abs > SKEW_WARN_MS)
    return {
      check,
      status: abs > SKEW_FAIL_MS ? 'fail' : 'warn',
      detail: `${detail}: sync both clocks (NTP)`,
    };
  return { check, status: 'ok', detail };
}

async function clockRow(database: Database): Promise<CheckRow> {
  const before = Date.now();
  const dbNow = (await sql<{ t: Date }>`select clock_timestamp() as t`.execute(database.db)).rows[0]!.t;
  const after = Date.now();
  return clockVerdict(new Date(dbNow).getTime() - (before + after) / 2, after - before);
}

async function storeRow(config: Config): Promise<CheckRow> {
  const check = 'redis';
  if (config.redisUrl === undefined)
    return config.mode === 'embedded'
      ? { check, status: 'ok', detail: 'not used: memory store (one process)' }
      : { check, status: 'warn', detail: 'REDIS_URL unset: memory store, fine for one replica only' };
  try {
    const store = await createRedisStore(config.redisUrl);
    try {
      await store.ping();
    } finally {
      await store.close();
    }
    return { check, status: 'ok', detail: `${safeUrl(config.redisUrl)} answers PING` };
  } catch (err) {
    return { check, status: 'fail', detail: message(err) };
  }
}

/** Each configured channel's own health check (a token check, an SMTP login): nothing is sent. */
async function channelRows(config: Config): Promise<CheckRow[]> {
  const logger = createLogger('silent');
  const store = createMemoryStore();
  try {
    const channels = createChannels(
      config,
      logger,
      config.telephony !== undefined
        ? {
            provider: createTelephonyProvider(config.telephony.provider),
            store,
            replyCodes: {
              next: () => Promise.reject(new Error('ony doctor sends no SMS')),
            },
          }
        : undefined,
    );
    return await Promise.all(
      Object.entries(channels).map(async ([name, adapter]): Promise<CheckRow> => {
        const health = await adapter.health().catch((err: unknown) => ({ ok: false, detail: message(err) }));
        return { check: `channel ${name}`, status: health.ok ? 'ok' : 'fail', detail: health.detail };
      }),
    );
  } finally {
    await store.close();
  }
}

async function publicUrlRow(config: Config): Promise<CheckRow> {
  const check = 'public URL';
  const url = new URL(config.publicUrl);
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  let answers = false;
  try {
    const res = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(3_000) });
    answers = res.ok;
  } catch {
    // Nothing answering there is only a warning: doctor often runs before serve.
  }
  const where = `${config.publicUrl}${answers ? ' (an ony answers /healthz there)' : ''}`;
  if (url.protocol === 'http:' && !local)
    return {
      check,
      status: 'warn',
      detail: `${where}: plain http on a public host; providers and browsers need https`,
    };
  if (!answers)
    return {
      check,
      status: 'warn',
      detail: `${config.publicUrl}: nothing answers /healthz there from this host (is ony running, and is the URL reachable from here?)`,
    };
  return {
    check,
    status: 'ok',
    detail: local ? `${where}; local only: providers cannot reach webhooks` : where,
  };
}

/** Every check in order; a check that cannot run without an earlier one is skipped, never failed twice. */
export async function runDoctorChecks(config: Config): Promise<CheckRow[]> {
  const rows: CheckRow[] = [{ check: 'config', status: 'ok', detail: describeConfig(config) }];
  const opened = await openForDoctor(config);
  if ('check' in opened) {
    rows.push(opened);
    for (const check of ['database login', 'migrations', 'clock'])
      rows.push({ check, status: 'skip', detail: 'needs the database' });
  } else {
    try {
      const guarded = async (check: string, fn: () => Promise<CheckRow>): Promise<CheckRow> =>
        fn().catch((err: unknown) => ({ check, status: 'fail' as const, detail: message(err) }));
      rows.push(await guarded('database', () => databaseRow(opened)));
      rows.push(await guarded('database login', () => loginRow(config, opened)));
      rows.push(await guarded('migrations', () => migrationsRow(config, opened)));
      rows.push(await guarded('clock', () => clockRow(opened)));
    } finally {
      await opened.close();
    }
  }
  rows.push(await storeRow(config));
  rows.push(...(await channelRows(config)));
  rows.push(await publicUrlRow(config));
  return rows;
}
