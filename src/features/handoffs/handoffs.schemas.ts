/**
 * The handoff API's request and response schemas: Fastify validates with them, the OpenAPI document
 * is generated from them, and test/client/drift.test.ts holds the public client's types (packages/client)
 * to them, so the three cannot drift apart.
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  ASSURANCE_LEVELS,
  DECISION_CHANNELS,
  IDENTITY_PROOFS,
  STEP_UPS,
} from '../../core/approval/assurance.js';
import { HANDOFF_STATUSES } from '../../core/approval/decide.js';
import { REJECTION_REASONS } from '../../core/approval/rejection.js';
import { ACTION_TYPES, PAYLOAD_KINDS, RISK_LEVELS } from '../../core/risk/index.js';

export const lit = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Short = (max: number) => Type.String({ maxLength: max });

export const CreateHandoffBody = Type.Object(
  {
    action: Type.Object(
      {
        type: lit(ACTION_TYPES),
        target: Type.Optional(Short(500)),
        amount: Type.Optional(Type.Number({ minimum: 0 })),
        currency: Type.Optional(Type.String({ pattern: '^[A-Za-z]{3,8}$' })),
        recipients_count: Type.Optional(Type.Integer({ minimum: 0 })),
      },
      { additionalProperties: false },
    ),
    title: Type.String({ minLength: 1, maxLength: 200 }),
    summary: Type.Optional(Short(2000)),
    options: Type.Optional(
      Type.Array(
        Type.Object(
          {
            id: Type.String({ pattern: '^[a-z0-9_-]{1,32}$' }),
            label: Type.String({ minLength: 1, maxLength: 60 }),
          },
          { additionalProperties: false },
        ),
        {
          minItems: 2,
          maxItems: 6,
          description: 'approve/deny by default; up to 5 custom options plus "deny"',
        },
      ),
    ),
    payload: Type.Optional(
      Type.Object(
        { kind: lit(PAYLOAD_KINDS), content: Type.String({ maxLength: 1_048_576 }) },
        { additionalProperties: false },
      ),
    ),
    timeout_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 604_800 })),
    callback_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    context: Type.Optional(
      Type.Object(
        {
          repo: Type.Optional(Short(200)),
          branch: Type.Optional(Short(200)),
          host: Type.Optional(Short(200)),
          environment: Type.Optional(Short(200)),
        },
        { additionalProperties: false },
      ),
    ),
    /** Accepted for compatibility with agents that send it, and dropped unread: ony derives risk itself. */
    risk: Type.Optional(Type.Unknown({ description: 'ignored: the server derives the risk' })),
  },
  { additionalProperties: false },
);

/** An answer's assurance: the level and the three facts it comes from (docs/assurance.md). */
export const AssuranceSchema = Type.Object({
  level: lit(ASSURANCE_LEVELS),
  channel: lit(DECISION_CHANNELS),
  session_age_s: Type.Union([Type.Integer(), Type.Null()]),
  step_up: lit(STEP_UPS),
  identity: lit(IDENTITY_PROOFS),
  amr: Type.Union([Type.Array(Type.String()), Type.Null()]),
  acr: Type.Union([Type.String(), Type.Null()]),
});

export const HandoffViewSchema = Type.Object(
  {
    id: Type.String(),
    short_code: Type.String(),
    status: lit(HANDOFF_STATUSES),
    action: Type.Object({ type: lit(ACTION_TYPES), target: Type.Union([Type.String(), Type.Null()]) }),
    title: Type.String(),
    summary: Type.String(),
    /**
     * The optional summarizer (docs/summarizer.md): `model` when `model_summary` holds the model's
     * checked summary; `deterministic` when the model failed or was refused and people read the
     * gist; null when it is off or has not run yet.
     */
    summary_source: Type.Union([lit(['model', 'deterministic'] as const), Type.Null()]),
    model_summary: Type.Union([Type.String(), Type.Null()]),
    risk: Type.Object({ level: lit(RISK_LEVELS), reasons: Type.Array(Type.String()) }),
    options: Type.Array(Type.Object({ id: Type.String(), label: Type.String() })),
    approvals: Type.Object({ required: Type.Integer(), received: Type.Integer() }),
    totp_required: Type.Boolean(),
    min_assurance: lit(ASSURANCE_LEVELS),
    decision: Type.Union([
      Type.Null(),
      Type.Object({
        option: Type.String(),
        outcome: lit(['approved', 'denied'] as const),
        decided_by: Type.Union([Type.Null(), Type.Object({ member_id: Type.String(), name: Type.String() })]),
        channel: Type.String(),
        /** A deny's reason, when the approver gave one (a closed code); the free text is `comment`. */
        reason: Type.Union([lit(REJECTION_REASONS), Type.Null()]),
        comment: Type.Union([Type.String(), Type.Null()]),
        at: Type.String(),
        assurance: Type.Union([AssuranceSchema, Type.Null()]),
      }),
    ]),
    /** Retention (docs/privacy.md): whether the payload is held, and when retention removed it. */
    payload: Type.Object({
      status: lit(['none', 'stored', 'removed', 'not_stored'] as const),
      removed_at: Type.Union([Type.String(), Type.Null()]),
      note: Type.Union([Type.String(), Type.Null()]),
    }),
    expires_at: Type.String(),
    created_at: Type.String(),
    links: Type.Object({ self: Type.String(), events: Type.String() }),
  },
  { $id: 'Handoff' },
);

export type CreateHandoffBody = Static<typeof CreateHandoffBody>;
export type HandoffViewSchema = Static<typeof HandoffViewSchema>;
