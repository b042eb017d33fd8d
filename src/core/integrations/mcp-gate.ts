/**
 * `ony gate` (an MCP approval gateway), the pure part: its configuration, the local deny rules, the
 * handoff a tool call becomes and the text a decision becomes. No I/O: src/cli/gate.ts does the MCP
 * and HTTP work.
 *
 * Risk is the server's: a tool call becomes a handoff of action type `other` aimed at
 * `mcp__<upstream>__<tool>` (the `mcp_tool` reason, medium by default, so a human decides unless the
 * org's risk policy lowers `mcp_tool`), with the arguments as the payload (a `command` argument as a
 * command, a `sql` argument as SQL, else the arguments' JSON, which the server reads for commands,
 * queries, payments, emails and grants). Tool annotations come from the upstream and are untrusted:
 * an explicit `destructiveHint: true` raises (the action becomes `file.delete`, which the server
 * reads as `delete_files`, medium even when the org lowered `mcp_tool`); nothing lowers.
 */
import { isRejectionReason, REJECTION_REASON_TEXT } from '../approval/rejection.js';
import { globMatch } from '../risk/glob.js';
import { LIMITS, type RiskInput } from '../risk/types.js';
import { argumentsGist } from './tool-arguments-gist.js';

export type GateUpstream =
  | {
      readonly name: string;
      readonly command: string;
      readonly args: readonly string[];
      readonly env?: Readonly<Record<string, string>>;
      readonly cwd?: string;
    }
  | {
      readonly name: string;
      readonly url: string;
      /** Sent with every request, e.g. `{"Authorization": "Bearer …"}`. */
      readonly headers?: Readonly<Record<string, string>>;
    };

export interface GateRule {
  /** Glob (`*`, `?`, case-insensitive) against the upstream name; default every upstream. */
  readonly upstream: string;
  /** Glob against the upstream's own tool name (without the gate's prefix). */
  readonly tool: string;
  /**
   * `deny` refuses at once without asking anyone; `ask` sends the call to ony (the default for every
   * call). There is no local `allow`: only the server's risk policy may lower a call's risk.
   */
  readonly action: 'deny' | 'ask';
}

export interface GateConfig {
  readonly upstreams: readonly GateUpstream[];
  readonly rules: readonly GateRule[];
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === 'string');

function unknownKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): string[] {
  return Object.keys(value)
    .filter((k) => !allowed.includes(k))
    .map((k) => `${where}: unknown key "${k}" (allowed: ${allowed.join(', ')})`);
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Validates an `ony-gate.json` document:
 * `{"upstreams": {"<name>": {"command": "npx", "args": […], "env": {…}, "cwd": "…"} | {"url": "https://…/mcp", "headers": {…}}},
 *   "rules": [{"upstream": "<glob>", "tool": "<glob>", "action": "deny" | "ask"}]}`.
 * Answers every error found, each naming where it is.
 */
export function parseGateConfig(
  value: unknown,
): { ok: true; value: GateConfig } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  if (!isObject(value)) return { ok: false, errors: ['the configuration must be a JSON object'] };
  errors.push(...unknownKeys(value, ['upstreams', 'rules'], 'the configuration'));
  const upstreams: GateUpstream[] = [];
  if (!isObject(value.upstreams) || Object.keys(value.upstreams).length === 0) {
    errors.push(
      '"upstreams" must be an object with at least one upstream: {"<name>": {"command": …} | {"url": …}}',
    );
  } else {
    for (const [name, spec] of Object.entries(value.upstreams)) {
      const where = `upstreams.${name}`;
      if (!NAME.test(name)) errors.push(`${where}: the name must match [A-Za-z0-9_-]{1,64}`);
      if (!isObject(spec)) {
        errors.push(`${where} must be an object with "command" or "url"`);
        continue;
      }
      if (spec.url !== undefined) {
        errors.push(...unknownKeys(spec, ['url', 'headers'], where));
        const headers = spec.headers;
        const headersOk =
          headers === undefined ||
          (isObject(headers) && Object.values(headers).every((v) => typeof v === 'string'));
        if (!headersOk) errors.push(`${where}.headers must be an object of strings`);
        if (typeof spec.url !== 'string' || !isHttpUrl(spec.url))
          errors.push(`${where}.url must be an http(s) URL (a Streamable HTTP MCP endpoint)`);
        else
          upstreams.push({
            name,
            url: spec.url,
            ...(headersOk && isObject(headers) ? { headers: headers as Record<string, string> } : {}),
          });
        continue;
      }
      errors.push(...unknownKeys(spec, ['command', 'args', 'env', 'cwd'], where));
      if (typeof spec.command !== 'string' || spec.command.trim() === '') {
        errors.push(`${where} needs "command" (a program to start, speaking MCP on stdio) or "url"`);
        continue;
      }
      if (spec.args !== undefined && !isStringArray(spec.args))
        errors.push(`${where}.args must be an array of strings`);
      if (
        spec.env !== undefined &&
        !(isObject(spec.env) && Object.values(spec.env).every((v) => typeof v === 'string'))
      )
        errors.push(`${where}.env must be an object of strings`);
      if (spec.cwd !== undefined && typeof spec.cwd !== 'string')
        errors.push(`${where}.cwd must be a string`);
      upstreams.push({
        name,
        command: spec.command,
        args: isStringArray(spec.args) ? spec.args : [],
        ...(isObject(spec.env) ? { env: spec.env as Record<string, string> } : {}),
        ...(typeof spec.cwd === 'string' ? { cwd: spec.cwd } : {}),
      });
    }
  }
  const rules: GateRule[] = [];
  if (value.rules !== undefined) {
    if (!Array.isArray(value.rules)) errors.push('"rules" must be an array');
    else
      value.rules.forEach((rule: unknown, i) => {
        const where = `rules[${i}]`;
        if (!isObject(rule)) return void errors.push(`${where} must be an object`);
        errors.push(...unknownKeys(rule, ['upstream', 'tool', 'action'], where));
        if (rule.upstream !== undefined && typeof rule.upstream !== 'string')
          errors.push(`${where}.upstream must be a glob string`);
        if (typeof rule.tool !== 'string' || rule.tool === '')
          errors.push(`${where}.tool must be a glob string`);
        if (rule.action === 'allow')
          errors.push(
            `${where}.action "allow" is not allowed locally: only the server's risk policy may lower a call's risk (see docs/integrations.md)`,
          );
        else if (rule.action !== 'deny' && rule.action !== 'ask')
          errors.push(`${where}.action must be "deny" or "ask"`);
        if (typeof rule.tool === 'string' && (rule.action === 'deny' || rule.action === 'ask'))
          rules.push({
            upstream: typeof rule.upstream === 'string' ? rule.upstream : '*',
            tool: rule.tool,
            action: rule.action,
          });
      });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: { upstreams, rules } };
}

