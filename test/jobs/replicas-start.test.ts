/**
 * Several replicas starting at the same instant on a freshly migrated Postgres: each installs the
 * job queue and creates the same queues. pg-boss's create_queue deadlocks when two run at once
 * (issue #19: 2 of 3 replicas printed "deadlock detected" and never listened); ony serialises it.
 * Postgres only: embedded mode is one process on one connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectPostgres, type Database } from '../../src/db/client.js';
import { createJobQueue, type JobQueue } from '../../src/jobs/queue.js';
import { freshPostgres, realDatabaseUrl, type TestDatabase } from '../helpers/db.js';
import { memoryLogger, waitFor } from '../helpers/jobs.js';

const QUEUES = [
  'handoff-expire',
  'handoff-escalate',
  'handoff-callback',
  'handoff-notify',
  'retention',
  'witness',
];
const REPLICAS = 3;

let open: { database?: TestDatabase; pools: Database[]; queues: JobQueue[] } = { pools: [], queues: [] };
afterEach(async () => {
  await Promise.allSettled(open.queues.map((q) => q.stop()));
  await Promise.allSettled(open.pools.map((p) => p.close()));
  await open.database?.close();
  open = { pools: [], queues: [] };
});

describe.skipIf(realDatabaseUrl === undefined)('replicas starting at once', () => {
  it.each([1, 2, 3])(
    'round %i: every replica starts its queue and workers, and a job sent runs',
    async () => {
      const database = await freshPostgres(realDatabaseUrl!);
      open.database = database;
      const log = memoryLogger();
      // One pool per replica, on the confined runtime login, as `ony serve` connects.
      open.pools = Array.from({ length: REPLICAS }, () => connectPostgres(database.runtimeUrl!, 5));
      open.queues = await Promise.all(
        open.pools.map((pool) =>
          createJobQueue({ database: pool, logger: log.logger, pollingIntervalSeconds: 0.5 }),
        ),
      );
      await Promise.all(open.queues.map((q) => q.start()));
      const runs: string[] = [];
      await Promise.all(
        open.queues.flatMap((q, replica) =>
          QUEUES.map((name) => q.work(name, async (_data, job) => void runs.push(`${replica}:${job.id}`))),
        ),
      );
      const id = await open.queues[0]!.send('handoff-escalate', { n: 1 });
      await waitFor(() => runs.length > 0, 'the job to run on some replica');
      expect(runs.map((r) => r.split(':')[1])).toEqual([id]);
    },
  );
});
