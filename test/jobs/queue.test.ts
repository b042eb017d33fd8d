import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE, withTenant } from '../../src/db/client.js';
import {
  createJobQueue,
  poolAdapter,
  settleUnawaited,
  singletonJobId,
  type JobQueue,
} from '../../src/jobs/queue.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { memoryLogger, sleep, waitFor } from '../helpers/jobs.js';

const POLL = 0.5;

let database: TestDatabase;
let queue: JobQueue;
const log = memoryLogger();

beforeAll(async () => {
  database = await freshDatabase();
  queue = await createJobQueue({ database, logger: log.logger, pollingIntervalSeconds: POLL });
  await queue.start();
});
afterAll(async () => {
  await queue?.stop();
  await database?.close();
});

async function jobState(id: string): Promise<string | undefined> {
  const { rows } = await sql<{ state: string }>`select state::text from pgboss.job where id = ${id}`.execute(
    database.db,
  );
  return rows[0]?.state;
}

async function newOrg(tx: { orgId: string; db: TestDatabase['db'] }): Promise<void> {
  const slug = `jobs-${tx.orgId.slice(0, 8)}`;
  await tx.db.insertInto('orgs').values({ id: tx.orgId, name: slug, slug }).execute();
}

describe('job queue', () => {
  it('runs a sent job once, with its data', async () => {
    const runs: { data: Record<string, unknown>; id: string }[] = [];
    await queue.work('plain', async (data, job) => {
      runs.push({ data, id: job.id });
    });
    const id = await queue.send('plain', { handoffId: 'h-1', step: 2 });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor(() => runs.length === 1, 'the job to run');
    expect(runs[0]).toEqual({ data: { handoffId: 'h-1', step: 2 }, id });
    await sleep(POLL * 3 * 1000);
    expect(runs).toHaveLength(1);
    expect(await jobState(id!)).toBe('completed');
  });

  it('does not run a job before startAfter, and runs it after', async () => {
    let ranAt: number | undefined;
    await queue.work('delayed', async () => {
      ranAt = Date.now();
    });
    const due = new Date(Date.now() + 2000);
    await queue.send('delayed', {}, { startAfter: due });
    await waitFor(() => ranAt !== undefined, 'the delayed job');
    // Generous slack: the database's clock decides, and it is the same machine.
    expect(ranAt!).toBeGreaterThanOrEqual(due.getTime() - 500);
  });

  it('a job sent in a transaction runs only if the transaction commits', async () => {
    const seen: unknown[] = [];
    await queue.work('transactional', async (data) => {
      seen.push(data.which);
    });

    const rolledBackOrg = randomUUID();
    let rolledBackId: string | null = null;
    await expect(
      withTenant(database.db, rolledBackOrg, async (tx) => {
        await newOrg(tx);
        rolledBackId = await queue.send('transactional', { which: 'rolled back' }, {}, tx.db);
        throw new Error('abort the transaction');
      }),
    ).rejects.toThrow('abort the transaction');
    expect(rolledBackId).not.toBeNull();

    const committedOrg = randomUUID();
    const committedId = await withTenant(database.db, committedOrg, async (tx) => {
      await newOrg(tx);
      const id = await queue.send('transactional', { which: 'committed' }, {}, tx.db);
      // The transaction is still the app role, still confined to its org.
      const who = await sql<{ user: string; orgs: number }>`
        select current_user as user, (select count(*)::int from orgs) as orgs`.execute(tx.db);
      expect(who.rows[0]).toEqual({ user: APP_ROLE, orgs: 1 });
      return id;
    });

    await waitFor(() => seen.includes('committed'), 'the committed job');
    await sleep(POLL * 3 * 1000);
    expect(seen).toEqual(['committed']);
    expect(await jobState(rolledBackId!)).toBeUndefined();
    expect(await jobState(committedId!)).toBe('completed');
  });

  it('a job sent in a transaction on a queue never seen before is created with it', async () => {
    const org = randomUUID();
    const id = await withTenant(database.db, org, async (tx) => {
      await newOrg(tx);
      return queue.send('first-seen-in-tx', { n: 1 }, {}, tx.db);
    });
    expect(await jobState(id!)).toBe('created');
    const seen: unknown[] = [];
    await queue.work('first-seen-in-tx', async (data) => {
      seen.push(data.n);
    });
    await waitFor(() => seen.length === 1, 'the job');
  });

  it('retries a handler that throws, then it succeeds', async () => {
    let calls = 0;
    await queue.work('flaky', async () => {
      calls += 1;
      if (calls === 1) throw new Error('provider unavailable');
    });
    const id = await queue.send('flaky', {}, { retryLimit: 2, retryDelaySeconds: 1, retryBackoff: false });
    await waitFor(() => calls === 2, 'the retry');
    let state: string | undefined;
    for (let i = 0; i < 40 && state !== 'completed'; i += 1) {
      state = await jobState(id!);
      if (state !== 'completed') await sleep(100);
    }
    expect(state).toBe('completed');
    expect(calls).toBe(2);
    expect(log.lines().join('')).toContain('provider unavailable');
  });

  it('a cancelled job never runs', async () => {
    let ran = false;
    await queue.work('cancelled', async () => {
      ran = true;
    });
    const id = await queue.send('cancelled', {}, { startAfter: new Date(Date.now() + 2000) });
    await queue.cancel('cancelled', id!);
    expect(await jobState(id!)).toBe('cancelled');
    await sleep(3500);
    expect(ran).toBe(false);
  });

  it('a cancel inside a transaction that rolls back cancels nothing', async () => {
    const id = await queue.send('cancel-in-tx', {}, { startAfter: new Date(Date.now() + 60_000) });
    await expect(
      withTenant(database.db, randomUUID(), async (tx) => {
        await queue.cancel('cancel-in-tx', id!, tx.db);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await jobState(id!)).toBe('created');
    await withTenant(database.db, randomUUID(), (tx) => queue.cancel('cancel-in-tx', id!, tx.db));
    expect(await jobState(id!)).toBe('cancelled');
  });

  it('two sends with the same singletonKey make one job', async () => {
    let runs = 0;
    await queue.work('single', async () => {
      runs += 1;
    });
    const first = await queue.send('single', { n: 1 }, { singletonKey: 'handoff-1:step-2' });
    const second = await queue.send('single', { n: 2 }, { singletonKey: 'handoff-1:step-2' });
    expect(first).toBe(singletonJobId('single', 'handoff-1:step-2'));
    expect(second).toBeNull();
    const other = await queue.send('single', { n: 3 }, { singletonKey: 'handoff-1:step-3' });
    expect(other).not.toBeNull();
    await waitFor(() => runs === 2, 'both distinct jobs');
    await sleep(POLL * 3 * 1000);
    expect(runs).toBe(2);
    // The key still holds after the job ran.
    expect(await queue.send('single', { n: 4 }, { singletonKey: 'handoff-1:step-2' })).toBeNull();
  });

  it('a failed BEGIN … COMMIT batch does not leave its connection inside an aborted transaction', async () => {
    // pg-boss wraps maintenance in one multi-statement BEGIN … COMMIT; an error part-way would
    // otherwise hand the next query (here on the same connection) a dead transaction.
    await database.db.connection().execute(async (conn) => {
      await expect(poolAdapter(conn).executeSql('begin; select 1/0; commit', [])).rejects.toThrow(
        'division by zero',
      );
      const { rows } = await sql<{ ok: number }>`select 1 as ok`.execute(conn);
      expect(rows).toEqual([{ ok: 1 }]);
    });
  });

  it('completing or failing a job while the database is unreachable is logged, not an unhandled rejection', async () => {
    // pg-boss runs these two statements without awaiting them; any other statement still rejects.
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const seen: string[] = [];
    const down = settleUnawaited({ executeSql: () => Promise.reject(refused) }, (err) =>
      seen.push((err as Error).message),
    );
    const plans = createRequire(import.meta.url)('pg-boss/src/plans.js') as {
      completeJobs(schema: string): string;
      failJobsById(schema: string): string;
    };
    await expect(
      down.executeSql(plans.completeJobs('pgboss'), ['q', [randomUUID()], null]),
    ).resolves.toMatchObject({
      rows: [{ count: '0' }],
    });
    await expect(
      down.executeSql(plans.failJobsById('pgboss'), ['q', [randomUUID()], null]),
    ).resolves.toMatchObject({
      rows: [{ count: '0' }],
    });
    expect(seen).toEqual([refused.message, refused.message]);
    await expect(down.executeSql('select 1', [])).rejects.toBe(refused);
  });

  it('refuses to work before start', async () => {
    const idle = await createJobQueue({ database, logger: log.logger });
    await expect(idle.send('plain', {})).rejects.toThrow('not started');
  });
});

describe('job queue across a restart', () => {
  it('stop() waits for a running handler to finish', async () => {
    const q = await createJobQueue({ database, logger: log.logger, pollingIntervalSeconds: POLL });
    await q.start();
    let started = false;
    let finished = false;
    await q.work('slow', async () => {
      started = true;
      await sleep(1000);
      finished = true;
    });
    const id = await q.send('slow', {});
    await waitFor(() => started, 'the slow job to start');
    await q.stop();
    expect(finished).toBe(true);
    expect(await jobState(id!)).toBe('completed');
  });

  it('a job scheduled before the queue stopped fires on a new queue object', async () => {
    const first = await createJobQueue({ database, logger: log.logger, pollingIntervalSeconds: POLL });
    await first.start();
    const id = await first.send(
      'after-restart',
      { reason: 'server went down' },
      {
        startAfter: new Date(Date.now() + 2000),
      },
    );
    await first.stop();

    const second = await createJobQueue({ database, logger: log.logger, pollingIntervalSeconds: POLL });
    await second.start();
    try {
      const seen: { data: Record<string, unknown>; id: string }[] = [];
      await second.work('after-restart', async (data, job) => {
        seen.push({ data, id: job.id });
      });
      await waitFor(() => seen.length === 1, 'the job on the new queue');
      expect(seen[0]).toEqual({ data: { reason: 'server went down' }, id });
    } finally {
      await second.stop();
    }
  });
});
