import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { problemResponses } from '../../http/schemas.js';
import type { InsightsService } from './insights.service.js';

const Num = Type.Union([Type.Number(), Type.Null()]);
const Seconds = Type.Object({ median: Num, p90: Num });
const Channels = Type.Array(Type.Object({ channel: Type.String(), decisions: Type.Integer() }));
const People = Type.Object({
  decisions: Type.Integer(),
  approvals: Type.Integer(),
  denials: Type.Integer(),
  decision_seconds: Seconds,
  rubber_stamp: Type.Object({
    approvals_opened_first: Type.Integer(),
    approved_within_5s_of_opening: Type.Integer(),
    fast_after_opening_rate: Num,
    approvals_with_payload: Type.Integer(),
    approved_payload_never_expanded: Type.Integer(),
    payload_never_expanded_rate: Num,
  }),
});
const Outcomes = {
  handoffs: Type.Integer(),
  approved: Type.Integer(),
  denied: Type.Integer(),
  expired: Type.Integer(),
  cancelled: Type.Integer(),
  pending: Type.Integer(),
  allowed_by_policy: Type.Integer(),
  decided_by_people: Type.Integer(),
  expiry_rate: Num,
  deny_rate: Num,
  policy_allowed_share: Num,
  decision_seconds: Seconds,
  people: People,
};
const InsightsView = Type.Object({
  window: Type.Object({
    from: Type.String({ format: 'date-time' }),
    to: Type.String({ format: 'date-time' }),
  }),
  fast_seconds: Type.Integer(),
  per_person: Type.Boolean(),
  totals: Type.Object({ ...Outcomes, channels: Channels }),
  by_risk_level: Type.Array(Type.Object({ risk_level: Type.String(), ...Outcomes })),
  by_action_type: Type.Array(Type.Object({ action_type: Type.String(), ...Outcomes })),
  by_approver: Type.Union([
    Type.Array(
      Type.Object({
        member_id: Type.String(),
        name: Type.Union([Type.String(), Type.Null()]),
        ...People.properties,
        channels: Channels,
      }),
    ),
    Type.Null(),
  ]),
  noisy_actions: Type.Object({
    rule: Type.Object({
      min_handoffs: Type.Integer(),
      min_fast_share: Type.Number(),
      levels: Type.Array(Type.String()),
    }),
    items: Type.Array(
      Type.Object({
        action_type: Type.String(),
        target: Type.Union([Type.String(), Type.Null()]),
        device: Type.Object({ id: Type.String(), name: Type.Union([Type.String(), Type.Null()]) }),
        handoffs: Type.Integer(),
        approved_fast: Type.Integer(),
        fast_share: Num,
        max_risk_level: Type.String(),
        suggestion: Type.String(),
        policy_link: Type.String(),
      }),
    ),
  }),
});

export function insightsRoutes(app: AppInstance, deps: { insights: InsightsService }) {
  const { insights } = deps;
  app.get(
    '/v1/admin/insights',
    {
      config: { auth: 'session', role: 'viewer' },
      schema: {
        tags: ['insights'],
        summary: 'Approval-fatigue insights over a window of handoffs (docs/insights.md)',
        description:
          'Per risk level, per action type and (admins only) per approver: time from escalation to decision (median, p90), rubber-stamp rates, expiry and deny rates, deciding channels, the share allowed by policy, and noisy actions with a suggestion. `from` and `to` are ISO 8601 dates or date-times with a zone; the window [from, to) is at most 366 days (default: the last 30 days). Members and viewers get `by_approver: null` and no per-person numbers.',
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ maxLength: 40 })),
            to: Type.Optional(Type.String({ maxLength: 40 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: InsightsView, ...problemResponses },
      },
    },
    async (req) => insights.get(memberOf(req), req.query),
  );
}
