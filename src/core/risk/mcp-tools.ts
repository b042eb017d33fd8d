/**
 * The org's MCP tool rules (RiskPolicy.mcp_tools) against a target `mcp__<upstream>__<tool>`, as
 * `ony gate` and Claude Code name an MCP server's tool. A server name may itself hold `__`, so every
 * split is tried: a rule matches when its globs match the two sides of one of them.
 */
import { globMatch } from './glob.js';
import type { McpToolAction, McpToolRule } from './types.js';

const PREFIX = 'mcp__';
const SEPARATOR = '__';

/** Each way to read the target as (upstream, tool); none when it is not an MCP tool's target. */
export function mcpToolNames(target: string | undefined): { upstream: string; tool: string }[] {
  if (target === undefined || !target.startsWith(PREFIX)) return [];
  const rest = target.slice(PREFIX.length);
  const out: { upstream: string; tool: string }[] = [];
  for (let at = rest.indexOf(SEPARATOR); at !== -1; at = rest.indexOf(SEPARATOR, at + 1)) {
    const upstream = rest.slice(0, at);
    const tool = rest.slice(at + SEPARATOR.length);
    if (upstream !== '' && tool !== '') out.push({ upstream, tool });
  }
  return out;
}

/** The first rule that matches the target (and its index, for the audit entry), if any. */
export function mcpToolRuleFor(
  rules: readonly McpToolRule[],
  target: string | undefined,
): { readonly action: McpToolAction; readonly index: number } | undefined {
  const names = mcpToolNames(target);
  if (names.length === 0) return undefined;
  const index = rules.findIndex((r) =>
    names.some((n) => globMatch(r.upstream, n.upstream) && globMatch(r.tool, n.tool)),
  );
  return index === -1 ? undefined : { action: rules[index]!.action, index };
}
