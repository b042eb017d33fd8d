/**
 * Extend: a member gives a pending handoff more time, within the total life its risk level's
 * escalation policy allows (`max_lifetime_s`). In one transaction: the expiry moves (guarded by the
 * status and the expiry read), `handoff.extended` is appended, and an expiry job for the new deadline
 * is queued. The job queued at creation still fires at the old deadline: `expireJob` reads the stored
 * expiry and queues itself again instead of expiring early. Then the waiters are woken: a long-poll
 * keeps waiting to the new expiry, the SSE stream sends the handoff with its new `expires_at`.
 */
import type { Kysely } from 'kysely';
import { auditEvents } from '../../core/audit-chain/events.js';
import { checkExtension } from '../../core/policy/extension.js';
import { withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import type { EphemeralStore } from '../../state/store.js';
import { appendAudit } from '../audit/audit.repository.js';
import { actorOf, type Principal } from '../auth/principal.js';
import { loadPolicies } from '../policies/policies.js';
import { extendExpiry, findHandoff, type Handoff } from './handoffs.repository.js';
import { orgChannel, wakeChannel } from './wake-channels.js';

export interface ExtensionDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly jobs: Pick<JobQueue, 'send'>;
  readonly store: Pick<EphemeralStore, 'publish'>;
  /** The job that expires a handoff at its deadline (handoffs.service.ts JOBS.expire). */
  readonly expireJob: string;
}

export function createExtensionService(deps: ExtensionDeps) {
  const { db, clock, jobs, store, expireJob } = deps;
  return {
    async extend(p: Principal & { kind: 'member' }, id: string, byS: number): Promise<Handoff> {
      const h = await withTenant(db, p.orgId, async (tx) => {
        const found = await findHandoff(tx, id, { lock: true });
        if (found === undefined) throw notFound('handoff');
        const now = clock.now();
        const max = (await loadPolicies(tx)).escalation.levels[found.riskLevel].max_lifetime_s;
        const check = checkExtension(found, byS, max, now);
        switch (check.kind) {
          case 'not_pending':
            throw new AppError(
              'conflict',
              `only a pending handoff can be extended; this one is ${check.status}`,
            );
          case 'beyond_max':
            throw new AppError(
              'unprocessable',
              check.maxExtendS === 0
                ? `this handoff already lives as long as the policy allows for ${found.riskLevel} risk (${max} s in all)`
                : `the policy lets a ${found.riskLevel}-risk handoff live ${max} s in all: add at most ${check.maxExtendS} s`,
              {
                max_lifetime_s: max,
                max_extend_s: check.maxExtendS,
                max_expires_at: check.maxExpiresAt.toISOString(),
              },
            );
          case 'ok':
            break;
        }
        if (!(await extendExpiry(tx, id, found.expiresAt, check.expiresAt)))
          throw new AppError('conflict', 'the handoff changed meanwhile; load it again');
        await appendAudit(
          tx,
          auditEvents.handoffExtended(actorOf(p), found, { from: found.expiresAt, to: check.expiresAt }),
          now,
        );
        await jobs.send(
          expireJob,
          { org_id: p.orgId, handoff_id: id },
          { startAfter: check.expiresAt },
          tx.db,
        );
        return (await findHandoff(tx, id))!;
      });
      await Promise.all([store.publish(wakeChannel(id), 'extended'), store.publish(orgChannel(p.orgId), id)]);
      return h;
    },
  };
}
