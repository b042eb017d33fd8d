/**
 * Hooks of other agents (Codex CLI, Cursor, Gemini CLI) on the Claude Code hook's machinery: each
 * agent's hook input is mapped to a Claude Code PreToolUse input (so the server's one implementation,
 * its fingerprint and its fingerprinted retry apply unchanged), and the Claude Code answer is mapped
 * back to the agent's own output. Pure; no imports but types, so `ony hook <agent>` stays small.
 *
 * The shapes, and where they were read, are in docs/integrations.md ("Codex CLI", "Cursor", "Gemini CLI").
 */
import type { HookAnswer, PreToolUseInput } from './claude-code-io.js';

export const AGENTS = ['claude-code', 'codex', 'cursor', 'gemini'] as const;
export type Agent = (typeof AGENTS)[number];
export const isAgent = (v: unknown): v is Agent =>
  typeof v === 'string' && (AGENTS as readonly string[]).includes(v);

/** The agent's name as approvers read it. */
export const AGENT_NAMES: Readonly<Record<Agent, string>> = {
  'claude-code': 'Claude Code',
  codex: 'Codex',
  cursor: 'Cursor',
  gemini: 'Gemini CLI',
};

export type Mapped =
  | { readonly ok: true; readonly value: PreToolUseInput }
  | { readonly ok: false; readonly errors: readonly string[] };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * An agent's hook input as a Claude Code PreToolUse input (the server validates it again). `newId` is
 * this tool call's id when the agent gives none (Cursor, Gemini CLI): a fresh id per call, so a call
 * retried later joins its handoff by fingerprint (session, tool and input), as a Claude Code retry does.
 */
export function toPreToolUse(agent: Exclude<Agent, 'claude-code'>, value: unknown, newId: string): Mapped {
  if (!isRecord(value)) return { ok: false, errors: ['the hook input must be a JSON object'] };
  const event = value.hook_event_name;
  const bad = (expected: string): Mapped => ({
    ok: false,
    errors: [`hook_event_name must be ${expected} (got ${JSON.stringify(event) ?? 'nothing'})`],
  });
  const mapped = (
    session: unknown,
    cwd: unknown,
    tool_name: unknown,
    tool_input: unknown,
    tool_use_id: unknown,
  ): Mapped => {
    const errors: string[] = [];
    if (typeof session !== 'string' || session === '')
      errors.push('the session id must be a non-empty string');
    if (typeof tool_name !== 'string' || tool_name === '')
      errors.push('the tool name must be a non-empty string');
    if (!isRecord(tool_input)) errors.push('the tool input must be a JSON object');
    if (errors.length > 0) return { ok: false, errors };
    return {
      ok: true,
      value: {
        session_id: session as string,
        cwd: typeof cwd === 'string' ? cwd : '',
        hook_event_name: 'PreToolUse',
        tool_name: tool_name as string,
        tool_input: tool_input as Record<string, unknown>,
        tool_use_id: typeof tool_use_id === 'string' && tool_use_id !== '' ? tool_use_id : newId,
      },
    };
  };

  switch (agent) {
    case 'codex': {
      // Codex sends the Claude Code shape itself (tool_name "Bash", tool_input.command, tool_use_id);
      // its apply_patch comes as tool_name "apply_patch" with the patch text in tool_input.command.
      if (event !== 'PreToolUse') return bad('"PreToolUse"');
      const ti = value.tool_input;
      const patch =
        value.tool_name === 'Bash' && isRecord(ti) && typeof ti.command === 'string'
          ? heredocPatch(ti.command)
          : undefined;
      if (patch !== undefined)
        return mapped(value.session_id, value.cwd, 'apply_patch', { command: patch }, value.tool_use_id);
      return mapped(value.session_id, value.cwd, value.tool_name, ti, value.tool_use_id);
    }

    case 'cursor': {
      const session = value.conversation_id;
      const roots = Array.isArray(value.workspace_roots) ? value.workspace_roots : [];
      const cwd = str(value.cwd) ?? str(roots[0]) ?? '';
      if (event === 'beforeShellExecution') {
        const command = value.command;
        if (typeof command !== 'string' || command === '')
          return { ok: false, errors: ['command must be a non-empty string'] };
        return mapped(session, cwd, 'Bash', { command }, undefined);
      }
      if (event === 'beforeMCPExecution' || event === 'preToolUse') {
        let input = value.tool_input;
        // Cursor has sent the MCP tool's arguments as a JSON string.
        if (typeof input === 'string') {
          try {
            input = JSON.parse(input) as unknown;
          } catch {
            return { ok: false, errors: ['tool_input is a string that is not JSON'] };
          }
        }
        const tool = str(value.tool_name);
        if (event === 'preToolUse' && tool !== undefined && isRecord(input)) {
          const file = cursorFileTool(tool, input);
          if (file !== undefined) return mapped(session, cwd, file.tool, file.input, value.tool_use_id);
        }
        const name = event === 'beforeMCPExecution' && tool !== undefined ? `mcp__cursor__${tool}` : tool;
        return mapped(session, cwd, name, input, value.tool_use_id);
      }
      return bad('"beforeShellExecution", "beforeMCPExecution" or "preToolUse"');
    }

    case 'gemini': {
      if (event !== 'BeforeTool') return bad('"BeforeTool"');
      const tool = str(value.tool_name);
      const ti = value.tool_input;
      if (isRecord(ti)) {
        // Gemini CLI's built-in tools, as the Claude Code tools the server reads (risk, diff).
        if (tool === 'run_shell_command' && typeof ti.command === 'string') {
          const description = str(ti.description);
          return mapped(
            value.session_id,
            value.cwd,
            'Bash',
            {
              command: ti.command,
              ...(description !== undefined && { description }),
            },
            undefined,
          );
        }
        if (tool === 'write_file' && typeof ti.file_path === 'string' && typeof ti.content === 'string') {
          return mapped(
            value.session_id,
            value.cwd,
            'Write',
            { file_path: ti.file_path, content: ti.content },
            undefined,
          );
        }
        if (
          tool === 'replace' &&
          typeof ti.file_path === 'string' &&
          typeof ti.old_string === 'string' &&
          typeof ti.new_string === 'string'
        ) {
          // expected_replacements (default 1): more than one replaces that many occurrences.
          const many = typeof ti.expected_replacements === 'number' && ti.expected_replacements > 1;
          return mapped(
            value.session_id,
            value.cwd,
            'Edit',
            {
              file_path: ti.file_path,
              old_string: ti.old_string,
              new_string: ti.new_string,
              replace_all: many,
            },
            undefined,
          );
        }
        // Without the strings read above: still the file tool, its input as it is (a write of the path).
        if ((tool === 'write_file' || tool === 'replace') && typeof ti.file_path === 'string')
          return mapped(value.session_id, value.cwd, tool === 'write_file' ? 'Write' : 'Edit', ti, undefined);
      }
      return mapped(value.session_id, value.cwd, tool, ti, undefined);
    }
  }
}

