import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { problemResponses } from '../../http/schemas.js';
import type { PoliciesService } from './policies.service.js';

const PoliciesView = Type.Object({ risk_policy: Type.Unknown(), escalation_policy: Type.Unknown() });

export function policiesRoutes(app: AppInstance, deps: { policies: PoliciesService }) {
  const { policies } = deps;
  app.get(
    '/v1/admin/policies',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags: ['policies'],
        summary: "The org's risk and escalation policies (defaults filled in)",
        response: { 200: PoliciesView, ...problemResponses },
      },
    },
    async (req) => {
      const p = await policies.get(memberOf(req));
      return { risk_policy: p.risk, escalation_policy: p.escalation };
    },
  );

  app.put(
    '/v1/admin/policies',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags: ['policies'],
        summary: 'Replace the risk and/or escalation policy (see docs/risk.md and docs/handoffs.md)',
        body: Type.Object(
          { risk_policy: Type.Optional(Type.Unknown()), escalation_policy: Type.Optional(Type.Unknown()) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: PoliciesView, ...problemResponses },
      },
    },
    async (req) => {
      const p = await policies.set(memberOf(req), req.body);
      return { risk_policy: p.risk, escalation_policy: p.escalation };
    },
  );
}
