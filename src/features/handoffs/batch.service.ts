/**
 * Batch decisions (issue #22 §1, docs/dashboard.md): one confirmation decides several equivalent
 * pending handoffs. The whole set is checked first (src/core/approval/batch.ts): a refused set
 * changes nothing. Then each handoff is decided on its own through the one decision path
 * (`handoffs.decide`: exactly once, assurance rules, its own audit entry), and each gets its result.
 */
import type { Kysely } from 'kysely';
import {
  batchRefusalText,
  checkBatch,
  checkBatchIds,
  type BatchDecision,
  type BatchRefusal,
} from '../../core/approval/batch.js';
import type { HandoffStatus } from '../../core/approval/decide.js';
import { withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, type ErrorCode } from '../../lib/errors.js';
import type { Principal } from '../auth/principal.js';
import { findHandoffsByIds } from './handoffs.repository.js';
import type { HandoffsService } from './handoffs.service.js';

export interface BatchItemResult {
  readonly id: string;
  /** decided; recorded (a quorum still needs approvals); replay (you had already answered so);
   *  failed (see `problem`); not_attempted (an earlier item needed a step-up, so this one was left). */
  readonly outcome: 'decided' | 'recorded' | 'replay' | 'failed' | 'not_attempted';
  readonly status: HandoffStatus | null;
  readonly problem: { readonly code: ErrorCode; readonly detail: string } | null;
}

const REFUSAL_ERROR: Record<BatchRefusal['code'], ErrorCode> = {
  empty: 'validation_failed',
  too_many: 'validation_failed',
  duplicate: 'validation_failed',
  critical: 'unprocessable',
  not_pending: 'conflict',
  expired: 'conflict',
  unknown_option: 'unprocessable',
  not_equivalent: 'unprocessable',
};

const refused = (r: BatchRefusal) =>
  new AppError(REFUSAL_ERROR[r.code], batchRefusalText(r), {
    refusal: r.code,
    ...('id' in r && { handoff_id: r.id }),
  });

/** A decision this member cannot make without a step-up: the rest of the batch is left alone. */
const STEP_UP: readonly ErrorCode[] = ['totp_required', 'totp_invalid', 'assurance_required', 'forbidden'];

export function createBatchDecisionService(deps: {
  db: Kysely<DB>;
  clock: Clock;
  handoffs: Pick<HandoffsService, 'decide'>;
}) {
  const { db, clock, handoffs } = deps;
  return {
    async decide(
      p: Principal & { kind: 'member' },
      ids: readonly string[],
      decision: BatchDecision,
      comment: string | undefined,
    ): Promise<BatchItemResult[]> {
      const bad = checkBatchIds(ids);
      if (bad !== null) throw refused(bad);
      const found = new Map(
        (await withTenant(db, p.orgId, (tx) => findHandoffsByIds(tx, ids))).map((h) => [h.id, h]),
      );
      // Another org's id reads as missing: 404, as everywhere.
      const missing = ids.find((id) => !found.has(id));
      if (missing !== undefined) throw new AppError('not_found', `handoff ${missing} not found`);
      const items = ids.map((id) => found.get(id)!);
      const refusal = checkBatch(
        items.map((h) => ({ ...h, optionIds: h.options.map((o) => o.id) })),
        decision,
        clock.now(),
      );
      if (refusal !== null) throw refused(refusal);
      const stepUp = decision === 'approve' ? items.find((h) => h.totpRequired) : undefined;
      if (stepUp !== undefined)
        throw new AppError(
          'unprocessable',
          `approving handoff ${stepUp.id} needs a step-up (TOTP or a passkey); approve it on its own page`,
          { refusal: 'step_up', handoff_id: stepUp.id },
        );

      const results: BatchItemResult[] = [];
      let stop = false;
      for (const h of items) {
        if (stop) {
          results.push({ id: h.id, outcome: 'not_attempted', status: h.status, problem: null });
          continue;
        }
        try {
          const r = await handoffs.decide(p, h.id, { option: decision, comment }, 'web');
          results.push({ id: h.id, outcome: r.outcome, status: r.handoff.status, problem: null });
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          results.push({
            id: h.id,
            outcome: 'failed',
            status: null,
            problem: { code: err.code, detail: err.message },
          });
          stop = STEP_UP.includes(err.code);
        }
      }
      return results;
    },
  };
}

export type BatchDecisionService = ReturnType<typeof createBatchDecisionService>;
