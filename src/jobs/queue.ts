/**
 * Durable jobs (escalation steps, expiry, webhook callbacks) on pg-boss, in the same database as
 * everything else: embedded PGlite or Postgres.
 *
 * Every pg-boss statement goes through Kysely. On PGlite that is a must: there is one connection,
 * and the dialect's FIFO mutex is what keeps pg-boss's statements out of an open transaction. On
 * Postgres it means one pool to size and watch. `send(…, tx)` and `cancel(…, tx)` run their
 * statement on the caller's transaction, so the job commits or rolls back with the change that
 * asked for it.
 *
 * A tenant transaction runs as the app role, which has no rights on the pg-boss schema (and should
 * not: it could enqueue work for any org). So a statement on a caller's transaction runs as the
 * connection's own role (the one that installed pg-boss) and the transaction's role is restored
 * right after: `set_config('role', …, true)` is transaction-local, like withTenant's own.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import PgBoss from 'pg-boss';
import type { Database } from '../db/client.js';
import type { DB } from '../db/schema.js';
import type { Logger } from '../lib/logger.js';

export interface SendOptions {
  /** Not before this time (the database's clock decides when it is due). */
  startAfter?: Date;
  /**
   * At most one job per (queue, key): a second send with the same key answers null and enqueues
   * nothing, whatever state the first job is in, until the first is archived (12 h after it ends).
   */
  singletonKey?: string;
  /** Attempts after the first one (default 5). */
  retryLimit?: number;
  /** Delay before a retry (default 2 s); with retryBackoff it doubles each attempt, with jitter. */
  retryDelaySeconds?: number;
  /** Default true. */
  retryBackoff?: boolean;
  /** A handler still running after this long counts as failed (default 15 min). */
  expireInSeconds?: number;
}

export type JobHandler = (data: Record<string, unknown>, job: { id: string }) => Promise<void>;

export interface JobQueue {
  /** Installs or updates the pg-boss schema and starts maintenance (expiry, archiving). */
  start(): Promise<void>;
  /** Graceful: stops fetching, waits for running handlers, then for every statement in flight. */
  stop(): Promise<void>;
  /**
   * Enqueues a job and answers its id (null: a job with that singletonKey exists). When `tx` is
   * given the job row is written inside that open transaction (a Kysely bound to the
   * transaction's connection, as withTenant passes it: TenantTx.db), so it commits or rolls back
   * with it.
   */
  send(
    name: string,
    data: Record<string, unknown>,
    options?: SendOptions,
    tx?: Kysely<DB>,
  ): Promise<string | null>;
  /**
   * Enqueues several new jobs in one statement inside an open transaction (commits or rolls back
   * with it). For jobs with fresh ids: a singletonKey that already has a job makes the whole
   * statement fail, so use send() where a duplicate is possible.
   */
  sendMany(
    jobs: readonly { name: string; data: Record<string, unknown>; options?: SendOptions }[],
    tx: Kysely<DB>,
  ): Promise<void>;
  /** Cancels a job that has not finished; a finished or unknown id is a no-op. */
  cancel(name: string, id: string, tx?: Kysely<DB>): Promise<void>;
  /** Registers a handler; a thrown error makes pg-boss retry per the job's retry options. */
  work(name: string, handler: JobHandler): Promise<void>;
}

export interface JobQueueDeps {
  readonly database: Database;
  readonly logger: Logger;
  /** How often an idle worker looks for due jobs (default 2 s, at least 0.5 s). */
  readonly pollingIntervalSeconds?: number;
  /** Jobs one worker fetches and runs concurrently per poll (default 5). */
  readonly batchSize?: number;
  /** How long stop() waits for running handlers before failing them (default 30 s). */
  readonly stopTimeoutSeconds?: number;
  /** Told the queue name of every failed attempt (the job failure metric). */
  readonly onFailure?: (queue: string) => void;
}

/** The Postgres schema pg-boss lives in. */
export const JOBS_SCHEMA = 'pgboss';

/**
 * pg-boss's create_queue, one at a time across every process on the database. Two replicas starting
 * at once on a fresh database each create the same queues; concurrent create_queue calls deadlock
 * (each inserts a queue row, then alters the job table's foreign key). A transaction-level advisory
 * lock (also safe behind a pooler in transaction mode) serialises them; the second then finds the
 * queue and does nothing. On a caller's transaction the lock is held until it ends, like the DDL.
 */
const CREATE_QUEUE = `with serialised as materialized (select pg_advisory_xact_lock(7270512094357020001))
  select ${JOBS_SCHEMA}.create_queue($1, $2) from serialised`;

/** An error message stored with a failed attempt (pgboss.job.output) is cut to this length. */
const MAX_ERROR_MESSAGE = 300;

type Values = readonly unknown[] | undefined;

