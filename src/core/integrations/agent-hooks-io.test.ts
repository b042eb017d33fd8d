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

/** A Codex PreToolUse input (codex-rs/hooks/schema/generated/pre-tool-use.command.input.schema.json). */
const codexCall = (tool_name: string, tool_input: Record<string, unknown>) => ({
  session_id: 's',
  transcript_path: null,
  cwd: '/w',
  hook_event_name: 'PreToolUse',
  model: 'gpt-5-codex',
  permission_mode: 'default',
  tool_name,
  tool_input,
  tool_use_id: 'call_1',
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

  it('passes Codex apply_patch as it is (the patch text in tool_input.command)', () => {
    const patch = '*** Begin Patch\n*** Delete File: a.ts\n*** End Patch\n';
    const r = toPreToolUse('codex', codexCall('apply_patch', { command: patch }), 'n');
    expect(r).toMatchObject({
      ok: true,
      value: { tool_name: 'apply_patch', tool_input: { command: patch }, tool_use_id: 'call_1' },
    });
  });

  it("reads a Codex shell call that is only apply_patch <<'EOF' … EOF as that patch", () => {
    const body = '*** Begin Patch\n*** Update File: a.ts\n@@\n-x\n+y\n*** End Patch';
    for (const command of [`apply_patch <<'EOF'\n${body}\nEOF\n`, `applypatch <<"PATCH"\n${body}\nPATCH`]) {
      expect(toPreToolUse('codex', codexCall('Bash', { command }), 'n')).toMatchObject({
        ok: true,
        value: { tool_name: 'apply_patch', tool_input: { command: body } },
      });
    }
  });

  it.each([
    ['an unquoted delimiter (the shell expands $(…) in the body)', `apply_patch <<EOF\n+$(rm -rf ~)\nEOF`],
    ['a command after the here-document', `apply_patch <<'EOF'\n*** Begin Patch\nEOF\nrm -rf ~`],
    ['a body that ends the here-document early', `apply_patch <<'EOF'\n*** Begin Patch\nEOF\nrm -rf ~\nEOF`],
    ['a cd before it', `cd src && apply_patch <<'EOF'\n*** Begin Patch\nEOF`],
    ['a command before it', `echo hi; apply_patch <<'EOF'\n*** Begin Patch\nEOF`],
    ['a tab-stripping here-document', `apply_patch <<-'EOF'\n*** Begin Patch\n\tEOF`],
  ])('keeps a Codex shell call with %s a shell command', (_, command) => {
    expect(toPreToolUse('codex', codexCall('Bash', { command }), 'n')).toMatchObject({
      ok: true,
      value: { tool_name: 'Bash', tool_input: { command } },
    });
  });

  it.each([
    ['Write', { path: '/w/a.ts', contents: 'x' }, 'Write', { file_path: '/w/a.ts', content: 'x' }],
    ['Write', { file_path: '/w/a.ts', content: 'x' }, 'Write', { file_path: '/w/a.ts', content: 'x' }],
    [
      'StrReplace',
      { path: '/w/a.ts', old_string: 'a', new_string: 'b' },
      'Edit',
      { file_path: '/w/a.ts', old_string: 'a', new_string: 'b', replace_all: false },
    ],
    ['Delete', { path: '/w/.env' }, 'Delete', { file_path: '/w/.env' }],
    // Without what the mapping needs, the call passes with its own name and input.
    ['StrReplace', { path: '/w/a.ts' }, 'StrReplace', { path: '/w/a.ts' }],
    ['Write', { path: '/w/a.ts' }, 'Write', { path: '/w/a.ts' }],
    ['Delete', {}, 'Delete', {}],
  ])('maps Cursor preToolUse %s %j', (tool, input, name, mappedInput) => {
    const r = toPreToolUse(
      'cursor',
      { conversation_id: 'c', hook_event_name: 'preToolUse', tool_name: tool, tool_input: input, cwd: '/w' },
      'n',
    );
    expect(r).toMatchObject({ ok: true, value: { tool_name: name } });
    if (r.ok) expect(r.value.tool_input).toEqual(mappedInput);
  });

  it('maps Gemini CLI replace of several occurrences to an Edit of every occurrence; without strings, its input as it is', () => {
    const gemini = (tool_input: Record<string, unknown>) =>
      toPreToolUse(
        'gemini',
        { session_id: 's', cwd: '/w', hook_event_name: 'BeforeTool', tool_name: 'replace', tool_input },
        'n',
      );
    expect(
      gemini({ file_path: '/w/a.ts', old_string: 'a', new_string: 'b', expected_replacements: 3 }),
    ).toMatchObject({ ok: true, value: { tool_name: 'Edit', tool_input: { replace_all: true } } });
    expect(gemini({ file_path: '/w/a.ts', new_string: 'b' })).toMatchObject({
      ok: true,
      value: { tool_name: 'Edit', tool_input: { file_path: '/w/a.ts', new_string: 'b' } },
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
