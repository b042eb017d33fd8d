/**
 * `ony hook codex|cursor|gemini` through the real server (listening on a real port), each with hook
 * inputs in that agent's documented shape (docs/integrations.md says where the shapes were read).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInMemory } from '../helpers/cli.js';
import { as, createOrgWithAdmin, startTestServer, type Actor, type TestServer } from '../helpers/app.js';

let t: TestServer;
let admin: Actor;
let token: string;
let url: string;

beforeAll(async () => {
  t = await startTestServer();
  admin = await createOrgWithAdmin(t, 'agents');
  token = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agents' })).json<{ token: string }>()
    .token;
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => t?.close());

type Decision = 'allow' | 'deny';
interface AgentCase {
  readonly agent: 'codex' | 'cursor' | 'gemini';
  /** A shell command call in the agent's documented input shape. */
  readonly shell: (command: string, session: string) => Record<string, unknown>;
  /** The decision and reason read from the agent's documented output shape (checked strictly). */
  readonly read: (out: unknown) => { decision: Decision; reason: string };
}

const cases: AgentCase[] = [
  {
    agent: 'codex',
    // Codex CLI: codex-rs/hooks/schema/generated/pre-tool-use.command.input.schema.json
    shell: (command, session) => ({
      session_id: session,
      transcript_path: null,
      cwd: '/home/dev/web',
      hook_event_name: 'PreToolUse',
      model: 'gpt-5-codex',
      permission_mode: 'default',
      tool_name: 'Bash',
      tool_input: { command },
      tool_use_id: `call_${randomUUID()}`,
    }),
    read: (out) => {
      // An allow is exactly {}; a deny carries only the documented PreToolUse fields.
      if (JSON.stringify(out) === '{}') return { decision: 'allow', reason: '' };
      const o = (out as { hookSpecificOutput: Record<string, unknown> }).hookSpecificOutput;
      expect(Object.keys(out as object)).toEqual(['hookSpecificOutput']);
      expect(Object.keys(o).sort()).toEqual([
        'hookEventName',
        'permissionDecision',
        'permissionDecisionReason',
      ]);
      expect(o.hookEventName).toBe('PreToolUse');
      expect(o.permissionDecision).toBe('deny');
      return { decision: 'deny', reason: o.permissionDecisionReason as string };
    },
  },
  {
    agent: 'cursor',
    // Cursor beforeShellExecution: conversation_id, generation_id, command, cwd, workspace_roots.
    shell: (command, session) => ({
      conversation_id: session,
      generation_id: randomUUID(),
      hook_event_name: 'beforeShellExecution',
      workspace_roots: ['/home/dev/web'],
      command,
      cwd: '/home/dev/web',
    }),
    read: (out) => {
      const o = out as Record<string, unknown>;
      expect(Object.keys(o).sort()).toEqual(['agent_message', 'permission', 'user_message']);
      expect(['allow', 'deny']).toContain(o.permission);
      return { decision: o.permission as Decision, reason: o.agent_message as string };
    },
  },
  {
    agent: 'gemini',
    // Gemini CLI BeforeTool: the base fields, tool_name, tool_input (docs/hooks/reference.md).
    shell: (command, session) => ({
      session_id: session,
      transcript_path: '/home/dev/.gemini/tmp/chat.json',
      cwd: '/home/dev/web',
      hook_event_name: 'BeforeTool',
      timestamp: new Date().toISOString(),
      tool_name: 'run_shell_command',
      tool_input: { command, description: 'run it' },
    }),
    read: (out) => {
      const o = out as Record<string, unknown>;
      expect(Object.keys(o).sort()).toEqual(['decision', 'reason']);
      expect(['allow', 'deny']).toContain(o.decision);
      return { decision: o.decision as Decision, reason: o.reason as string };
    },
  },
];

const codeOf = (reason: string): string => /\b([A-Z2-9]{6})\b/.exec(reason)![1]!;

async function decide(code: string, decision: 'approve' | 'deny') {
  const row = await sql<{ id: string }>`select id from handoffs where short_code = ${code}`.execute(
    t.database.db,
  );
  const res = await as(t, admin, 'POST', `/v1/handoffs/${row.rows[0]!.id}/decision`, { decision });
  expect(res.statusCode, res.body).toBe(200);
}

