/**
 * An org's policies as the server applies them: the risk policy (how the engine levels a handoff)
 * and the escalation policy (who is asked, how, for how long). Stored in org_settings; a stored
 * value that no longer validates falls back to the defaults.
 */
import {
  defaultEscalationPolicy,
  parseEscalationPolicy,
  type EscalationPolicy,
} from '../../core/policy/escalation.js';
import { defaultRiskPolicy, parseRiskPolicy, type RiskPolicy } from '../../core/risk/index.js';
import type { TenantTx } from '../../db/client.js';
import { getSettings } from '../handoffs/handoffs.repository.js';

export interface Policies {
  readonly risk: RiskPolicy;
  readonly escalation: EscalationPolicy;
}

/** The org's stored policies; a stored value that no longer validates falls back to the defaults. */
export async function loadPolicies(tx: TenantTx): Promise<Policies> {
  return policiesFrom(await getSettings(tx));
}

/** The policies of stored settings (as `getSettings` answers them). */
export function policiesFrom(s: { riskPolicy: unknown; escalationPolicy: unknown }): Policies {
  const risk = parseRiskPolicy(s.riskPolicy);
  const escalation = parseEscalationPolicy(s.escalationPolicy);
  return {
    risk: risk.ok ? risk.value : defaultRiskPolicy,
    escalation: escalation.ok ? escalation.value : defaultEscalationPolicy,
  };
}
