/**
 * How a level is decided, in one place.
 *
 * 1. Every reading the content supports runs, whatever the agent labelled it: the text of every
 *    field (secrets, hidden characters); the payload as a shell script, as SQL, as a unified diff
 *    (its added lines in executable files as commands) and as JSON (payments, emails, grants);
 *    the target as a command line; and the action's own fields. `payload.kind` and `action.type`
 *    only add readings (a `command` label makes stray SQL-looking text count as SQL too, a `payment`
 *    without an amount is unknown); they never remove one.
 * 2. Production raises any change to at least high, and a destructive one to critical; reading is
 *    routine even in production. Preview and development deploys are low.
 * 3. The level is the maximum over the reasons found (each at its default level, or the level its
 *    reading gave it, or the org's override; a catastrophic reason never below critical), then the
 *    org's raise rules. Nothing here can lower what a reading found.
 */
import { redact } from '../redact/index.js';
import { grantStrength } from './analysers/iam.js';
import { analyseShell } from './analysers/shell/analyser.js';
import { isBuildArtifact, isRootLike, protectedPathKind } from './analysers/shell/paths.js';
import { analyseMongo, analyseSql } from './analysers/sql.js';
import { analyseStructured } from './analysers/structured.js';
import { analyseText } from './analysers/text.js';
import { analyseDiff, splitDiff } from './analysers/diff.js';
import { Findings } from './findings.js';
import { globMatch, wordsOf } from './glob.js';
import { levelRank, maxLevel, type RiskLevel } from './levels.js';
import { mcpToolRuleFor } from './mcp-tools.js';
import { classifyPath, PATH_CLASS_REASON } from './path-classifier.js';
import { REASON_CODES, REASONS, type ReasonCode } from './reasons.js';
import { defaultRiskPolicy, type RiskInput, type RiskPolicy, type RiskPolicyRule } from './types.js';

export type ResolvedPolicy = Required<RiskPolicy>;

export function resolvePolicy(policy: RiskPolicy): ResolvedPolicy {
  return { ...defaultRiskPolicy, ...policy } as ResolvedPolicy;
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

/** Reasons that describe what is read or shown, not a change: production alone does not raise them. */
const NOT_A_CHANGE: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  'secret_in_payload',
  'hidden_characters',
  'read_only_query',
  'sensitive_table_read',
  'docs_or_tests_only',
  'amount_mismatch',
  'policy_raise',
]);

const PREVIEW_WORDS =
  /^(?:preview|previews|dev|develop|development|sandbox|local|localhost|ephemeral|review|pr\d*)$/i;

/** An odd number of quotes, a here-document or a line continuation: lines may swallow the next. */
function mayHideLines(text: string): boolean {
  const count = (ch: string) => text.split(ch).length - 1;
  return (
    count("'") % 2 === 1 ||
    count('"') % 2 === 1 ||
    count('`') % 2 === 1 ||
    text.includes('<<') ||
    text.includes('\\\n')
  );
}

function isProduction(text: string | undefined, patterns: readonly string[]): boolean {
  if (text === undefined || text.length === 0) return false;
  const words = wordsOf(text);
  return patterns.some((p) => globMatch(p, text) || words.some((w) => globMatch(p, w)));
}

function isPreview(text: string | undefined): boolean {
  return text !== undefined && wordsOf(text).some((w) => PREVIEW_WORDS.test(w));
}

