/**
 * The risk engine: `deriveRisk(handoff, policy)` decides how dangerous an action really is from what
 * it does (commands, SQL, diffs, targets, amounts), never from what the agent claims. Pure and
 * deterministic; every decision is a closed-enum reason code with a default level.
 */
import { redact } from '../redact/index.js';
import { parseUnifiedDiff } from './diff-analyser.js';
import { globMatch, wordsOf } from './glob.js';
import { levelRank, maxLevel, type RiskLevel } from './levels.js';
import { classifyPath, PATH_CLASS_REASON } from './path-classifier.js';
import { REASON_CODES, REASONS, type ReasonCode } from './reasons.js';
import { analyseShell, isRootLike } from './shell-analyser.js';
import { analyseSql } from './sql-analyser.js';
import { defaultRiskPolicy, type RiskAssessment, type RiskInput, type RiskPolicy } from './types.js';

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
} from './types.js';
export { parseRiskInput, parseRiskPolicy, type ParseResult } from './parse-input.js';

export interface ReasonDetail {
  readonly reason: ReasonCode;
  /** The level this reason carries under the policy in force. */
  readonly level: RiskLevel;
  /** What triggered it (redacted, at most 160 characters each, at most 3). */
  readonly evidence: readonly string[];
}

export interface RiskExplanation extends RiskAssessment {
  readonly details: readonly ReasonDetail[];
}

type ResolvedPolicy = Required<RiskPolicy>;

function resolvePolicy(policy: RiskPolicy): ResolvedPolicy {
  return {
    raise: policy.raise ?? defaultRiskPolicy.raise,
    reason_levels: policy.reason_levels ?? defaultRiskPolicy.reason_levels,
    payment_threshold: policy.payment_threshold ?? defaultRiskPolicy.payment_threshold,
    bulk_email_threshold: policy.bulk_email_threshold ?? defaultRiskPolicy.bulk_email_threshold,
    protected_branches: policy.protected_branches ?? defaultRiskPolicy.protected_branches,
    production_patterns: policy.production_patterns ?? defaultRiskPolicy.production_patterns,
  };
}

/** Reasons whose action destroys something; aimed at production they become critical. */
const DESTRUCTIVE: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  'destructive_delete',
  'schema_drop',
  'unbounded_delete',
  'unbounded_update',
  'infra_destroy',
  'force_push_protected_branch',
  'protected_branch_delete',
]);

class Findings {
  readonly evidence = new Map<ReasonCode, string[]>();
  add(reason: ReasonCode, evidence: string): void {
    const list = this.evidence.get(reason) ?? [];
    if (list.length < 3 && !list.includes(evidence)) list.push(evidence);
    this.evidence.set(reason, list);
  }
  has(reason: ReasonCode): boolean {
    return this.evidence.has(reason);
  }
}

function isProduction(text: string | undefined, patterns: readonly string[]): boolean {
  if (text === undefined || text.length === 0) return false;
  const words = wordsOf(text);
  return patterns.some((p) => globMatch(p, text) || words.some((w) => globMatch(p, w)));
}

function analyseDiff(content: string, out: Findings): void {
  const files = parseUnifiedDiff(content);
  if (files.length === 0) return;
  const classes = files.map((f) => classifyPath(f.path));
  files.forEach((file, i) => {
    const cls = classes[i]!;
    const reason = PATH_CLASS_REASON[cls];
    if (reason !== undefined) out.add(reason, file.path);
    if (cls === 'migration' || file.path.endsWith('.sql')) {
      for (const f of analyseSql(file.added.join('\n'))) {
        if (f.reason !== 'unrecognized_sql') out.add(f.reason, `${file.path}: ${f.statement}`);
      }
    }
  });
  const deleted = files.filter((f, i) => f.deleted && classes[i] !== 'docs' && classes[i] !== 'tests');
  if (deleted.length >= 25) out.add('destructive_delete', `${deleted.length} files deleted`);
  if (classes.every((c) => c === 'docs' || c === 'tests'))
    out.add('docs_or_tests_only', `${files.length} files`);
}

