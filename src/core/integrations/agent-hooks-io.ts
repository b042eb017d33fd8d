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
    case 'codex':
      // Codex sends the Claude Code shape itself (tool_name "Bash", tool_input.command, tool_use_id).
      if (event !== 'PreToolUse') return bad('"PreToolUse"');
      return mapped(value.session_id, value.cwd, value.tool_name, value.tool_input, value.tool_use_id);

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
        if (
          event === 'preToolUse' &&
          tool === 'Shell' &&
          isRecord(input) &&
          typeof input.command === 'string'
        ) {
          return mapped(session, cwd, 'Bash', { command: input.command }, value.tool_use_id);
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
        if (tool === 'replace' && typeof ti.file_path === 'string') {
          return mapped(
            value.session_id,
            value.cwd,
            'Edit',
            {
              file_path: ti.file_path,
              old_string: ti.old_string ?? '',
              new_string: ti.new_string ?? '',
              replace_all: false,
            },
            undefined,
          );
        }
      }
      return mapped(value.session_id, value.cwd, tool, ti, undefined);
    }
  }
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
