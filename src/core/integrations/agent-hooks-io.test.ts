import { describe, expect, it } from 'vitest';
import { fromAnswer, toPreToolUse } from './agent-hooks-io.js';
import { hookAnswer } from './claude-code-io.js';

describe('fromAnswer', () => {
  it('never answers ask: a pending "ask" from the server is a deny for every other agent', () => {
    const ask = hookAnswer('ask', 'still waiting (code ABCDEF)');
    expect(fromAnswer('cursor', ask).stdout).toEqual({
      permission: 'deny',
      user_message: 'still waiting (code ABCDEF)',
      agent_message: 'still waiting (code ABCDEF)',
    });
    expect(fromAnswer('gemini', ask).stdout).toEqual({
      decision: 'deny',
      reason: 'still waiting (code ABCDEF)',
    });
    expect(fromAnswer('codex', ask).stdout).toEqual({
      hookSpecificOutput: {
        hookEventName: 'PreToolUse',
        permissionDecision: 'deny',
        permissionDecisionReason: 'still waiting (code ABCDEF)',
      },
    });
  });

  it('an allow is {} for Codex (its own approval settings apply), allow for Cursor and Gemini CLI', () => {
    const allow = hookAnswer('allow', 'ok');
    expect(fromAnswer('codex', allow)).toEqual({ stdout: {}, exitCode: 0 });
    expect(fromAnswer('cursor', allow).stdout).toMatchObject({ permission: 'allow' });
    expect(fromAnswer('gemini', allow).stdout).toEqual({ decision: 'allow', reason: 'ok' });
    expect(fromAnswer('claude-code', allow).stdout).toBe(allow);
  });
});

describe('toPreToolUse', () => {
  it('keeps the agent tool_use_id when there is one, else uses the new id', () => {
    const codex = toPreToolUse(
      'codex',
      {
        session_id: 's',
        cwd: '/w',
        hook_event_name: 'PreToolUse',
        tool_name: 'Bash',
        tool_input: { command: 'ls' },
        tool_use_id: 'call_1',
      },
      'new',
    );
    expect(codex).toMatchObject({ ok: true, value: { tool_use_id: 'call_1', tool_name: 'Bash' } });
    const cursor = toPreToolUse(
      'cursor',
      {
        conversation_id: 'c',
        hook_event_name: 'beforeShellExecution',
        command: 'ls',
        workspace_roots: ['/w'],
      },
      'new',
    );
    expect(cursor).toEqual({
      ok: true,
      value: {
        session_id: 'c',
        cwd: '/w',
        hook_event_name: 'PreToolUse',
        tool_name: 'Bash',
        tool_input: { command: 'ls' },
        tool_use_id: 'new',
      },
    });
  });

  it('maps Cursor preToolUse Shell to Bash (the same fingerprint as beforeShellExecution)', () => {
    const pre = toPreToolUse(
      'cursor',
      {
        conversation_id: 'c',
        hook_event_name: 'preToolUse',
        tool_name: 'Shell',
        tool_input: { command: 'ls' },
        cwd: '/w',
      },
      'n',
    );
    expect(pre).toMatchObject({ ok: true, value: { tool_name: 'Bash', tool_input: { command: 'ls' } } });
  });

  it('maps Gemini CLI replace to Edit', () => {
    const r = toPreToolUse(
      'gemini',
      {
        session_id: 's',
        cwd: '/w',
        hook_event_name: 'BeforeTool',
        tool_name: 'replace',
        tool_input: { file_path: '/w/a.ts', old_string: 'a', new_string: 'b' },
      },
      'n',
    );
    expect(r).toMatchObject({
      ok: true,
      value: {
        tool_name: 'Edit',
        tool_input: { file_path: '/w/a.ts', old_string: 'a', new_string: 'b', replace_all: false },
      },
    });
  });

  it.each([
    ['cursor', { conversation_id: 'c', hook_event_name: 'beforeShellExecution' }, /command/],
    [
      'cursor',
      { conversation_id: 'c', hook_event_name: 'beforeMCPExecution', tool_name: 't', tool_input: '{x' },
      /not JSON/,
    ],
    ['cursor', { hook_event_name: 'beforeShellExecution', command: 'ls' }, /session id/],
    ['cursor', { conversation_id: 'c', hook_event_name: 'afterFileEdit' }, /hook_event_name/],
    [
      'gemini',
      { session_id: 's', hook_event_name: 'BeforeTool', tool_name: 'x', tool_input: [] },
      /tool input/,
    ],
    [
      'gemini',
      { session_id: 's', hook_event_name: 'AfterTool', tool_name: 'x', tool_input: {} },
      /BeforeTool/,
    ],
    ['codex', 'ls', /JSON object/],
  ] as const)('%s: refuses %j', (agent, input, error) => {
    const r = toPreToolUse(agent, input, 'n');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join('; ')).toMatch(error);
  });
});
