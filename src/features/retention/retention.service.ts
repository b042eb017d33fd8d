/**
 * Payload retention (issue #10, docs/privacy.md): the org's window (admin setting), and the sweep
 * that deletes due payloads in short batches, daily (a self-rescheduling pg-boss job) and from
 * `ony retention run`. The handoff, its decision and the audit chain stay: the chain only ever held
 * the payload's salted hash, so it verifies the same after a sweep. One `retention.swept` entry per
 * org per run records the counts.
 */
import type { Kysely } from 'kysely';
import { withApp, withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { JobQueue } from '../../jobs/queue.js';
import { auditEvents } from '../../core/audit-chain/events.js';
import {
  DEFAULT_SWEEP_BATCH,
  MAX_PAYLOAD_RETENTION_DAYS,
  isValidRetentionDays,
  retentionCutoff,
} from '../../core/retention/retention.js';
import { appendAudit } from '../audit/audit.repository.js';
import { actorOf, type Principal } from '../auth/principal.js';
import {
  countDuePayloads,
  getRetentionDays,
  listRetentionOrgs,
  setRetentionDays,
  sweepBatch,
} from './retention.repository.js';

export const RETENTION_JOBS = { sweep: 'retention-sweep' } as const;
/** The daily sweep runs at this UTC hour. */
const SWEEP_HOUR_UTC = 3;

export interface RetentionDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly jobs: Pick<JobQueue, 'send'>;
  /** Rows per batch (default 500): each batch is its own short transaction. */
  readonly batchSize?: number;
}

export interface OrgSweep {
  readonly orgId: string;
  readonly retentionDays: number;
  readonly cutoff: Date;
  /** Payload rows deleted (dry run: due). */
  readonly removed: number;
  readonly batches: number;
}

type MemberPrincipal = Principal & { kind: 'member' };

/** The next daily run at or after `now`: today's SWEEP_HOUR_UTC, or tomorrow's if past. */
export function nextSweepAt(now: Date): Date {
  const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), SWEEP_HOUR_UTC));
  if (at.getTime() <= now.getTime()) at.setUTCDate(at.getUTCDate() + 1);
  return at;
}

export function createRetentionService(deps: RetentionDeps) {
  const { db, clock, logger, jobs } = deps;
  const batchSize = deps.batchSize ?? DEFAULT_SWEEP_BATCH;
  const log = logger.child({ component: 'retention' });

  async function sweepOrg(orgId: string, days: number, dryRun: boolean): Promise<OrgSweep> {
    const started = clock.now();
    const cutoff = retentionCutoff(started, days);
    if (dryRun) {
      const due = await withTenant(db, orgId, (tx) => countDuePayloads(tx, cutoff));
      return { orgId, retentionDays: days, cutoff, removed: due, batches: 0 };
    }
    let removed = 0;
    let batches = 0;
    for (;;) {
      // Each batch commits on its own: row locks last one batch, and a crash loses nothing done.
      const r = await withTenant(db, orgId, (tx) => sweepBatch(tx, cutoff, clock.now(), batchSize));
      removed += r.removed;
      if (r.stamped > 0) batches++;
      if (r.stamped < batchSize) break;
    }
    const result = { orgId, retentionDays: days, cutoff, removed, batches };
    await withTenant(db, orgId, (tx) =>
      appendAudit(tx, auditEvents.retentionSwept(orgId, result), clock.now()),
    );
    return result;
  }

  /** Sweeps every org (or one), each with its own window. An unknown org id is 404. */
  async function run(opts: { orgId?: string; dryRun?: boolean } = {}): Promise<OrgSweep[]> {
    const orgs = await withApp(db, (tx) => listRetentionOrgs(tx));
    const chosen = opts.orgId === undefined ? orgs : orgs.filter((o) => o.orgId === opts.orgId);
    if (opts.orgId !== undefined && chosen.length === 0) throw notFound('org');
    const results: OrgSweep[] = [];
    for (const o of chosen) {
      try {
        results.push(await sweepOrg(o.orgId, o.days, opts.dryRun === true));
      } catch (err) {
        // One org's failure must not keep the others' payloads past their window.
        log.error({ err, orgId: o.orgId }, 'retention sweep failed for an org');
        if (opts.orgId !== undefined) throw err;
      }
    }
    return results;
  }

  /** Enqueues the next daily run; a singleton per day, so replicas and restarts add no duplicates. */
  async function scheduleNext(): Promise<void> {
    const at = nextSweepAt(clock.now());
    await jobs.send(
      RETENTION_JOBS.sweep,
      { day: at.toISOString().slice(0, 10) },
      {
        startAfter: at,
        singletonKey: `day:${at.toISOString().slice(0, 10)}`,
        retryLimit: 3,
        expireInSeconds: 3600 * 4,
      },
    );
  }

  return {
    run,
    scheduleNext,

    /** The daily job: sweep everything, then enqueue tomorrow's run. */
    async sweepJob(): Promise<void> {
      try {
        const results = await run();
        log.info(
          { orgs: results.length, removed: results.reduce((n, r) => n + r.removed, 0) },
          'retention sweep done',
        );
      } finally {
        await scheduleNext();
      }
    },

    async getSetting(p: MemberPrincipal): Promise<{ payload_retention_days: number }> {
      return { payload_retention_days: await withTenant(db, p.orgId, (tx) => getRetentionDays(tx)) };
    },

    async setSetting(p: MemberPrincipal, days: unknown): Promise<{ payload_retention_days: number }> {
      if (!isValidRetentionDays(days)) {
        throw new AppError(
          'unprocessable',
          `payload_retention_days must be a whole number of days from 0 to ${MAX_PAYLOAD_RETENTION_DAYS}`,
        );
      }
      return withTenant(db, p.orgId, async (tx) => {
        const before = await getRetentionDays(tx);
        if (before !== days) {
          const now = clock.now();
          await setRetentionDays(tx, days, now);
          await appendAudit(tx, auditEvents.retentionUpdated(actorOf(p), p.orgId, before, days), now);
        }
        return { payload_retention_days: days };
      });
    },
  };
}

export type RetentionService = ReturnType<typeof createRetentionService>;
