import { Type } from '@sinclair/typebox';
import { BATCH_DECISIONS, MAX_BATCH } from '../../core/approval/batch.js';
import { HANDOFF_STATUSES } from '../../core/approval/decide.js';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { problemResponses } from '../../http/schemas.js';
import type { BatchDecisionService } from './batch.service.js';
import { lit } from './handoffs.schemas.js';

export function batchDecisionRoutes(app: AppInstance, deps: { batch: BatchDecisionService }) {
  const { batch } = deps;
  app.post(
    '/v1/handoffs/batch-decision',
    {
      config: { auth: 'session', role: 'member' },
      schema: {
        tags: ['handoffs'],
        summary:
          'Decide several equivalent pending handoffs with one confirmation (each decided and audited on its own)',
        description:
          `Up to ${MAX_BATCH} ids of pending, non-critical handoffs from the same device with the same action type and the same normalised target (docs/dashboard.md). ` +
          'The set is checked first and a refused set changes nothing: an empty list, duplicates or more than ' +
          `${MAX_BATCH} ids (400), an id of another org or unknown (404), an item already decided or expired (409), ` +
          'a critical item, a set that is not one action, custom options or an approval that needs a step-up (422; `refusal` and `handoff_id` say which). ' +
          'Then each handoff is decided through the same path as POST /v1/handoffs/{id}/decision and gets its own result; ' +
          'after a step-up refusal the remaining items are `not_attempted`.',
        body: Type.Object(
          {
            ids: Type.Array(Type.String({ format: 'uuid' }), { maxItems: 200 }),
            decision: lit(BATCH_DECISIONS),
            comment: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            results: Type.Array(
              Type.Object({
                id: Type.String(),
                outcome: lit(['decided', 'recorded', 'replay', 'failed', 'not_attempted'] as const),
                status: Type.Union([lit(HANDOFF_STATUSES), Type.Null()]),
                problem: Type.Union([
                  Type.Object({ code: Type.String(), detail: Type.String() }),
                  Type.Null(),
                ]),
              }),
            ),
          }),
          ...problemResponses,
        },
      },
    },
    async (req) => ({
      results: await batch.decide(memberOf(req), req.body.ids, req.body.decision, req.body.comment),
    }),
  );
}
