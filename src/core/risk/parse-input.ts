/**
 * Validates untrusted JSON into a `RiskInput` / `RiskPolicy`. Unknown fields are dropped, so an
 * agent's own `risk` claim never reaches the engine. Pure; the HTTP layer has its own schema.
 */
import { RISK_LEVELS, type RiskLevel } from './levels.js';
import { REASON_CODES, type ReasonCode } from './reasons.js';
import {
  ACTION_TYPES,
  LIMITS,
  PAYLOAD_KINDS,
  type ActionType,
  type HandoffAction,
  type HandoffContext,
  type PayloadKind,
  type RiskInput,
  type RiskPolicy,
  type RiskPolicyRule,
  MCP_TOOL_ACTIONS,
  type McpToolRule,
} from './types.js';

export type ParseResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly string[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}

function optionalString(
  obj: Record<string, unknown>,
  key: string,
  max: number,
  path: string,
  errors: string[],
): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    errors.push(`${path}.${key} must be a string`);
    return undefined;
  }
  if (value.length > max) errors.push(`${path}.${key} must be at most ${max} characters`);
  return value;
}

function optionalNumber(
  obj: Record<string, unknown>,
  key: string,
  path: string,
  errors: string[],
  integer = false,
): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (integer && !Number.isInteger(value))
  ) {
    errors.push(`${path}.${key} must be a non-negative ${integer ? 'integer' : 'number'}`);
    return undefined;
  }
  return value;
}

export function parseRiskInput(value: unknown): ParseResult<RiskInput> {
  const errors: string[] = [];
  if (!isRecord(value)) return { ok: false, errors: ['the handoff must be a JSON object'] };

  let action: HandoffAction | undefined;
  if (!isRecord(value.action)) {
    errors.push('action must be an object with a type');
  } else if (!oneOf(ACTION_TYPES, value.action.type)) {
    errors.push(`action.type must be one of ${ACTION_TYPES.join(', ')}`);
  } else {
    const a = value.action;
    const target = optionalString(a, 'target', LIMITS.targetMaxChars, 'action', errors);
    const amount = optionalNumber(a, 'amount', 'action', errors);
    const currency = optionalString(a, 'currency', LIMITS.currencyMaxChars, 'action', errors);
    const recipients = optionalNumber(a, 'recipients_count', 'action', errors, true);
    action = {
      type: a.type as ActionType,
      ...(target !== undefined ? { target } : {}),
      ...(amount !== undefined ? { amount } : {}),
      ...(currency !== undefined ? { currency } : {}),
      ...(recipients !== undefined ? { recipients_count: recipients } : {}),
    };
  }

  if (typeof value.title !== 'string' || value.title.trim().length === 0)
    errors.push('title must be a non-empty string');
  else if (value.title.length > LIMITS.titleMaxChars)
    errors.push(`title must be at most ${LIMITS.titleMaxChars} characters`);
  const summary = value.summary === undefined ? '' : value.summary;
  if (typeof summary !== 'string') errors.push('summary must be a string');
  else if (summary.length > LIMITS.summaryMaxChars)
    errors.push(`summary must be at most ${LIMITS.summaryMaxChars} characters`);

  let payload: RiskInput['payload'];
  if (value.payload !== undefined && value.payload !== null) {
    const p = value.payload;
    if (!isRecord(p)) errors.push('payload must be an object {kind, content}');
    else if (!oneOf(PAYLOAD_KINDS, p.kind))
      errors.push(`payload.kind must be one of ${PAYLOAD_KINDS.join(', ')}`);
    else if (typeof p.content !== 'string') errors.push('payload.content must be a string');
    else if (new TextEncoder().encode(p.content).length > LIMITS.payloadMaxBytes)
      errors.push('payload.content must be at most 1 MiB');
    else payload = { kind: p.kind as PayloadKind, content: p.content };
  }

  let context: HandoffContext | undefined;
  if (value.context !== undefined && value.context !== null) {
    if (!isRecord(value.context)) errors.push('context must be an object');
    else {
      const c = value.context;
      const fields: Record<string, string> = {};
      for (const key of ['repo', 'branch', 'host', 'environment'] as const) {
        const v = optionalString(c, key, LIMITS.contextFieldMaxChars, 'context', errors);
        if (v !== undefined) fields[key] = v;
      }
      context = fields;
    }
  }

  if (errors.length > 0 || action === undefined) return { ok: false, errors };
  return {
    ok: true,
    value: {
      action,
      title: value.title as string,
      summary: summary as string,
      ...(payload !== undefined ? { payload } : {}),
      ...(context !== undefined ? { context } : {}),
    },
  };
}

function stringList(value: unknown, path: string, errors: string[]): string[] | undefined {
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) ||
    !value.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 200)
  ) {
    errors.push(`${path} must be an array of non-empty strings`);
    return undefined;
  }
  return value as string[];
}

const MCP_RULE_KEYS = ['upstream', 'tool', 'action'];