function analyse(input: RiskInput, policy: ResolvedPolicy): Findings {
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
    add: (reason: ReasonCode, evidence: string, level?: RiskLevel) => out.add(reason, evidence, level),
    productionHint: (text: string) => void productionHints.push(text),
  };
  const runShell = (script: string): void => analyseShell(script, shellEnv, shellSink);
  const sqlLabelled = payload?.kind === 'sql' || action.type === 'db.query' || action.type === 'db.migrate';
  const sensitive = (table: string) => policy.sensitive_tables.some((p) => globMatch(p, table));

  // 1. Text a human reads: secrets and hidden characters, in every field.
  analyseText(input, out);

  // 2. The payload, read every way its content supports.
  const { rest, hunks } = payload !== undefined ? splitDiff(payload.content) : { rest: '', hunks: 0 };
  if (payload !== undefined) {
    if (hunks > 0) analyseDiff(payload.content, runShell, out);
    if (rest.trim().length > 0) {
      runShell(rest);
      // A stray quote (an apostrophe in prose) or a here-document opener on one line must not hide
      // the commands after it: unlabelled text where that can happen is also read line by line.
      if (payload.kind !== 'command' && rest.includes('\n') && mayHideLines(rest))
        for (const line of rest.split('\n')) if (line.trim().length > 0) runShell(line);
      const sql = analyseSql(rest, { strict: !sqlLabelled, sensitive });
      const mongo = /\bdb\.(?:\w+\.)?\w+\s*\(/.test(rest) ? analyseMongo(rest) : [];
      for (const f of [...sql, ...mongo])
        if (!(mongo.length > 0 && f.reason === 'unrecognized_sql')) out.add(f.reason, f.statement);
    }
  }
  // A sudoers line that gives everything to anyone is an admin grant, however it is written there.
  if (out.has('sensitive_path_write') && payload !== undefined && /sudoers/.test(payload.content)) {
    if (grantStrength(payload.content) === 'admin') out.add('iam_admin_grant', 'sudoers: ALL=(ALL) ALL');
  }
  const structured = analyseStructured(input, policy, out, {
    shell: runShell,
    sql: (text) => {
      for (const f of analyseSql(text, { sensitive }))
        if (f.reason !== 'unrecognized_sql') out.add(f.reason, f.statement);
    },
  });

  // 3. The target and the action's own fields.
  // Padding is not a reading: ' nuke.sh ' is read as 'nuke.sh' (it was a command, so low).
  const target = action.target?.trim();
  // A shell.exec target is read as a command even as one word ('reboot'); other actions' one-word
  // targets are hosts or names. Either way the readings only add up (the maximum wins).
  if (target !== undefined && target !== '' && action.type !== 'email.send')
    if (/\s/.test(target) || action.type === 'shell.exec') runShell(target);
  switch (action.type) {
    case 'shell.exec':
      // One word says too little to vouch for what runs: a name, or a command without arguments.
      if (payload === undefined && (target === undefined || !/\s/.test(target)))
        out.add('unverifiable_action', 'shell.exec without a command');
      break;
    case 'git.push':
      if (payload === undefined || !/\bgit\s+push\b/.test(payload.content)) {
        const branch = shellEnv.currentBranch;
        // "Force push rebased main": the agent's own words can raise, never lower.
        const force = /\bforce[- ]?push|--force\b|\bpush\s+-f\b/i.test(`${input.title} ${input.summary}`);
        if (branch !== undefined && shellEnv.isProtectedBranch(branch))
          out.add(force ? 'force_push_protected_branch' : 'push_protected_branch', `git push to ${branch}`);
        else if (force) out.add('force_push', input.title);
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
    case 'payment':
      if (!structured.payment) out.add('payment_amount_unknown', 'no amount');
      break;
    case 'file.delete':
      if (target === undefined) out.add('delete_files', 'file.delete');
      else if (isRootLike(target)) out.add('recursive_delete_root', target);
      else if (protectedPathKind(target) !== undefined) out.add('protected_data_delete', target);
      else if (isBuildArtifact(target)) out.add('build_artifacts_delete', target);
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
    case 'iam.change': {
      // The command or JSON already said what is granted.
      if (out.has('iam_admin_grant') || out.has('iam_readonly') || out.has('iam_change')) break;
      const strength = grantStrength([target, input.title, input.summary].filter(Boolean).join(' '), true);
      if (strength === 'admin') out.add('iam_admin_grant', target ?? input.title);
      else if (strength === 'readonly') out.add('iam_readonly', target ?? input.title);
      else out.add('iam_change', target ?? 'iam.change');
      break;
    }
    case 'other':
      // An agent's MCP tool can do anything its server can: a human decides unless the org lowers it,
      // for every tool (reason_levels) or for this one (an mcp_tools allow rule).
      if (target !== undefined && /^mcp__[^_]/.test(target))
        out.add(
          mcpToolRuleFor(policy.mcp_tools, target)?.action === 'allow' ? 'mcp_tool_allowed' : 'mcp_tool',
          target,
        );
      break;
  }

  // 4. Where it lands: production raises changes; preview and development deploys are routine.
  const production =
    isProduction(target, policy.production_patterns) ||
    isProduction(context?.environment, policy.production_patterns) ||
    isProduction(context?.host, policy.production_patterns) ||
    productionHints.some((h) => isProduction(h, policy.production_patterns));
  const changes = out.reasons().filter((r) => !NOT_A_CHANGE.has(r) && levelRank(REASONS[r].level) > 0);
  // An action that does not say what it does, aimed at production, is treated as a change; so is
  // writing a file or applying a diff there.
  const unknown =
    (action.type === 'other' && payload === undefined) ||
    action.type === 'file.write' ||
    (hunks > 0 && !out.has('docs_or_tests_only'));
  if (production && (changes.length > 0 || unknown || out.has('build_artifacts_delete')))
    out.add(
      'production_target',
      [target, context?.environment, context?.host].filter(Boolean).join(' ') || 'production',
    );
  if (production && changes.some((r) => DESTRUCTIVE.has(r)))
    out.add('destructive_in_production', changes.filter((r) => DESTRUCTIVE.has(r)).join(', '));
  if (
    !production &&
    out.has('deploy') &&
    (isPreview(target) || isPreview(context?.environment) || out.has('preview_deploy'))
  ) {
    out.delete('deploy');
    out.add('preview_deploy', [target, context?.environment].filter(Boolean).join(' '));
  }
  return out;
}

export interface ReasonDetail {
  readonly reason: ReasonCode;
  /** The level this reason carries under the policy in force. */
  readonly level: RiskLevel;
  /** What triggered it (redacted, at most 160 characters each, at most 3). */
  readonly evidence: readonly string[];
}

export interface RiskExplanation {
  readonly level: RiskLevel;
  readonly reasons: readonly ReasonCode[];
  readonly details: readonly ReasonDetail[];
}

/** Whether an org raise rule applies: every condition it gives holds. */
export function ruleMatches(
  rule: RiskPolicyRule,
  input: RiskInput,
  reasons: ReadonlySet<ReasonCode>,
): boolean {
  const w = rule.when;
  if (w.action_type !== undefined && w.action_type !== input.action.type) return false;
  if (w.reason !== undefined && !reasons.has(w.reason)) return false;
  const { target } = input.action;
  const environment = input.context?.environment;
  if (w.target_matches !== undefined && (target === undefined || !globMatch(w.target_matches, target)))
    return false;
  if (w.environment !== undefined && (environment === undefined || !globMatch(w.environment, environment)))
    return false;
  return true;
}

function levelOf(reason: ReasonCode, found: Findings, policy: ResolvedPolicy): RiskLevel {
  const info = REASONS[reason];
  if (info.floor) return 'critical';
  return policy.reason_levels[reason] ?? found.levels.get(reason) ?? info.level;
}

/** The level, the reasons and, for each reason, its level and (redacted) evidence. */
export function explainRisk(input: RiskInput, policy: RiskPolicy = defaultRiskPolicy): RiskExplanation {
  const resolved = resolvePolicy(policy);
  const findings = analyse(input, resolved);
  let level: RiskLevel = 'low';
  for (const reason of findings.reasons()) level = maxLevel(level, levelOf(reason, findings, resolved));
  const reasons = new Set(findings.reasons());
  for (const rule of resolved.raise) {
    if (!ruleMatches(rule, input, reasons)) continue;
    if (levelRank(rule.level) > levelRank(level)) {
      level = rule.level;
      findings.add('policy_raise', `raised to ${rule.level}`);
    }
  }
  const details: ReasonDetail[] = findings
    .reasons()
    .map((reason) => ({
      reason,
      level: reason === 'policy_raise' ? level : levelOf(reason, findings, resolved),
      evidence: (findings.evidence.get(reason) ?? []).map((e) => redact(e).text.slice(0, 160)),
    }))
    .sort(
      (a, b) =>
        levelRank(b.level) - levelRank(a.level) ||
        REASON_CODES.indexOf(a.reason) - REASON_CODES.indexOf(b.reason),
    );
  return { level, reasons: details.map((d) => d.reason), details };
}
