/**
 * The answer when the full analysis could not finish (time budget, crash, saturation): what the
 * small, bounded fields tell (title, summary, target, context: the input without its payload), at
 * least high, with `analysis_incomplete`. Never low: an analysis that did not finish fails closed.
 */
import { ruleMatches } from './derive.js';
import { explainRisk } from './index.js';
import { levelRank, maxLevel, type RiskLevel } from './levels.js';
import { REASON_CODES, type ReasonCode } from './reasons.js';
import { defaultRiskPolicy, type RiskAssessment, type RiskInput, type RiskPolicy } from './types.js';

export function incompleteRisk(input: RiskInput, policy: RiskPolicy = defaultRiskPolicy): RiskAssessment {
  const { payload, ...withoutPayload } = input;
  const partial = explainRisk(withoutPayload, policy);
  // Without its payload a command or query looks "announced without its content": it was not.
  const kept = partial.details.filter(
    (d) => d.reason !== 'policy_raise' && !(payload !== undefined && d.reason === 'unverifiable_action'),
  );
  // An org may raise analysis_incomplete (reason_levels, or a raise rule naming it), never lower it below high.
  const own = maxLevel('high', policy.reason_levels?.analysis_incomplete ?? 'high');
  let level: RiskLevel = kept.reduce<RiskLevel>((l, d) => maxLevel(l, d.level), own);
  let raised = partial.reasons.includes('policy_raise') && levelRank(partial.level) > levelRank(level);
  if (raised) level = partial.level;
  for (const rule of policy.raise ?? []) {
    if (rule.when.reason !== 'analysis_incomplete') continue;
    if (!ruleMatches(rule, input, new Set<ReasonCode>(['analysis_incomplete']))) continue;
    if (levelRank(rule.level) > levelRank(level)) [level, raised] = [rule.level, true];
  }
  const details: { reason: ReasonCode; level: RiskLevel }[] = [
    ...kept,
    { reason: 'analysis_incomplete', level: own },
    ...(raised ? [{ reason: 'policy_raise' as const, level }] : []),
  ];
  // The engine's order: most severe first, then the order of REASON_CODES.
  details.sort(
    (a, b) =>
      levelRank(b.level) - levelRank(a.level) ||
      REASON_CODES.indexOf(a.reason) - REASON_CODES.indexOf(b.reason),
  );
  return { level, reasons: details.map((d) => d.reason) };
}
