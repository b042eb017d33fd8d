/**
 * The handoff as the risk engine sees it: the same shape as the body of `POST /v1/handoffs`, minus
 * anything the agent claims about risk (there is deliberately no `risk` field here).
 */
import type { ActionType, PayloadKind } from '@ony/client';
import type { ReasonCode } from './reasons.js';
import type { RiskLevel } from './levels.js';

// The closed vocabularies are part of the wire format: one copy, in the client package.
export { ACTION_TYPES, PAYLOAD_KINDS, type ActionType, type PayloadKind } from '@ony/client';

export const LIMITS = {
  titleMaxChars: 200,
  summaryMaxChars: 2_000,
  payloadMaxBytes: 1_048_576,
  targetMaxChars: 500,
  contextFieldMaxChars: 200,
  currencyMaxChars: 8,
} as const;

export interface HandoffAction {
  readonly type: ActionType;
  /** What the action is aimed at: a host, branch, environment, path, URL, recipient list name… */
  readonly target?: string;
  /**
   * Payments: the amount in the currency's major unit as a decimal number (12.5 means 12.50 USD),
   * not in minor units (cents). Compared with `RiskPolicy.payment_threshold` whatever the currency.
   */
  readonly amount?: number;
  /** Payments: ISO 4217 code, informational. */
  readonly currency?: string;
  /** Emails: how many recipients. */
  readonly recipients_count?: number;
}

export interface HandoffPayload {
  readonly kind: PayloadKind;
  /** At most 1 MiB of UTF-8. */
  readonly content: string;
}

export interface HandoffContext {
  readonly repo?: string;
  readonly branch?: string;
  readonly host?: string;
  readonly environment?: string;
}

export interface RiskInput {
  readonly action: HandoffAction;
  /** At most 200 characters. */
  readonly title: string;
  /** At most 2,000 characters. */
  readonly summary: string;
  readonly payload?: HandoffPayload;
  readonly context?: HandoffContext;
}

export interface RiskPolicyRule {
  /** Every given condition must hold. An empty `when` matches everything. */
  readonly when: {
    readonly action_type?: ActionType;
    readonly reason?: ReasonCode;
    /** Glob (`*` any run, `?` one character), case-insensitive, against `action.target`. */
    readonly target_matches?: string;
    /** Glob against `context.environment`. */
    readonly environment?: string;
  };
  /** The level to raise to (a rule never lowers). */
  readonly level: RiskLevel;
}

/**
 * The org's word on one MCP server's tools (target `mcp__<upstream>__<tool>`, as `ony gate` and Claude
 * Code name them). `allow`: the tool itself is routine (its `mcp_tool` reason becomes the low
 * `mcp_tool_allowed`), but whatever its arguments carry still counts; `ask`: a human decides even when
 * the level's escalation rule would allow it; `deny`: refused at once, nobody is asked.
 */
export interface McpToolRule {
  /** Glob (`*`, `?`, case-insensitive) against the server's name (the gate's upstream). */
  readonly upstream: string;
  /** Glob against the server's own tool name. */
  readonly tool: string;
  readonly action: McpToolAction;
}
export const MCP_TOOL_ACTIONS = ['allow', 'ask', 'deny'] as const;
export type McpToolAction = (typeof MCP_TOOL_ACTIONS)[number];

export interface RiskPolicy {
  /** Rules that raise the level when they match. */
  readonly raise?: readonly RiskPolicyRule[];
  /**
   * Per-reason default level overrides. They may lower non-catastrophic reasons (an org that finds
   * lockfile changes routine), but a reason with a floor stays critical.
   */
  readonly reason_levels?: Partial<Record<ReasonCode, RiskLevel>>;
  /** Payments strictly above this amount (major units) are high. Default 1,000. */
  readonly payment_threshold?: number;
  /** Payments at or above this multiple of the threshold are critical. Default 10. */
  readonly payment_critical_multiplier?: number;
  /**
   * Table globs (`users`, `billing.*`, `*_secrets`) whose reading is medium (`sensitive_table_read`);
   * other read-only queries are low, even on production. Default none.
   */
  readonly sensitive_tables?: readonly string[];
  /** Emails to strictly more recipients than this are bulk (high). Default 50. */
  readonly bulk_email_threshold?: number;
  /** Branch globs; default main, master, production, prod, release/*, release-*. */
  readonly protected_branches?: readonly string[];
  /**
   * Globs that mark production; matched, case-insensitively, against the whole target, environment,
   * host and branch and against each of their dash/dot/slash-separated words.
   * Default prod, production, prd, live.
   */
  readonly production_patterns?: readonly string[];
  /** Per MCP server and tool: allow, ask or deny; the first rule that matches applies. Default none. */
  readonly mcp_tools?: readonly McpToolRule[];
}

export const defaultRiskPolicy = {
  raise: [],
  reason_levels: {},
  payment_threshold: 1_000,
  payment_critical_multiplier: 10,
  sensitive_tables: [],
  bulk_email_threshold: 50,
  protected_branches: ['main', 'master', 'production', 'prod', 'release/*', 'release-*', 'trunk'],
  production_patterns: ['prod', 'production', 'prd', 'live'],
  mcp_tools: [],
} as const satisfies Required<RiskPolicy>;

export interface RiskAssessment {
  readonly level: RiskLevel;
  /** Sorted from most to least severe, no duplicates. */
  readonly reasons: readonly ReasonCode[];
}