/**
 * The patch of a Codex shell call that is nothing but `apply_patch <<'EOF' … EOF` (Codex runs that
 * as its apply_patch). Only with a quoted delimiter (no expansion in the body) and nothing before
 * or after it, and the body must not hold the delimiter line (the shell would end the
 * here-document there and run the rest): anything else stays a shell command.
 */
function heredocPatch(command: string): string | undefined {
  const m =
    /^\s*(?:apply_patch|applypatch)[ \t]+<<[ \t]*(['"])([A-Za-z_]\w*)\1[ \t]*\n([\s\S]*)\n\2\n?$/.exec(
      command,
    );
  if (m === null) return undefined;
  const [, , delimiter, body] = m;
  return body!.split('\n').some((line) => line === delimiter) ? undefined : body;
}

/**
 * Cursor's preToolUse file tools in the Claude Code shapes. The path is `file_path` or `path`
 * (both are seen in hook inputs), Write's text `contents` or `content`; StrReplace needs its
 * `old_string` and `new_string`. A call without what its mapping needs passes as it is.
 */
function cursorFileTool(
  tool: string,
  input: Record<string, unknown>,
): { tool: string; input: Record<string, unknown> } | undefined {
  if (tool === 'Shell' && typeof input.command === 'string')
    return { tool: 'Bash', input: { command: input.command } };
  const path = str(input.file_path) ?? str(input.path);
  if (path === undefined || path === '') return undefined;
  if (tool === 'Write') {
    const content = str(input.contents) ?? str(input.content);
    return content === undefined ? undefined : { tool: 'Write', input: { file_path: path, content } };
  }
  if (tool === 'StrReplace' || tool === 'Edit') {
    const oldString = str(input.old_string);
    const newString = str(input.new_string);
    if (oldString === undefined || newString === undefined) return undefined;
    return {
      tool: 'Edit',
      input: {
        file_path: path,
        old_string: oldString,
        new_string: newString,
        replace_all: input.replace_all === true,
      },
    };
  }
  if (tool === 'Delete') return { tool: 'Delete', input: { file_path: path } };
  return undefined;
}

/** What the hook prints for a decision, and its exit code. */
export interface AgentOutput {
  readonly stdout: object;
  readonly exitCode: 0;
}

/**
 * The Claude Code answer in the agent's own output. Never `ask` (Cursor was reported to run the
 * command on `ask` in Auto-review mode; the others get deny while pending, with the code to wait for).
 */
export function fromAnswer(agent: Agent, answer: HookAnswer): AgentOutput {
  const { permissionDecision, permissionDecisionReason: reason } = answer.hookSpecificOutput;
  const allow = permissionDecision === 'allow';
  switch (agent) {
    case 'claude-code':
      return { stdout: answer, exitCode: 0 };
    case 'codex':
      // Codex runs the tool on an unknown field; an allow is `{}` (Codex's own approval settings apply).
      return {
        stdout: allow
          ? {}
          : {
              hookSpecificOutput: {
                hookEventName: 'PreToolUse',
                permissionDecision: 'deny',
                permissionDecisionReason: reason,
              },
            },
        exitCode: 0,
      };
    case 'cursor':
      return {
        stdout: { permission: allow ? 'allow' : 'deny', user_message: reason, agent_message: reason },
        exitCode: 0,
      };
    case 'gemini':
      return { stdout: allow ? { decision: 'allow', reason } : { decision: 'deny', reason }, exitCode: 0 };
  }
}
