/**
 * The org's MCP tool rules (risk_policy.mcp_tools): allow, ask or deny per MCP server and tool, by
 * glob, on handoffs aimed at `mcp__<server>__<tool>` (what `ony gate` and Claude Code's hook send).
 * Through the real server, database and job queue. An allow never lowers what the arguments carry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createOrgWithAdmin, startTestServer, type Actor, type TestServer } from '../helpers/app.js';

let t: TestServer;
let admin: Actor;
let token: string;

interface View {
  id: string;
  status: string;
  risk: { level: string; reasons: string[] };
  decision: { option: string; channel: string; comment: string | null } | null;
}

const RULES = [
  { upstream: 'github', tool: 'delete_*', action: 'deny' },
  { upstream: 'fs', tool: 'read_*', action: 'allow' },
  { tool: 'LIST_*', action: 'allow' },
  { upstream: 'fs', tool: 'write_*', action: 'ask' },
  { upstream: 'my__srv', tool: 'drop', action: 'deny' },
];

async function call(target: string, payload: { kind: string; content: string }, type = 'other') {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${token}` },
    payload: { action: { type, target }, title: `MCP tool ${target}`, summary: 'an MCP tool call', payload },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<View>();
}
const args = (value: Record<string, unknown>) => ({ kind: 'text', content: JSON.stringify(value) });

async function setRiskPolicy(riskPolicy: unknown) {
  const res = await as(t, admin, 'PUT', '/v1/admin/policies', { risk_policy: riskPolicy });
  expect(res.statusCode, res.body).toBe(200);
}

beforeAll(async () => {
  t = await startTestServer();
  admin = await createOrgWithAdmin(t, 'mcprules');
  token = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'gate' })).json<{ token: string }>().token;
  await setRiskPolicy({ mcp_tools: RULES });
});
afterAll(async () => t?.close());

describe('MCP tool rules', () => {
  it('deny refuses at once, says which rule, and records it in the audit chain', async () => {
    const h = await call('mcp__github__delete_repo', args({ repo: 'acme/web' }));
    expect(h).toMatchObject({
      status: 'denied',
      decision: {
        option: 'deny',
        channel: 'policy',
        comment: "denied by the org's MCP tool rule mcp_tools[0]",
      },
    });
    const audit = (await as(t, admin, 'GET', '/v1/admin/audit?limit=50')).json<{
      entries: { action: string; subject_id: string; meta: Record<string, unknown> }[];
    }>();
    const decided = audit.entries.find((e) => e.action === 'handoff.decided' && e.subject_id === h.id);
    expect(decided?.meta).toMatchObject({ channel: 'policy', rule: 'deny', by: 'mcp_tools[0]' });
    expect((await as(t, admin, 'GET', '/v1/admin/audit/verify')).json()).toMatchObject({ ok: true });
  });

  it('a server name holding "__" is matched at each split', async () => {
    expect((await call('mcp__my__srv__drop', args({}))).status).toBe('denied');
    expect((await call('mcp__my__srv__keep', args({}))).status).toBe('pending');
  });

  it('allow makes the tool routine (low, allowed by the level rule) and matches case-insensitively', async () => {
    const h = await call('mcp__fs__read_file', args({ path: '/srv/data/notes.txt' }));
    expect(h).toMatchObject({
      status: 'approved',
      risk: { level: 'low', reasons: ['mcp_tool_allowed'] },
      decision: { channel: 'policy' },
    });
    expect((await call('mcp__docs__list_pages', args({}))).status).toBe('approved');
  });

  it('allow never lowers what the arguments, or a destructive hint, carry', async () => {
    const command = await call('mcp__fs__read_file', { kind: 'command', content: 'rm -rf /' });
    expect(command).toMatchObject({ status: 'pending', risk: { level: 'critical' } });
    const secret = await call(
      'mcp__fs__read_text',
      args({ path: 'x', note: 'token ghp_4kQ9zT2mXw8LpR5vN1cY7bH3jD6fS0aE9uGi' }),
    );
    expect(secret.status).toBe('pending');
    expect(secret.risk.reasons).toContain('secret_in_payload');
    // `ony gate` sends a tool its upstream marks destructive as file.delete.
    const destructive = await call('mcp__fs__read_and_delete', args({ path: 'x' }), 'file.delete');
    expect(destructive).toMatchObject({ status: 'pending', risk: { level: 'medium' } });
  });

  it('no rule: medium, a human decides', async () => {
    const h = await call('mcp__github__create_issue', args({ title: 'Bug' }));
    expect(h).toMatchObject({ status: 'pending', risk: { level: 'medium', reasons: ['mcp_tool'] } });
  });

  it('ask sends the call to a human even where the level would allow it', async () => {
    await setRiskPolicy({ mcp_tools: RULES, reason_levels: { mcp_tool: 'low' } });
    try {
      const asked = await call('mcp__fs__write_file', args({ path: 'a.txt', content: 'hi' }));
      expect(asked).toMatchObject({ status: 'pending', risk: { level: 'low' } });
      expect((await call('mcp__github__create_issue', args({ title: 'Bug' }))).status).toBe('approved');
    } finally {
      await setRiskPolicy({ mcp_tools: RULES });
    }
  });

  it('bad rules are 400, say what is wrong, and change nothing', async () => {
    const before = (await as(t, admin, 'GET', '/v1/admin/policies')).body;
    const cases: [unknown, string][] = [
      [{ mcp_tools: 'deny everything' }, 'mcp_tools must be an array of at most 200 rules'],
      [{ mcp_tools: [{ tool: 'x', action: 'allow' }, 7] }, 'mcp_tools[1] must be {upstream, tool, action}'],
      [{ mcp_tools: [{ upstream: 'fs', action: 'deny' }] }, 'mcp_tools[0].tool must be a glob'],
      [{ mcp_tools: [{ upstream: '', tool: 'x', action: 'deny' }] }, 'mcp_tools[0].upstream must be a glob'],
      [
        { mcp_tools: [{ tool: 'x', action: 'approve' }] },
        'mcp_tools[0].action must be one of allow, ask, deny',
      ],
      [{ mcp_tools: [{ tool: 'x', action: 'deny', level: 'low' }] }, 'mcp_tools[0].level is not a field'],
      [{ mcp_tools: Array.from({ length: 201 }, () => ({ tool: 'x', action: 'deny' })) }, 'at most 200'],
    ];
    for (const [riskPolicy, message] of cases) {
      const res = await as(t, admin, 'PUT', '/v1/admin/policies', { risk_policy: riskPolicy });
      expect(res.statusCode, JSON.stringify(riskPolicy).slice(0, 80)).toBe(400);
      expect(res.body).toContain(message);
    }
    expect((await as(t, admin, 'GET', '/v1/admin/policies')).body).toBe(before);
    expect((await call('mcp__github__delete_repo', args({}))).status).toBe('denied');
  });
});
