/**
 * Reading and replacing an org's policies (admin). Both are validated whole before anything is
 * written; the change and its audit entry ride in one transaction.
 */
import type { Kysely } from 'kysely';
import { auditEvents } from '../../core/audit-chain/events.js';
import { parseEscalationPolicy } from '../../core/policy/escalation.js';
import { parseRiskPolicy } from '../../core/risk/index.js';
import { withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { appendAudit } from '../audit/audit.repository.js';
import { actorOf, type Principal } from '../auth/principal.js';
import { getSettings, saveSettings } from '../handoffs/handoffs.repository.js';
import { loadPolicies, type Policies } from './policies.js';

export function createPoliciesService(deps: { readonly db: Kysely<DB>; readonly clock: Clock }) {
  const { db, clock } = deps;
  return {
    async get(p: Principal & { kind: 'member' }): Promise<Policies> {
      return withTenant(db, p.orgId, (tx) => loadPolicies(tx));
    },

    async set(
      p: Principal & { kind: 'member' },
      input: { risk_policy?: unknown; escalation_policy?: unknown },
    ): Promise<Policies> {
      const errors: string[] = [];
      const risk = input.risk_policy !== undefined ? parseRiskPolicy(input.risk_policy) : undefined;
      const escalation =
        input.escalation_policy !== undefined ? parseEscalationPolicy(input.escalation_policy) : undefined;
      if (risk && !risk.ok) errors.push(...risk.errors.map((e) => `risk_policy: ${e}`));
      if (escalation && !escalation.ok)
        errors.push(...escalation.errors.map((e) => `escalation_policy: ${e}`));
      if (errors.length > 0)
        throw new AppError('validation_failed', errors.join('; '), {
          errors: errors.map((message) => ({ path: 'body', message })),
        });
      return withTenant(db, p.orgId, async (tx) => {
        const current = await getSettings(tx);
        const now = clock.now();
        await saveSettings(
          tx,
          {
            riskPolicy: input.risk_policy ?? current.riskPolicy,
            escalationPolicy: input.escalation_policy ?? current.escalationPolicy,
          },
          now,
        );
        const changed = [
          ...(input.risk_policy !== undefined ? (['risk_policy'] as const) : []),
          ...(input.escalation_policy !== undefined ? (['escalation_policy'] as const) : []),
        ];
        await appendAudit(tx, auditEvents.policyUpdated(actorOf(p), p.orgId, changed), now);
        return loadPolicies(tx);
      });
    },
  };
}

export type PoliciesService = ReturnType<typeof createPoliciesService>;