function analyse(input: RiskInput, policy: ResolvedPolicy): { findings: Findings; production: boolean } {
  const out = new Findings();
  const { action, payload, context } = input;
  const productionHints: string[] = [];
  const shellEnv = {
    isProtectedBranch: (branch: string) => policy.protected_branches.some((p) => globMatch(p, branch)),
    ...(context?.branch !== undefined
      ? { currentBranch: context.branch }
      : action.type === 'git.push' && action.target !== undefined && !/\s/.test(action.target)
        ? { currentBranch: action.target.replace(/^[^:]*:/, '').replace(/^refs\/heads\//, '') }
        : {}),
  };
  const shellSink = {
    add: (reason: ReasonCode, evidence: string) => out.add(reason, evidence),
    productionHint: (text: string) => void productionHints.push(text),
  };
  const runShell = (script: string): void => analyseShell(script, shellEnv, shellSink);
  const runSql = (sql: string): void => {
    for (const f of analyseSql(sql)) out.add(f.reason, f.statement);
  };

  // Secrets anywhere a human or a channel could see them.
  for (const [where, text] of [
    ['title', input.title],
    ['summary', input.summary],
    ['target', action.target],
    ['payload', payload?.content],
  ] as const) {
    if (text === undefined || text.length === 0) continue;
    const found = redact(text).findings;
    if (found.length > 0)
      out.add('secret_in_payload', `${where}: ${[...new Set(found.map((f) => f.type))].join(', ')}`);
  }

  // The payload, read as what it says it is (and, for text, as what the action type implies).
  if (payload !== undefined) {
    const kind = payload.kind;
    if (kind === 'command') runShell(payload.content);
    else if (kind === 'sql') runSql(payload.content);
    else if (kind === 'diff') analyseDiff(payload.content, out);
    else if (kind === 'text' && action.type === 'shell.exec') runShell(payload.content);
    else if (kind === 'text' && (action.type === 'db.query' || action.type === 'db.migrate'))
      runSql(payload.content);
  }

  const target = action.target;
  switch (action.type) {
    case 'shell.exec':
      if (payload === undefined && target !== undefined) runShell(target);
      if (payload === undefined && target === undefined)
        out.add('unverifiable_action', 'shell.exec without a command');
      break;
    case 'git.push':
      if (payload === undefined || payload.kind !== 'command') {
        const branch = shellEnv.currentBranch;
        if (branch !== undefined && shellEnv.isProtectedBranch(branch))
          out.add('push_protected_branch', `git push to ${branch}`);
      }
      break;
    case 'deploy':
      out.add('deploy', target ?? context?.environment ?? 'deploy');
      break;
    case 'db.migrate':
      out.add('migration_file', target ?? 'migration');
      if (payload === undefined) out.add('unverifiable_action', 'db.migrate without its SQL');
      break;
    case 'db.query':
      if (payload === undefined) out.add('unverifiable_action', 'db.query without its SQL');
      break;
    case 'payment': {
      const amount = action.amount;
      const label = `${amount ?? '?'} ${action.currency ?? ''}`.trim();
      if (amount === undefined) out.add('payment_amount_unknown', 'no amount');
      else if (amount > policy.payment_threshold)
        out.add('payment_over_threshold', `${label} > ${policy.payment_threshold}`);
      else out.add('payment', label);
      break;
    }
    case 'email.send': {
      const count = action.recipients_count;
      if (count !== undefined && count > policy.bulk_email_threshold)
        out.add('bulk_email', `${count} recipients > ${policy.bulk_email_threshold}`);
      else out.add('email_send', count === undefined ? 'recipients not stated' : `${count} recipients`);
      break;
    }
    case 'file.delete':
      if (target === undefined) out.add('delete_files', 'file.delete');
      else if (isRootLike(target)) out.add('recursive_delete_root', target);
      else if (/[*?]|\/$/.test(target) || classifyPath(target) === 'system')
        out.add('destructive_delete', target);
      else out.add('delete_files', target);
      break;
    case 'file.write':
      if (target !== undefined) {
        const reason = PATH_CLASS_REASON[classifyPath(target)];
        if (reason !== undefined) out.add(reason, target);
      }
      break;
    case 'iam.change':
      out.add('iam_change', target ?? 'iam.change');
      break;
    case 'other':
      // An agent's MCP tool can do anything its server can: a human decides unless the org lowers it.
      if (target !== undefined && /^mcp__[^_]/.test(target)) out.add('mcp_tool', target);
      break;
  }

  const production =
    isProduction(target, policy.production_patterns) ||
    isProduction(context?.environment, policy.production_patterns) ||
    isProduction(context?.host, policy.production_patterns) ||
    productionHints.some((h) => isProduction(h, policy.production_patterns));
  if (production)
    out.add(
      'production_target',
      [target, context?.environment, context?.host].filter(Boolean).join(' ') || 'production',
    );
  if (production && [...out.evidence.keys()].some((r) => DESTRUCTIVE.has(r))) {
    out.add(
      'destructive_in_production',
      [...out.evidence.keys()].filter((r) => DESTRUCTIVE.has(r)).join(', '),
    );
  }
  return { findings: out, production };
}

function effectiveLevel(reason: ReasonCode, policy: ResolvedPolicy): RiskLevel {
  const info = REASONS[reason];
  if (info.floor) return 'critical';
  return policy.reason_levels[reason] ?? info.level;
}

/** The level, the reasons and, for each reason, its level and (redacted) evidence. */
export function explainRisk(input: RiskInput, policy: RiskPolicy = defaultRiskPolicy): RiskExplanation {
  const resolved = resolvePolicy(policy);
  const { findings } = analyse(input, resolved);
  let level: RiskLevel = 'low';
  for (const reason of findings.evidence.keys()) level = maxLevel(level, effectiveLevel(reason, resolved));
  const reasons = new Set(findings.evidence.keys());
  for (const rule of resolved.raise) {
    const w = rule.when;
    if (w.action_type !== undefined && w.action_type !== input.action.type) continue;
    if (w.reason !== undefined && !reasons.has(w.reason)) continue;
    if (
      w.target_matches !== undefined &&
      (input.action.target === undefined || !globMatch(w.target_matches, input.action.target))
    )
      continue;
    if (
      w.environment !== undefined &&
      (input.context?.environment === undefined || !globMatch(w.environment, input.context.environment))
    )
      continue;
    if (levelRank(rule.level) > levelRank(level)) {
      level = rule.level;
      findings.add('policy_raise', `raised to ${rule.level}`);
    }
  }
  const details: ReasonDetail[] = [...findings.evidence.entries()]
    .map(([reason, evidence]) => ({
      reason,
      level: reason === 'policy_raise' ? level : effectiveLevel(reason, resolved),
      evidence: evidence.map((e) => redact(e).text.slice(0, 160)),
    }))
    .sort(
      (a, b) =>
        levelRank(b.level) - levelRank(a.level) ||
        REASON_CODES.indexOf(a.reason) - REASON_CODES.indexOf(b.reason),
    );
  return { level, reasons: details.map((d) => d.reason), details };
}

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