describe.each(cases)('ony hook $agent', ({ agent, shell, read }) => {
  const run = async (stdin: string, env: Record<string, string> = {}) => {
    const r = await runInMemory(['hook', agent], {
      stdin,
      env: { ONY_URL: url, ONY_TOKEN: token, ONY_HOOK_BUDGET_S: '3', ...env },
    });
    expect(r.code, r.stderr).toBe(0);
    return read(JSON.parse(r.stdout) as unknown);
  };

  it('allows `ls` by policy, and records the agent in the summary', async () => {
    const session = `${agent}-allow-${randomUUID()}`;
    expect((await run(JSON.stringify(shell('ls -la', session)))).decision).toBe('allow');
    const name = { codex: 'Codex', cursor: 'Cursor', gemini: 'Gemini CLI' }[agent];
    const rows = await sql<{ n: number }>`
      select count(*)::int as n from handoffs
      where status = 'approved' and summary = ${`${name} asks to run a shell command in web. The command is attached.`}`.execute(
      t.database.db,
    );
    expect(rows.rows[0]!.n).toBeGreaterThan(0);
  });

  it('waits within the budget, then denies with the code to wait for; the approver denies and the retry is denied', async () => {
    const session = `${agent}-deny-${randomUUID()}`;
    const started = Date.now();
    const first = await run(JSON.stringify(shell('rm -rf /', session)), { ONY_HOOK_BUDGET_S: '2' });
    // Answered before the budget ends (0.5 s early); a second of slack for a loaded machine, far
    // below the agent's timeout (`ony init` sets it 10 s above the budget).
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(first.decision).toBe('deny');
    expect(first.reason).toContain('Waiting for a human to approve');
    expect(first.reason).toContain('Try the same action again later');
    await decide(codeOf(first.reason), 'deny');
    const retry = await run(JSON.stringify(shell('rm -rf /', session)));
    expect(retry.decision).toBe('deny');
    expect(retry.reason).toMatch(/^Denied by /);
    expect(codeOf(retry.reason)).toBe(codeOf(first.reason));
  });

  it('approve, then the retry (a new call, same action) is allowed, once', async () => {
    const session = `${agent}-retry-${randomUUID()}`;
    const input = () => JSON.stringify(shell('git reset --hard origin/main', session));
    const first = await run(input(), { ONY_HOOK_BUDGET_S: '1' });
    expect(first.decision).toBe('deny');
    const pending = await run(input(), { ONY_HOOK_BUDGET_S: '1' });
    expect(codeOf(pending.reason)).toBe(codeOf(first.reason));
    await decide(codeOf(first.reason), 'approve');
    expect((await run(input())).decision).toBe('allow');
    // The approval was used: the same action again asks again, under a new code.
    const again = await run(input(), { ONY_HOOK_BUDGET_S: '1' });
    expect(again.decision).toBe('deny');
    expect(codeOf(again.reason)).not.toBe(codeOf(first.reason));
  });

  it('an unreachable server, a bad token, garbage or another event: deny with the reason, exit 0', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const ok = JSON.stringify(shell('ls', `${agent}-fail`));
    const checks: [string, Record<string, string>, RegExp][] = [
      [ok, { ONY_URL: `http://127.0.0.1:${port}`, ONY_HOOK_BUDGET_S: '1' }, /cannot reach ony.*ECONNREFUSED/],
      [ok, { ONY_TOKEN: 'ony_dev_wrong' }, /device token.*ONY_TOKEN/],
      [ok, { ONY_TOKEN: '' }, /no device token/],
      ['{"command": "ls"', {}, /not JSON/],
      ['[1, 2]', {}, /must be a JSON object/],
      [JSON.stringify({ ...shell('ls', 'x'), hook_event_name: 'SessionStart' }), {}, /hook_event_name/],
    ];
    for (const [stdin, env, reason] of checks) {
      const a = await run(stdin, env);
      expect(a.decision, stdin).toBe('deny');
      expect(a.reason).toMatch(reason);
      expect(a.reason).toMatch(/^ony could not check this action, so it is denied: /);
    }
  });
});

/** An edit of a CI workflow in each agent's own edit tool and input shape. */
const WORKFLOW = '/home/dev/web/.github/workflows/deploy.yml';
const edits: { agent: 'codex' | 'cursor' | 'gemini'; input: (session: string) => unknown }[] = [
  {
    agent: 'codex',
    // Codex's apply_patch hook input: tool_name "apply_patch", the patch in tool_input.command
    // (openai/codex#18391).
    input: (session) => ({
      session_id: session,
      transcript_path: null,
      cwd: '/home/dev/web',
      hook_event_name: 'PreToolUse',
      model: 'gpt-5-codex',
      permission_mode: 'default',
      tool_name: 'apply_patch',
      tool_input: {
        command: `*** Begin Patch\n*** Update File: ${WORKFLOW}\n@@ steps:\n-      - run: make deploy\n+      - run: make deploy-prod\n*** End Patch\n`,
      },
      tool_use_id: `call_${randomUUID()}`,
    }),
  },
  {
    agent: 'cursor',
    // Cursor preToolUse StrReplace (docs/integrations.md says which fields are read and why).
    input: (session) => ({
      conversation_id: session,
      generation_id: randomUUID(),
      hook_event_name: 'preToolUse',
      workspace_roots: ['/home/dev/web'],
      tool_name: 'StrReplace',
      tool_input: {
        path: WORKFLOW,
        old_string: '      - run: make deploy',
        new_string: '      - run: make deploy-prod',
      },
    }),
  },
  {
    agent: 'gemini',
    // Gemini CLI BeforeTool replace (docs/tools/file-system.md: file_path, old_string, new_string).
    input: (session) => ({
      session_id: session,
      transcript_path: '/tmp/t.json',
      cwd: '/home/dev/web',
      hook_event_name: 'BeforeTool',
      timestamp: new Date().toISOString(),
      tool_name: 'replace',
      tool_input: {
        file_path: WORKFLOW,
        old_string: '      - run: make deploy',
        new_string: '      - run: make deploy-prod',
      },
    }),
  },
];

