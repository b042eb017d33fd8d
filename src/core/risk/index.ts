/**
 * The risk engine: `deriveRisk(handoff, policy)` decides how dangerous an action really is from what
 * it does (commands, SQL, diffs, JSON, targets, amounts), never from what the agent claims. Pure and
 * deterministic; every decision is a closed-enum reason code with a default level. How a level is
 * decided is in derive.ts; each reading is an analyser under analysers/.
 */
import { explainRisk, type RiskExplanation } from './derive.js';
import { REASONS } from './reasons.js';
import { defaultRiskPolicy, type RiskAssessment, type RiskInput, type RiskPolicy } from './types.js';

export { explainRisk, type ReasonDetail, type RiskExplanation } from './derive.js';
export { RISK_LEVELS, levelRank, maxLevel, type RiskLevel } from './levels.js';
export { REASON_CODES, REASONS, type ReasonCode, type ReasonInfo } from './reasons.js';
export {
  ACTION_TYPES,
  PAYLOAD_KINDS,
  LIMITS,
  defaultRiskPolicy,
  type ActionType,
  type PayloadKind,
  type HandoffAction,
  type HandoffPayload,
  type HandoffContext,
  type RiskInput,
  type RiskPolicy,
  type RiskPolicyRule,
  type RiskAssessment,
  MCP_TOOL_ACTIONS,
  type McpToolAction,
  type McpToolRule,
} from './types.js';
export { mcpToolRuleFor } from './mcp-tools.js';
export { parseRiskInput, parseRiskPolicy, type ParseResult } from './parse-input.js';

/** `{level, reasons}` for a handoff under an org policy (default: `defaultRiskPolicy`). */
export function deriveRisk(input: RiskInput, policy: RiskPolicy = defaultRiskPolicy): RiskAssessment {
  const { level, reasons } = explainRisk(input, policy);
  return { level, reasons };
}

/** Human-readable explanation, one reason per line, for `ony risk --explain`. */
export function formatExplanation(explanation: RiskExplanation): string {
  const lines = [`risk: ${explanation.level.toUpperCase()}`];
  if (explanation.details.length === 0)
    lines.push(
      '  no risk signals found: nothing destructive, privileged, secret or production-bound was detected.',
    );
  for (const d of explanation.details) {
    lines.push(
      `  ${d.level.padEnd(8)} ${d.reason}: ${REASONS[d.reason].explanation}${REASONS[d.reason].floor ? ' (never below critical)' : ''}`,
    );
    for (const e of d.evidence) lines.push(`           ↳ ${e.replace(/\s+/g, ' ')}`);
  }
  return `${lines.join('\n')}\n`;
}