/** The job id for a singleton key: the same (queue, key) always maps to the same uuid. */
export function singletonJobId(name: string, key: string): string {
  const h = createHash('sha256').update(`${name}\u0000${key}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80; // version 8 (custom)
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * pg-boss's statements on the shared database, each on one connection. A parameterless statement
 * may be several (pg-boss wraps maintenance in BEGIN … COMMIT): if one fails, the connection is
 * rolled back before it goes back to the pool, so no later query starts inside an aborted
 * transaction.
 */
export function poolAdapter(db: Kysely<DB>): PgBoss.Db {
  return {
    executeSql: (text: string, values: Values) =>
      db.connection().execute(async (conn) => {
        try {
          return await conn.executeQuery(CompiledQuery.raw(text, values ? [...values] : []));
        } catch (err) {
          if (!values || values.length === 0) {
            await conn.executeQuery(CompiledQuery.raw('rollback')).catch(() => undefined);
          }
          throw err;
        }
      }),
  };
}

/** The current role of a transaction and a switch to the connection's own role, in one statement. */
const LEAVE_ROLE = CompiledQuery.raw(
  `with r as materialized (select current_setting('role') as prev)
   select prev, set_config('role', 'none', true) from r`,
);

/** pg-boss's statements on a caller's open transaction, run as the connection's own role. */
function txAdapter(tx: Kysely<DB>): PgBoss.Db {
  return {
    async executeSql(text: string, values: Values) {
      const prev = (await tx.executeQuery<{ prev: string }>(LEAVE_ROLE)).rows[0]?.prev ?? 'none';
      let result;
      try {
        result = await tx.executeQuery(CompiledQuery.raw(text, values ? [...values] : []));
      } catch (err) {
        // The transaction is aborted now; the caller rolls it back, which restores the role.
        if (prev !== 'none') {
          await sql`select set_config('role', ${prev}, true)`.execute(tx).catch(() => undefined);
        }
        throw err;
      }
      if (prev !== 'none') await sql`select set_config('role', ${prev}, true)`.execute(tx);
      return result;
    },
  };
}

/** Keeps every statement's promise until it settles, so stop() can wait for the stragglers. */
function tracked(db: PgBoss.Db, inflight: Set<Promise<unknown>>): PgBoss.Db {
  return {
    executeSql(text, values) {
      const p = db.executeSql(text, values);
      const settled = p.then(
        () => undefined,
        () => undefined,
      );
      inflight.add(settled);
      void settled.then(() => inflight.delete(settled));
      return p;
    },
  };
}

/** pg-boss's own SQL for completing and failing jobs by id (plans.js, no types of its own). */
const plans = createRequire(import.meta.url)('pg-boss/src/plans.js') as {
  completeJobs(schema: string): string;
  failJobsById(schema: string): string;
};

/**
 * pg-boss 10 completes or fails a job after its handler without awaiting the promise (manager.js,
 * `onFetch`): if the database is unreachable at that moment, the rejection is unhandled and Node
 * ends the process, so a Postgres restart could take every replica down with it. Those two
 * statements never reject here: the failure goes to `onError`, and the job stays active until its
 * expiry, when pg-boss retries it (handlers are idempotent), as after a crash at that moment.
 */
export function settleUnawaited(db: PgBoss.Db, onError: (err: unknown) => void): PgBoss.Db {
  const unawaited = new Set([plans.completeJobs(JOBS_SCHEMA), plans.failJobsById(JOBS_SCHEMA)]);
  return {
    executeSql(text, values) {
      const p = db.executeSql(text, values);
      if (!unawaited.has(text)) return p;
      return p.catch((err: unknown) => {
        onError(err);
        return { rows: [{ count: '0' }], rowCount: 1 } as unknown as Awaited<typeof p>;
      });
    },
  };
}

function failureOf(err: unknown): { name: string; message: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name, message: e.message.slice(0, MAX_ERROR_MESSAGE) };
}

export async function createJobQueue(deps: JobQueueDeps): Promise<JobQueue> {
  const { database, logger } = deps;
  const pollingIntervalSeconds = deps.pollingIntervalSeconds ?? 2;
  const batchSize = deps.batchSize ?? 5;
  const stopTimeoutMs = (deps.stopTimeoutSeconds ?? 30) * 1000;
  const log = logger.child({ component: 'jobs' });

  const inflight = new Set<Promise<unknown>>();
  const pool = tracked(poolAdapter(database.db), inflight);
  const boss = new PgBoss({
    db: settleUnawaited(pool, (err) =>
      log.error({ err }, 'job completion not recorded; the job runs again after its expiry'),
    ),
    schema: JOBS_SCHEMA,
    // No cron (the timekeeper adds its own polling worker); maintenance expires, archives, drops.
    schedule: false,
    supervise: true,
    pollingIntervalSeconds,
    retryLimit: 5,
    retryDelay: 2,
    retryBackoff: true,
  });
  // An EventEmitter 'error' without a listener would throw; pg-boss reports fetch and
  // maintenance failures here and keeps going.
  boss.on('error', (err: Error) => log.error({ err }, 'job queue error'));

  let state: 'new' | 'started' | 'stopped' = 'new';
  /** Queue creations on the pool, and the queues known to exist (those creations resolved). */
  const queues = new Map<string, Promise<void>>();
  const created = new Set<string>();

  function assertStarted(): void {
    if (state !== 'started') throw new Error(`job queue is ${state === 'new' ? 'not started' : 'stopped'}`);
  }

  function ensureQueue(name: string): Promise<void> {
    let ready = queues.get(name);
    if (!ready) {
      ready = pool
        .executeSql(CREATE_QUEUE, [name, { policy: 'standard' }])
        .then(() => void created.add(name));
      queues.set(name, ready);
      ready.catch(() => queues.delete(name));
    }
    return ready;
  }

  /**
   * On a caller's transaction a queue not yet known is created in that transaction: the pool
   * might be the very connection the transaction holds (PGlite). create_queue is idempotent and,
   * if the transaction rolls back, so does the queue; it is not remembered either way. (Waiting
   * for a creation still pending on the pool could wait for this very transaction.)
   */
  async function ensureQueueIn(db: PgBoss.Db, name: string): Promise<void> {
    if (created.has(name)) return;
    await db.executeSql(CREATE_QUEUE, [name, { policy: 'standard' }]);
  }

  return {
    async start() {
      if (state === 'started') return;
      if (state === 'stopped') throw new Error('job queue is stopped; create a new one');
      await boss.start();
      state = 'started';
      log.info({ pollingIntervalSeconds }, 'job queue started');
    },

    async stop() {
      if (state !== 'started') return;
      state = 'stopped';
      await boss.stop({ graceful: true, wait: true, close: false, timeout: stopTimeoutMs });
      // pg-boss completes jobs without awaiting; let those statements land before the
      // database closes.
      while (inflight.size > 0) await Promise.all(inflight);
      log.info('job queue stopped');
    },

    async send(name, data, options = {}, tx) {
      assertStarted();
      const db = tx ? txAdapter(tx) : undefined;
      if (db) await ensureQueueIn(db, name);
      else await ensureQueue(name);
      const sendOptions: PgBoss.SendOptions & { id?: string } = {};
      if (options.startAfter !== undefined) sendOptions.startAfter = options.startAfter;
      if (options.singletonKey !== undefined) {
        sendOptions.id = singletonJobId(name, options.singletonKey);
        sendOptions.singletonKey = options.singletonKey;
      }
      if (options.retryLimit !== undefined) sendOptions.retryLimit = options.retryLimit;
      if (options.retryDelaySeconds !== undefined) sendOptions.retryDelay = options.retryDelaySeconds;
      if (options.retryBackoff !== undefined) sendOptions.retryBackoff = options.retryBackoff;
      if (options.expireInSeconds !== undefined) sendOptions.expireInSeconds = options.expireInSeconds;
      if (db) sendOptions.db = db;
      return boss.send(name, data, sendOptions);
    },

    async sendMany(list, tx) {
      assertStarted();
      if (list.length === 0) return;
      const db = txAdapter(tx);
      for (const name of new Set(list.map((j) => j.name))) await ensureQueueIn(db, name);
      await boss.insert(
        list.map(({ name, data, options = {} }) => ({
          name,
          data,
          ...(options.singletonKey !== undefined && {
            id: singletonJobId(name, options.singletonKey),
            singletonKey: options.singletonKey,
          }),
          ...(options.startAfter !== undefined && { startAfter: options.startAfter.toISOString() }),
          ...(options.retryLimit !== undefined && { retryLimit: options.retryLimit }),
          ...(options.retryDelaySeconds !== undefined && { retryDelay: options.retryDelaySeconds }),
          ...(options.retryBackoff !== undefined && { retryBackoff: options.retryBackoff }),
          ...(options.expireInSeconds !== undefined && { expireInSeconds: options.expireInSeconds }),
        })),
        { db },
      );
    },

    async cancel(name, id, tx) {
      assertStarted();
      await boss.cancel(name, id, tx ? { db: txAdapter(tx) } : {});
    },

    async work(name, handler) {
      assertStarted();
      await ensureQueue(name);
      const worker: { id?: string } = {};
      // Each job of a batch succeeds or fails on its own: complete and fail are recorded here,
      // so pg-boss's own completion of the whole batch afterwards touches no row.
      const onBatch = async (jobs: PgBoss.Job<Record<string, unknown>>[]): Promise<void> => {
        const outcomes = await Promise.allSettled(jobs.map((job) => handler(job.data, { id: job.id })));
        const done: string[] = [];
        for (const [i, outcome] of outcomes.entries()) {
          const job = jobs[i]!;
          if (outcome.status === 'fulfilled') {
            done.push(job.id);
            continue;
          }
          log.warn(
            { err: outcome.reason, queue: name, jobId: job.id },
            'job failed; pg-boss retries it if it has attempts left',
          );
          deps.onFailure?.(name);
          await boss.fail(name, job.id, failureOf(outcome.reason));
        }
        if (done.length > 0) await boss.complete(name, done);
        // A full batch suggests more are due: fetch again now instead of after the interval.
        if (jobs.length === batchSize && worker.id !== undefined) boss.notifyWorker(worker.id);
      };
      worker.id = await boss.work<Record<string, unknown>>(
        name,
        { batchSize, pollingIntervalSeconds },
        onBatch,
      );
    },
  };
}
