/**
 * Automatic checkpoints and their witnesses (docs/audit.md, "Witnesses"; DESIGN.md §3.4, §3.11).
 *
 * A durable tick (a self-rescheduling pg-boss job, one per time slot: several replicas enqueue the
 * same singleton, so one runs it) looks at every chain head and signs those due: moved `every`
 * entries, or moved and last checkpointed `intervalMs` ago. Signing a checkpoint enqueues one push
 * job per configured witness in the same transaction (singleton per witness, org and seq), so a
 * stored checkpoint is always on its way out, and a push that fails is retried by the queue,
 * logged and counted. Nothing here runs inside an append or a decision, so a witness that is down
 * slows down or blocks neither.
 */
import type { Kysely } from 'kysely';
import type { WitnessConfig } from '../../config/index.js';
import { checkpointDue } from '../../core/audit-chain/witness.js';
import { isUuid, withApp, withTenant, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { checkpointStatus, getCheckpoint } from './audit.repository.js';
import type { AuditService } from './audit.service.js';
import { WITNESS_KINDS, type Witness, type WitnessKind } from './witness-clients.js';

export const WITNESS_JOBS = { tick: 'audit-checkpoint-tick', push: 'audit-witness-push' } as const;

type Rule = Pick<WitnessConfig, 'retryLimit' | 'retryDelaySeconds'>;

/**
 * Enqueues one push per configured witness for a checkpoint just stored, in the caller's
 * transaction (it commits or rolls back with the checkpoint). Idempotent per (witness, org, seq).
 */
export async function enqueueWitnessPushes(
  jobs: Pick<JobQueue, 'send'>,
  kinds: readonly WitnessKind[],
  rule: Rule,
  tx: TenantTx,
  seq: number,
): Promise<void> {
  for (const witness of kinds)
    await jobs.send(
      WITNESS_JOBS.push,
      { witness, org_id: tx.orgId, seq },
      {
        singletonKey: `${witness}:${tx.orgId}:${seq}`,
        retryLimit: rule.retryLimit,
        retryDelaySeconds: rule.retryDelaySeconds,
        retryBackoff: true,
        expireInSeconds: 120,
      },
      tx.db,
    );
}

export interface WitnessDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly jobs: Pick<JobQueue, 'send'>;
  readonly audit: Pick<AuditService, 'checkpoint'>;
  readonly witnesses: readonly Witness[];
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'witnessPush'>;
  readonly config: Pick<WitnessConfig, 'every' | 'intervalMs' | 'pollMs'>;
}

export function createWitnessService(deps: WitnessDeps) {
  const { db, clock, jobs, audit, witnesses, metrics, config } = deps;
  const log = deps.logger.child({ component: 'audit-witness' });

  /** Signs every due head (each push is enqueued with its checkpoint); answers how many. */
  async function tick(): Promise<number> {
    const now = clock.now();
    const due = (await withApp(db, (tx) => checkpointStatus(tx))).filter((s) =>
      checkpointDue(s, now, config),
    );
    let signed = 0;
    for (const s of due) {
      try {
        await audit.checkpoint(s.orgId);
        signed++;
      } catch (err) {
        // One org's failure must not keep the others' heads from their witnesses.
        log.error({ err, orgId: s.orgId }, 'automatic audit checkpoint failed');
      }
    }
    if (signed > 0) log.info({ orgs: signed }, 'signed audit checkpoints');
    return signed;
  }

  /**
   * Enqueues the tick of the next time slot (after `after`, and after now): a singleton per slot,
   * so replicas and restarts add no duplicates, and chains of ticks started apart merge.
   */
  async function scheduleNext(after = 0): Promise<void> {
    const slot = Math.max(after + 1, Math.floor(clock.now().getTime() / config.pollMs) + 1);
    await jobs.send(
      WITNESS_JOBS.tick,
      { slot },
      {
        startAfter: new Date(slot * config.pollMs),
        singletonKey: `slot:${slot}`,
        retryLimit: 0,
        expireInSeconds: 600,
      },
    );
  }

  return {
    tick,
    scheduleNext: () => scheduleNext(),

    /** The tick job: the next one is enqueued first, so a failing tick never stops the ticking. */
    async tickJob(data: Record<string, unknown>): Promise<void> {
      await scheduleNext(typeof data.slot === 'number' ? data.slot : 0);
      await tick();
    },

    /** One push of one checkpoint to one witness; throws (and so is retried) when it fails. */
    async pushJob(data: Record<string, unknown>): Promise<void> {
      const { witness: kind, org_id: orgId, seq } = data;
      if (
        typeof kind !== 'string' ||
        typeof orgId !== 'string' ||
        !isUuid(orgId) ||
        typeof seq !== 'number' ||
        !Number.isSafeInteger(seq)
      )
        throw new Error('witness push job data lacks witness, org_id or seq');
      const witness = witnesses.find((w) => w.kind === kind);
      if (witness === undefined) {
        // The witness was removed from the configuration since: nothing to push to.
        log.warn(
          { witness: (WITNESS_KINDS as readonly string[]).includes(kind) ? kind : 'other' },
          'witness no longer configured; push dropped',
        );
        return;
      }
      const cp = await withTenant(db, orgId, (tx) => getCheckpoint(tx, seq));
      if (cp === undefined) {
        log.warn({ witness: kind, orgId, seq }, 'checkpoint to push is gone (org erased?); push dropped');
        return;
      }
      const started = performance.now();
      try {
        await witness.push({ orgId, seq, note: cp.note, latest: cp.latest });
      } catch (err) {
        metrics.witnessPush(kind, 'failed');
        log.warn({ err, witness: kind, orgId, seq }, 'witness push failed; the job queue retries it');
        throw err;
      }
      metrics.witnessPush(kind, 'ok');
      log.info(
        { witness: kind, orgId, seq, ms: Math.round(performance.now() - started) },
        'checkpoint pushed to witness',
      );
    },
  };
}

export type WitnessService = ReturnType<typeof createWitnessService>;