describe.each(edits)('ony hook $agent: a file edit', ({ agent, input }) => {
  it('reaches the server as a file write with a diff, risk by its path, the file named for the approver', async () => {
    const r = await runInMemory(['hook', agent], {
      stdin: JSON.stringify(input(`${agent}-edit-${randomUUID()}`)),
      env: { ONY_URL: url, ONY_TOKEN: token, ONY_HOOK_BUDGET_S: '1' },
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.stringify(JSON.parse(r.stdout) as unknown);
    // Pending: the hook denies with the code to wait for.
    expect(out).toContain('Waiting for a human to approve');
    const code = codeOf(out);
    const row = await sql<{
      id: string;
      action_type: string;
      action_target: string;
      title: string;
      summary: string;
      risk_level: string;
      risk_reasons: string[];
    }>`
      select id, action_type, action_target, title, summary, risk_level, risk_reasons from handoffs
      where short_code = ${code}`.execute(t.database.db);
    const h = row.rows[0]!;
    expect(h.action_type).toBe('file.write');
    expect(h.action_target).toBe('.github/workflows/deploy.yml');
    expect(h.title).toContain('.github/workflows/deploy.yml');
    expect(['medium', 'high', 'critical']).toContain(h.risk_level);
    expect(h.risk_reasons).toContain('ci_workflow_change');
    const detail = await as(t, admin, 'GET', `/v1/handoffs/${h.id}/detail`);
    const payload = detail.json<{ payload: { kind: string; content: string } }>().payload;
    expect(payload.kind).toBe('diff');
    expect(payload.content).toContain(
      '--- a/.github/workflows/deploy.yml\n+++ b/.github/workflows/deploy.yml\n',
    );
    expect(payload.content).toContain('\n+      - run: make deploy-prod\n');
    // The content is in the payload only, never in what reaches a phone.
    expect(`${h.title} ${h.summary}`).not.toContain('deploy-prod');
  });
});

describe('agent-specific shapes', () => {
  const run = async (agent: string, input: unknown) => {
    const r = await runInMemory(['hook', agent], {
      stdin: JSON.stringify(input),
      env: { ONY_URL: url, ONY_TOKEN: token, ONY_HOOK_BUDGET_S: '1' },
    });
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  it('Cursor beforeMCPExecution (tool_input as a JSON string) asks a human; never "ask"', async () => {
    const out = await run('cursor', {
      conversation_id: `mcp-${randomUUID()}`,
      generation_id: randomUUID(),
      hook_event_name: 'beforeMCPExecution',
      workspace_roots: ['/home/dev/web'],
      tool_name: 'create_issue',
      tool_input: JSON.stringify({ title: 'x' }),
      url: 'https://mcp.example.com/mcp',
    });
    expect(out.permission).toBe('deny');
    expect(String(out.agent_message)).toContain('mcp_tool');
    const code = codeOf(String(out.agent_message));
    const row = await sql<{ title: string }>`select title from handoffs where short_code = ${code}`.execute(
      t.database.db,
    );
    expect(row.rows[0]!.title).toBe('MCP tool cursor: create_issue');
  });

  it('Gemini write_file becomes a file.write with a diff', async () => {
    const out = await run('gemini', {
      session_id: `gw-${randomUUID()}`,
      transcript_path: '/tmp/t.json',
      cwd: '/home/dev/web',
      hook_event_name: 'BeforeTool',
      timestamp: new Date().toISOString(),
      tool_name: 'write_file',
      tool_input: { file_path: '/home/dev/web/.github/workflows/deploy.yml', content: 'on: push\n' },
    });
    expect(out.decision).toBe('deny');
    const row = await sql<{ action_type: string; title: string }>`
      select action_type, title from handoffs where short_code = ${codeOf(String(out.reason))}`.execute(
      t.database.db,
    );
    expect(row.rows[0]).toEqual({ action_type: 'file.write', title: 'Write .github/workflows/deploy.yml' });
  });

  it('`ony hook` alone is still the Claude Code hook', async () => {
    const r = await runInMemory(['hook'], {
      stdin: JSON.stringify({
        session_id: 's',
        cwd: '/x',
        hook_event_name: 'PreToolUse',
        tool_name: 'Bash',
        tool_input: { command: 'ls' },
        tool_use_id: `toolu_${randomUUID()}`,
      }),
      env: { ONY_URL: url, ONY_TOKEN: token, ONY_HOOK_BUDGET_S: '2' },
    });
    expect(JSON.parse(r.stdout)).toMatchObject({ hookSpecificOutput: { permissionDecision: 'allow' } });
  });

  it('the route refuses an agent outside the closed list (problem+json)', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/integrations/claude-code/pre-tool-use?budget_s=0&agent=windsurf',
      headers: { authorization: `Bearer ${token}` },
      payload: {
        session_id: 's',
        cwd: '/x',
        hook_event_name: 'PreToolUse',
        tool_name: 'Bash',
        tool_input: { command: 'ls' },
        tool_use_id: 'toolu_x',
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });
});
