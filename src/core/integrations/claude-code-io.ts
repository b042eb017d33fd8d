/**
 * Claude Code PreToolUse hooks: the input and the answer, and nothing else, so that the command hook
 * (`ony hook claude-code`, started once per tool call) loads this small module only. No imports.
 * The mapping, the fingerprint and the answer for a handoff are in ./claude-code.ts.
 */

export const HOOK_LIMITS = {
  idMaxChars: 200,
  toolNameMaxChars: 200,
  cwdMaxChars: 4096,
  /** The handoff payload limit (1 MiB of UTF-8); longer tool input is cut, and says so. */
  payloadMaxBytes: 1_048_576,
  titleMaxChars: 200,
  summaryMaxChars: 2_000,
  targetMaxChars: 500,
  /** An approver's comment quoted in the answer. */
  commentMaxChars: 300,
} as const;

export interface PreToolUseInput {
  readonly session_id: string;
  readonly cwd: string;
  readonly hook_event_name: 'PreToolUse';
  readonly tool_name: string;
  readonly tool_input: Readonly<Record<string, unknown>>;
  readonly tool_use_id: string;
}

export type ParsedHookInput =
  | { readonly ok: true; readonly value: PreToolUseInput }
  | { readonly ok: false; readonly errors: readonly string[] };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Checks a PreToolUse hook input; other fields of the input (transcript_path, permission_mode…) are ignored. */
export function parsePreToolUse(value: unknown): ParsedHookInput {
  if (!isRecord(value)) return { ok: false, errors: ['the hook input must be a JSON object'] };
  const errors: string[] = [];
  const id = (name: 'session_id' | 'tool_use_id' | 'tool_name', max: number): void => {
    const v = value[name];
    if (typeof v !== 'string' || v.length === 0) errors.push(`${name} must be a non-empty string`);
    else if (v.length > max) errors.push(`${name} must be at most ${max} characters`);
    else if (CONTROL.test(v)) errors.push(`${name} must not contain control characters`);
  };
  id('session_id', HOOK_LIMITS.idMaxChars);
  id('tool_use_id', HOOK_LIMITS.idMaxChars);
  id('tool_name', HOOK_LIMITS.toolNameMaxChars);
  const cwd = value.cwd;
  if (typeof cwd !== 'string') errors.push('cwd must be a string');
  else if (cwd.length > HOOK_LIMITS.cwdMaxChars)
    errors.push(`cwd must be at most ${HOOK_LIMITS.cwdMaxChars} characters`);
  if (value.hook_event_name !== 'PreToolUse') {
    errors.push(
      `hook_event_name must be "PreToolUse" (got ${JSON.stringify(value.hook_event_name) ?? 'nothing'}); register ony under "PreToolUse" in .claude/settings.json`,
    );
  }
  if (!isRecord(value.tool_input)) errors.push('tool_input must be a JSON object');
  else if (!isPlainJson(value.tool_input)) errors.push('tool_input must be plain JSON');
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      session_id: value.session_id as string,
      cwd: cwd as string,
      hook_event_name: 'PreToolUse',
      tool_name: value.tool_name as string,
      tool_input: value.tool_input as Record<string, unknown>,
      tool_use_id: value.tool_use_id as string,
    },
  };
}

/** JSON values only: finite numbers (a parsed `1e400` is Infinity, which has no JSON form), no cycles. */
function isPlainJson(v: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => isPlainJson(x, depth + 1));
  if (isRecord(v)) return Object.values(v).every((x) => isPlainJson(x, depth + 1));
  return false;
}
/** One line, no control characters, at most `max` characters (an ellipsis marks a cut). */
export function oneLine(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  const chars = [...flat];
  return chars.length <= max ? flat : `${chars.slice(0, max - 1).join('')}…`;
}

export type PermissionDecision = 'allow' | 'deny' | 'ask';
export type OnPending = 'deny' | 'ask';

export interface HookAnswer {
  readonly hookSpecificOutput: {
    readonly hookEventName: 'PreToolUse';
    readonly permissionDecision: PermissionDecision;
    readonly permissionDecisionReason: string;
  };
}

export const REASON_MAX_CHARS = 1_000;

export function hookAnswer(decision: PermissionDecision, reason: string): HookAnswer {
  return {
    hookSpecificOutput: {
      hookEventName: 'PreToolUse',
      permissionDecision: decision,
      permissionDecisionReason: oneLine(reason, REASON_MAX_CHARS),
    },
  };
}

/** Whether a value is exactly a PreToolUse hook answer (the command hook checks the server's). */
export function isHookAnswer(value: unknown): value is HookAnswer {
  if (!isRecord(value) || Object.keys(value).length !== 1 || !isRecord(value.hookSpecificOutput))
    return false;
  const o = value.hookSpecificOutput;
  return (
    Object.keys(o).length === 3 &&
    o.hookEventName === 'PreToolUse' &&
    (o.permissionDecision === 'allow' || o.permissionDecision === 'deny' || o.permissionDecision === 'ask') &&
    typeof o.permissionDecisionReason === 'string'
  );
}

/** The answer when no handoff could be asked or read: a deny, never an allow. */
export function failureAnswer(why: string): HookAnswer {
  return hookAnswer('deny', `ony could not check this action, so it is denied: ${why}`);
}