/** The first matching rule's action; `ask` when none matches. */
export function ruleFor(rules: readonly GateRule[], upstream: string, tool: string): 'deny' | 'ask' {
  const rule = rules.find((r) => globMatch(r.upstream, upstream) && globMatch(r.tool, tool));
  return rule?.action ?? 'ask';
}

/** The separator between an upstream's name and its tool's when the gate serves several upstreams. */
export const PREFIX_SEPARATOR = '__';

export interface ToolAnnotations {
  readonly readOnlyHint?: boolean;
  readonly destructiveHint?: boolean;
  readonly idempotentHint?: boolean;
  readonly openWorldHint?: boolean;
}

function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

function cutBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  return Buffer.from(text)
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

/**
 * The handoff a tool call becomes. The title and summary (what approvers read) name the upstream,
 * the tool and a redacted, bounded gist of the arguments (tool-arguments-gist.ts); the values
 * themselves go only in the payload.
 */
export function toolCallHandoff(
  upstream: string,
  tool: string,
  args: Readonly<Record<string, unknown>>,
  annotations: ToolAnnotations | undefined,
): RiskInput {
  const destructive = annotations?.destructiveHint === true;
  const target = cut(`mcp__${upstream}__${tool}`, LIMITS.targetMaxChars);
  const shown = argumentsGist(args);
  const hint = destructive ? ' The server marks the tool as destructive.' : '';
  const command = typeof args.command === 'string' ? args.command : undefined;
  const sqlText = typeof args.sql === 'string' ? args.sql : undefined;
  const json = JSON.stringify(args, null, 2);
  const payload =
    command !== undefined
      ? { kind: 'command' as const, content: command }
      : sqlText !== undefined
        ? { kind: 'sql' as const, content: sqlText }
        : { kind: 'text' as const, content: json };
  const attached =
    payload.kind === 'text'
      ? 'all attached'
      : `the ${payload.kind === 'command' ? 'command' : 'SQL'} argument attached`;
  // `; ` after the gist, not `.`: the server's redactor reads `password: ***.` as a secret assignment.
  const argumentsText = shown === '' ? 'It has no arguments.' : `Arguments: ${shown}; ${attached}.`;
  return {
    action: { type: destructive ? 'file.delete' : 'other', target },
    title: cut(`MCP tool ${upstream}: ${tool}${destructive ? ' (destructive)' : ''}`, LIMITS.titleMaxChars),
    summary: cut(
      `An MCP client asks ony gate to call the tool "${tool}" of the server "${upstream}".${hint} ${argumentsText}`,
      LIMITS.summaryMaxChars,
    ),
    payload: { ...payload, content: cutBytes(payload.content, LIMITS.payloadMaxBytes) },
  };
}

/** What a decision looks like to the gate. */
export interface GateOutcome {
  readonly id: string;
  readonly shortCode: string;
  readonly status: 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';
  readonly riskLevel: string;
  readonly decidedBy: string | null;
  readonly channel: string | null;
  readonly comment: string | null;
  /** A deny's reason code, when the approver gave one (src/core/approval/rejection.ts). */
  readonly reason?: string | null;
}

/** The tool error a call that will not run answers (denied, expired, cancelled, still pending). */
export function refusalText(upstream: string, tool: string, o: GateOutcome): string {
  const what = `The tool "${tool}" of "${upstream}" was not run`;
  const ref = `(handoff ${o.id}, code ${o.shortCode}, risk ${o.riskLevel})`;
  if (o.status === 'denied') {
    const by = o.decidedBy !== null ? ` by ${o.decidedBy}` : o.channel === 'policy' ? ' by policy' : '';
    const via = o.channel !== null && o.channel !== 'policy' ? ` via ${o.channel}` : '';
    const reason =
      o.reason != null && isRejectionReason(o.reason)
        ? ` (reason: ${REJECTION_REASON_TEXT[o.reason]}, ${o.reason})`
        : '';
    const comment = o.comment !== null && o.comment.trim() !== '' ? `: ${o.comment.trim()}` : '';
    return `DENIED${by}${via}${reason}${comment}. ${what} ${ref}.`;
  }
  if (o.status === 'expired') return `EXPIRED: nobody decided in time. ${what} ${ref}.`;
  if (o.status === 'cancelled') return `CANCELLED. ${what} ${ref}.`;
  return `PENDING: no decision yet. ${what} ${ref}.`;
}