/** `mcp_tools`: at most 200 rules `{upstream?: glob, tool: glob, action: allow|ask|deny}`. */
function mcpToolRules(value: unknown, errors: string[]): McpToolRule[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > 200) {
    errors.push('mcp_tools must be an array of at most 200 rules');
    return undefined;
  }
  const rules: McpToolRule[] = [];
  value.forEach((rule: unknown, i) => {
    const path = `mcp_tools[${i}]`;
    if (!isRecord(rule)) return void errors.push(`${path} must be {upstream, tool, action}`);
    for (const key of Object.keys(rule))
      if (!MCP_RULE_KEYS.includes(key))
        errors.push(`${path}.${key} is not a field (allowed: ${MCP_RULE_KEYS.join(', ')})`);
    const glob = (key: 'upstream' | 'tool', fallback?: string): string | undefined => {
      const v = rule[key] ?? fallback;
      if (typeof v === 'string' && v.length > 0 && v.length <= 200) return v;
      errors.push(`${path}.${key} must be a glob of 1 to 200 characters (* any run, ? one character)`);
      return undefined;
    };
    const upstream = glob('upstream', '*');
    const tool = glob('tool');
    if (!oneOf(MCP_TOOL_ACTIONS, rule.action))
      return void errors.push(`${path}.action must be one of ${MCP_TOOL_ACTIONS.join(', ')}`);
    if (upstream !== undefined && tool !== undefined) rules.push({ upstream, tool, action: rule.action });
  });
  return rules;
}

export function parseRiskPolicy(value: unknown): ParseResult<RiskPolicy> {
  const errors: string[] = [];
  if (!isRecord(value)) return { ok: false, errors: ['the policy must be a JSON object'] };
  const policy: {
    -readonly [K in keyof RiskPolicy]: RiskPolicy[K];
  } = {};
  if (value.raise !== undefined) {
    if (!Array.isArray(value.raise)) errors.push('raise must be an array');
    else {
      const rules: RiskPolicyRule[] = [];
      value.raise.forEach((rule: unknown, i) => {
        const path = `raise[${i}]`;
        if (!isRecord(rule) || !isRecord(rule.when))
          return void errors.push(`${path} must be {when: {...}, level}`);
        if (!oneOf(RISK_LEVELS, rule.level))
          return void errors.push(`${path}.level must be one of ${RISK_LEVELS.join(', ')}`);
        const w = rule.when;
        if (w.action_type !== undefined && !oneOf(ACTION_TYPES, w.action_type))
          errors.push(`${path}.when.action_type is not an action type`);
        if (w.reason !== undefined && !oneOf(REASON_CODES, w.reason))
          errors.push(`${path}.when.reason is not a reason code`);
        const target = optionalString(w, 'target_matches', 200, `${path}.when`, errors);
        const environment = optionalString(w, 'environment', 200, `${path}.when`, errors);
        rules.push({
          level: rule.level as RiskLevel,
          when: {
            ...(oneOf(ACTION_TYPES, w.action_type) ? { action_type: w.action_type } : {}),
            ...(oneOf(REASON_CODES, w.reason) ? { reason: w.reason } : {}),
            ...(target !== undefined ? { target_matches: target } : {}),
            ...(environment !== undefined ? { environment } : {}),
          },
        });
      });
      policy.raise = rules;
    }
  }
  if (value.reason_levels !== undefined) {
    if (!isRecord(value.reason_levels)) errors.push('reason_levels must be an object');
    else {
      const levels: Partial<Record<ReasonCode, RiskLevel>> = {};
      for (const [reason, level] of Object.entries(value.reason_levels)) {
        if (!oneOf(REASON_CODES, reason)) errors.push(`reason_levels.${reason} is not a reason code`);
        else if (!oneOf(RISK_LEVELS, level)) errors.push(`reason_levels.${reason} must be a risk level`);
        else levels[reason] = level;
      }
      policy.reason_levels = levels;
    }
  }
  const threshold = optionalNumber(value, 'payment_threshold', 'policy', errors);
  if (threshold !== undefined) policy.payment_threshold = threshold;
  const multiplier = optionalNumber(value, 'payment_critical_multiplier', 'policy', errors);
  if (multiplier !== undefined) {
    if (multiplier < 1) errors.push('policy.payment_critical_multiplier must be at least 1');
    else policy.payment_critical_multiplier = multiplier;
  }
  const tables = stringList(value.sensitive_tables, 'sensitive_tables', errors);
  if (tables !== undefined) policy.sensitive_tables = tables;
  const bulk = optionalNumber(value, 'bulk_email_threshold', 'policy', errors, true);
  if (bulk !== undefined) policy.bulk_email_threshold = bulk;
  const branches = stringList(value.protected_branches, 'protected_branches', errors);
  if (branches !== undefined) policy.protected_branches = branches;
  const production = stringList(value.production_patterns, 'production_patterns', errors);
  if (production !== undefined) policy.production_patterns = production;
  const mcpTools = mcpToolRules(value.mcp_tools, errors);
  if (mcpTools !== undefined) policy.mcp_tools = mcpTools;
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: policy };
}
