/**
 * Claude Code PreToolUse hooks through the real server: the http route (what a `type: "http"` hook
 * posts) and the command hook `ony hook claude-code` (the CLI run in-process against the server
 * listening on a real port). Hook inputs follow the shapes of the Claude Code hooks reference.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHookAnswer, type HookAnswer } from '../../src/core/integrations/claude-code.js';
import { runInMemory } from '../helpers/cli.js';
import {
  as,
  confirmed,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

let t: TestServer;
let admin: Actor;
let token: string;
let url: string;
const ROUTE = '/v1/integrations/claude-code/pre-tool-use';

async function newDevice(actor: Actor, name: string): Promise<string> {
  return (await as(t, actor, 'POST', '/v1/admin/devices', { name })).json<{ token: string }>().token;
}

/** A PreToolUse input as the hooks reference documents it. */
function hookInput(
  tool_name: string,
  tool_input: Record<string, unknown>,
  opts: { session?: string; toolUseId?: string } = {},
) {
  return {
    session_id: opts.session ?? 'sess-1',
    transcript_path: '/home/dev/.claude/projects/web/sess-1.jsonl',
    cwd: '/home/dev/web',
    permission_mode: 'default',
    hook_event_name: 'PreToolUse',
    tool_name,
    tool_input,
    tool_use_id: opts.toolUseId ?? `toolu_${randomUUID().replace(/-/g, '')}`,
  };
}

const bash = (command: string, opts: { session?: string; toolUseId?: string } = {}) =>
  hookInput('Bash', { command, description: 'run it' }, opts);

async function hook(body: unknown, opts: { token?: string; query?: string } = {}) {
  return t.app.inject({
    method: 'POST',
    url: `${ROUTE}${opts.query ?? '?budget_s=0'}`,
    headers: { authorization: `Bearer ${opts.token ?? token}` },
    payload: body as Record<string, unknown>,
  });
}

async function answerOf(body: unknown, opts: { token?: string; query?: string } = {}) {
  const res = await hook(body, opts);
  expect(res.statusCode, res.body).toBe(200);
  const a = res.json<unknown>();
  expect(isHookAnswer(a), res.body).toBe(true);
  return (a as HookAnswer).hookSpecificOutput;
}

const codeOf = (reason: string): string => /\b([A-Z2-9]{6})\b/.exec(reason)![1]!;

async function handoffByCode(code: string) {
  const rows = await sql<{
    id: string;
    status: string;
    consumed_by: string | null;
  }>`select id, status, consumed_by from handoffs where short_code = ${code} order by created_at desc limit 1`.execute(
    t.database.db,
  );
  return rows.rows[0]!;
}

const decide = async (code: string, decision: 'approve' | 'deny', comment?: string) => {
  const h = await handoffByCode(code);
  const res = await as(
    t,
    admin,
    'POST',
    `/v1/handoffs/${h.id}/decision`,
    await confirmed(t, admin, h.id, { decision, ...(comment !== undefined && { comment }) }),
  );
  expect(res.statusCode, res.body).toBe(200);
};

const count = async (where = sql`true`) =>
  (await sql<{ n: number }>`select count(*)::int as n from handoffs where ${where}`.execute(t.database.db))
    .rows[0]!.n;

beforeAll(async () => {
  t = await startTestServer();
  admin = await createOrgWithAdmin(t, 'cc');
  token = await newDevice(admin, 'claude-code');
  // A password session approves here: this file is about the hook, not the assurance minimum
  // (test/handoffs/assurance.test.ts), so critical accepts A1.
  const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
    escalation_policy: { levels: { critical: { min_assurance: 'A1' } } },
  });
  expect(put.statusCode, put.body).toBe(200);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => t?.close());

describe('http hook: POST /v1/integrations/claude-code/pre-tool-use', () => {
  it('allows a low-risk `ls` by policy, without a human, and uses that decision', async () => {
    const input = bash('ls -la');
    const a = await answerOf(input);
    expect(a.permissionDecision).toBe('allow');
    expect(a.permissionDecisionReason).toMatch(
      /^Allowed by the org's policy for risk low \(ony [A-Z2-9]{6}\)\.$/,
    );
    const h = await handoffByCode(codeOf(a.permissionDecisionReason));
    expect(h).toMatchObject({ status: 'approved', consumed_by: input.tool_use_id });
  });

  it('escalates `rm -rf /`; once the approver denies, the retry is denied naming them', async () => {
    const first = await answerOf(bash('rm -rf /', { session: 'deny-1' }));
    expect(first.permissionDecision).toBe('deny');
    expect(first.permissionDecisionReason).toContain('Waiting for a human to approve');
    expect(first.permissionDecisionReason).toContain('risk critical: recursive_delete_root');
    expect(first.permissionDecisionReason).toContain('Try the same action again later');
    const code = codeOf(first.permissionDecisionReason);
    await decide(code, 'deny', 'not on my watch');
    const retry = await answerOf(bash('rm -rf /', { session: 'deny-1' }));
    expect(retry.permissionDecision).toBe('deny');
    expect(retry.permissionDecisionReason).toBe(
      `Denied by Admin of cc via web: "not on my watch" (ony ${code}, risk critical: recursive_delete_root). Do not retry this action or work around it unless the user asks.`,
    );
    expect((await handoffByCode(code)).status).toBe('denied');
  });

  it('maps Write, Edit and an MCP tool, each to a schema-valid answer', async () => {
    const write = await answerOf(
      hookInput('Write', { file_path: '/home/dev/web/.github/workflows/deploy.yml', content: 'on: push\n' }),
    );
    expect(write.permissionDecision).toBe('deny');
    expect(write.permissionDecisionReason).toContain('ci_workflow_change');
    const edit = await answerOf(
      hookInput('Edit', {
        file_path: '/home/dev/web/src/page.ts',
        old_string: 'const title = "a";',
        new_string: 'const title = "b";',
        replace_all: false,
      }),
    );
    expect(edit.permissionDecision).toBe('allow');
    // An MCP tool's effect is its server's own: a human decides (risk mcp_tool, medium).
    const mcp = await answerOf(hookInput('mcp__memory__create_entities', { entities: [{ name: 'x' }] }));
    expect(mcp.permissionDecision).toBe('deny');
    expect(mcp.permissionDecisionReason).toMatch(/^Waiting for a human to approve/);
    expect(mcp.permissionDecisionReason).toContain('mcp_tool');
    const rows = await sql<{
      action_type: string;
      title: string;
      kind: string;
    }>`select h.action_type, h.title, p.kind from handoffs h join handoff_payloads p on p.handoff_id = h.id
       where h.short_code in (${codeOf(write.permissionDecisionReason)}, ${codeOf(edit.permissionDecisionReason)}, ${codeOf(mcp.permissionDecisionReason)})
       order by h.created_at`.execute(t.database.db);
    expect(rows.rows).toEqual([
      { action_type: 'file.write', title: 'Write .github/workflows/deploy.yml', kind: 'diff' },
      { action_type: 'file.write', title: 'Edit src/page.ts', kind: 'diff' },
      { action_type: 'other', title: 'MCP tool memory: create_entities', kind: 'text' },
    ]);
  });

  it('the same tool_use_id twice creates one handoff and answers the same decision', async () => {
    const input = bash('git push --force origin main', { session: 'idem' });
    const before = await count();
    const a = await answerOf(input);
    const b = await answerOf(input);
    expect(await count()).toBe(before + 1);
    expect(b).toEqual(a);
    await decide(codeOf(a.permissionDecisionReason), 'approve');
    // The call that used the approval, retried, still gets it; nothing new is created.
    const used = await answerOf(
      bash('git push --force origin main', { session: 'idem', toolUseId: 'toolu_second' }),
    );
    expect(used.permissionDecision).toBe('allow');
    expect(
      await answerOf(bash('git push --force origin main', { session: 'idem', toolUseId: 'toolu_second' })),
    ).toEqual(used);
    expect(await count()).toBe(before + 1);
  });

  it('a call whose budget ran out while pending is allowed when retried after the approval, once', async () => {
    const input = () => bash('rm -rf ./dist /srv/app/releases', { session: 'retry' });
    const first = await answerOf(input());
    expect(first.permissionDecision).toBe('deny');
    const code = codeOf(first.permissionDecisionReason);
    // Still pending: the retry joins the same handoff and is told the same code.
    const stillPending = await answerOf(input());
    expect(codeOf(stillPending.permissionDecisionReason)).toBe(code);
    await decide(code, 'approve', 'ok once');
    const retry = await answerOf(input());
    expect(retry.permissionDecision).toBe('allow');
    expect(retry.permissionDecisionReason).toBe(
      `Approved by Admin of cc via web: "ok once" (ony ${code}, risk high: destructive_delete).`,
    );
    // The approval was used: the next identical call escalates again, under a new code.
    const third = await answerOf(input());
    expect(third.permissionDecision).toBe('deny');
    expect(third.permissionDecisionReason).toContain('Waiting for a human to approve');
    expect(codeOf(third.permissionDecisionReason)).not.toBe(code);
  });

  it('waits within the budget and answers as soon as the approver decides', async () => {
    const input = bash('terraform destroy -auto-approve', { session: 'wait' });
    const pending = hook(input, { query: '?budget_s=20' });
    let code: string | undefined;
    for (let i = 0; i < 100 && code === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const row = await sql<{
        short_code: string;
      }>`select short_code from handoffs where idempotency_key = ${input.tool_use_id}`.execute(t.database.db);
      code = row.rows[0]?.short_code;
    }
    const decidedAt = Date.now();
    await decide(code!, 'approve');
    const res = await pending;
    expect(Date.now() - decidedAt).toBeLessThan(5_000);
    expect(res.json<HookAnswer>().hookSpecificOutput.permissionDecision).toBe('allow');
  });

  it('answers "still pending" within the budget, as deny by default or ask on request', async () => {
    const started = Date.now();
    const a = await answerOf(bash('shutdown -h now', { session: 'budget' }), { query: '?budget_s=1' });
    const took = Date.now() - started;
    expect(a.permissionDecision).toBe('deny');
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(3_000);
    const ask = await answerOf(bash('shutdown -h now', { session: 'budget' }), {
      query: '?budget_s=0&on_pending=ask',
    });
    expect(ask.permissionDecision).toBe('ask');
    expect(ask.permissionDecisionReason).toContain(codeOf(a.permissionDecisionReason));
  });

  it('ask mode: answering ask withdraws the handoff, so no approver decides it afterwards', async () => {
    const input = bash('kubectl delete namespace prod', { session: 'ask-mode' });
    const before = await count();
    const ask = await answerOf(input, { query: '?budget_s=0&on_pending=ask' });
    expect(ask.permissionDecision).toBe('ask');
    const code = codeOf(ask.permissionDecisionReason);
    expect(ask.permissionDecisionReason).toContain('withdrawn from ony: decide here');
    expect(await count()).toBe(before + 1);

    // The handoff is cancelled, saying the decision moved to the local prompt, on the row and in the chain.
    const h = await handoffByCode(code);
    expect(h.status).toBe('cancelled');
    const row = await sql<{ decision_comment: string | null }>`
      select decision_comment from handoffs where id = ${h.id}`.execute(t.database.db);
    expect(row.rows[0]!.decision_comment).toMatch(/decision moved to the agent's local prompt/);
    const audit = await sql<{ meta: unknown; actor_type: string }>`
      select meta, actor_type from audit_events
      where subject_id = ${h.id} and action = 'handoff.cancelled'`.execute(t.database.db);
    expect(audit.rows).toEqual([{ meta: { reason: 'local_prompt' }, actor_type: 'device' }]);

    // An approver's later approve gets the usual answer for a withdrawn handoff, and changes nothing.
    const late = await as(t, admin, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'approve' });
    expect(late.statusCode).toBe(409);
    expect(late.json<{ detail: string }>().detail).toBe('the agent cancelled the handoff');
    expect((await handoffByCode(code)).status).toBe('cancelled');

    // The same request again (a retry of this tool_use_id) answers ask again, creating nothing; the
    // next identical tool call asks the approvers anew under a new code (nothing to join).
    const replay = await answerOf(input, { query: '?budget_s=0&on_pending=ask' });
    expect(replay.permissionDecision).toBe('ask');
    expect(codeOf(replay.permissionDecisionReason)).toBe(code);
    const next = await answerOf(bash('kubectl delete namespace prod', { session: 'ask-mode' }));
    expect(next.permissionDecision).toBe('deny');
    expect(codeOf(next.permissionDecisionReason)).not.toBe(code);
    expect(await count()).toBe(before + 2);
  });

  it('ask mode: an approver who decided before the budget ran out wins over ask', async () => {
    const input = bash('git push --force origin main', { session: 'ask-decided' });
    const first = await answerOf(input);
    const code = codeOf(first.permissionDecisionReason);
    await decide(code, 'approve', 'go');
    const again = await answerOf(bash('git push --force origin main', { session: 'ask-decided' }), {
      query: '?budget_s=0&on_pending=ask',
    });
    expect(again.permissionDecision).toBe('allow');
    expect((await handoffByCode(code)).status).toBe('approved');
  });

  it('asks again after a pending handoff expired', async () => {
    const first = await answerOf(bash('chmod -R 777 /', { session: 'expire' }));
    t.clock.advance(16 * 60_000); // past the default 15 minutes
    const second = await answerOf(bash('chmod -R 777 /', { session: 'expire' }));
    t.clock.sync();
    expect(second.permissionDecision).toBe('deny');
    expect(codeOf(second.permissionDecisionReason)).not.toBe(codeOf(first.permissionDecisionReason));
  });

  it('keeps devices and orgs apart: another device or org never joins or uses a handoff', async () => {
    const other = await createOrgWithAdmin(t, 'cc-other');
    const foreign = await newDevice(other, 'foreign');
    const sibling = await newDevice(admin, 'sibling');
    const input = bash('dd if=/dev/zero of=/dev/sda', { session: 'shared', toolUseId: 'toolu_shared' });
    const mine = await answerOf(input);
    await decide(codeOf(mine.permissionDecisionReason), 'approve');
    for (const tok of [foreign, sibling]) {
      const theirs = await answerOf(input, { token: tok });
      expect(theirs.permissionDecision).toBe('deny');
      expect(codeOf(theirs.permissionDecisionReason)).not.toBe(codeOf(mine.permissionDecisionReason));
    }
    expect(await count(sql`idempotency_key = 'toolu_shared'`)).toBe(3);
    expect((await answerOf(input)).permissionDecision).toBe('allow');
  });

  it('a tool_use_id reused for another tool call is denied, and changes nothing', async () => {
    const a = await answerOf(bash('ls', { toolUseId: 'toolu_reused' }));
    expect(a.permissionDecision).toBe('allow');
    const before = await count();
    const b = await answerOf(bash('rm -rf /', { toolUseId: 'toolu_reused' }));
    expect(b.permissionDecision).toBe('deny');
    expect(b.permissionDecisionReason).toContain('already used for another tool call');
    expect(await count()).toBe(before);
  });

  it.each([
    ['another event', { ...bash('ls'), hook_event_name: 'PostToolUse' }, 400, /hook_event_name/],
    ['no tool_use_id', { ...bash('ls'), tool_use_id: undefined }, 400, /tool_use_id/],
    ['tool_input not an object', { ...bash('ls'), tool_input: 'ls' }, 400, /tool_input/],
    ['a budget over the limit', bash('ls'), 400, /budget_s/, '?budget_s=999'],
  ])('refuses %s (problem+json) and creates nothing', async (_n, body, status, detail, query?: string) => {
    const before = await count();
    const res = await hook(body, { query: query ?? '?budget_s=0' });
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json<{ detail: string }>().detail).toMatch(detail);
    expect(await count()).toBe(before);
  });

  it('refuses a body that is not JSON and a bad token', async () => {
    const notJson = await t.app.inject({
      method: 'POST',
      url: ROUTE,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(notJson.statusCode).toBe(400);
    const bad = await hook(bash('ls'), { token: 'ony_dev_not_a_real_token' });
    expect(bad.statusCode).toBe(401);
  });
});

describe('command hook: ony hook claude-code', () => {
  const run = (stdin: string, env: Record<string, string> = {}) =>
    runInMemory(['hook', 'claude-code'], {
      stdin,
      env: { ONY_URL: url, ONY_TOKEN: token, ONY_HOOK_BUDGET_S: '3', ...env },
    });
  const parse = (stdout: string) => {
    const a = JSON.parse(stdout) as unknown;
    expect(isHookAnswer(a), stdout).toBe(true);
    return (a as HookAnswer).hookSpecificOutput;
  };

  it('allows `ls` by policy and denies `rm -rf /` while it waits, exit 0 both times', async () => {
    const ls = await run(JSON.stringify(bash('ls')));
    expect(ls.code).toBe(0);
    expect(parse(ls.stdout).permissionDecision).toBe('allow');
    const started = Date.now();
    const rm = await run(JSON.stringify(bash('rm -rf /', { session: 'cli' })), { ONY_HOOK_BUDGET_S: '2' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(rm.code).toBe(0);
    const a = parse(rm.stdout);
    expect(a.permissionDecision).toBe('deny');
    expect(a.permissionDecisionReason).toContain('Try the same action again later');
  });

  it('allows the retry once the approver approved', async () => {
    const input = () => JSON.stringify(bash('git reset --hard origin/main', { session: 'cli-retry' }));
    const first = parse((await run(input(), { ONY_HOOK_BUDGET_S: '1' })).stdout);
    expect(first.permissionDecision).toBe('deny');
    await decide(codeOf(first.permissionDecisionReason), 'approve');
    expect(parse((await run(input())).stdout).permissionDecision).toBe('allow');
    expect(parse((await run(input(), { ONY_HOOK_BUDGET_S: '1' })).stdout).permissionDecision).toBe('deny');
  });

  it('ONY_HOOK_ON_PENDING=ask: answers ask and the handoff ends withdrawn, not left for an approver', async () => {
    const input = JSON.stringify(bash('dropdb production', { session: 'cli-ask' }));
    const res = await run(input, { ONY_HOOK_BUDGET_S: '1', ONY_HOOK_ON_PENDING: 'ask' });
    expect(res.code).toBe(0);
    const a = parse(res.stdout);
    expect(a.permissionDecision).toBe('ask');
    const h = await handoffByCode(codeOf(a.permissionDecisionReason));
    expect(h.status).toBe('cancelled');
    const late = await as(t, admin, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'approve' });
    expect(late.statusCode).toBe(409);
  });

  it('a server that never answers: deny within the budget', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const started = Date.now();
      const r = await run(JSON.stringify(bash('ls')), {
        ONY_URL: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        ONY_HOOK_BUDGET_S: '2',
      });
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(r.code).toBe(0);
      const a = parse(r.stdout);
      expect(a.permissionDecision).toBe('deny');
      expect(a.permissionDecisionReason).toContain('did not answer within');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('an unreachable server, a bad token, bad input or no token: deny with the reason, exit 0', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const cases: [string, Record<string, string>, RegExp][] = [
      [JSON.stringify(bash('ls')), { ONY_URL: `http://127.0.0.1:${port}` }, /cannot reach ony.*ECONNREFUSED/],
      [JSON.stringify(bash('ls')), { ONY_TOKEN: 'ony_dev_wrong' }, /device token.*ONY_TOKEN/],
      ['{"tool_name": "Bash"', {}, /not JSON/],
      [
        JSON.stringify({ ...bash('ls'), hook_event_name: 'Stop' }),
        {},
        /not a PreToolUse input.*hook_event_name/,
      ],
      [JSON.stringify(bash('ls')), { ONY_TOKEN: '' }, /no device token/],
      [JSON.stringify(bash('ls')), { ONY_HOOK_BUDGET_S: 'soon' }, /ONY_HOOK_BUDGET_S/],
      [JSON.stringify(bash('ls')), { ONY_URL: 'ftp://x' }, /http\(s\) URL/],
    ];
    for (const [stdin, env, reason] of cases) {
      const r = await run(stdin, env);
      expect(r.code, stdin).toBe(0);
      const a = parse(r.stdout);
      expect(a.permissionDecision).toBe('deny');
      expect(a.permissionDecisionReason).toMatch(reason);
      expect(a.permissionDecisionReason).toMatch(/^ony could not check this action, so it is denied: /);
    }
  });

  it('loads neither the server, the database driver nor the config', async () => {
    const { readFile } = await import('node:fs/promises');
    const { dirname, resolve } = await import('node:path');
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = async (file: string): Promise<void> => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = await readFile(file, 'utf8');
      // Static imports only (type-only imports are erased); lazy import() calls are what commands.ts uses.
      for (const m of text.matchAll(/^import (?!type )[^;]*? from '([^']+)';/gms)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) await visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        else packages.add(spec);
      }
    };
    const root = new URL('../../src/', import.meta.url).pathname;
    for (const entry of ['main.ts', 'cli/run.ts', 'cli/commands.ts', 'cli/hook.ts'])
      await visit(`${root}${entry}`);
    const local = [...seen].map((f) => f.slice(root.length)).sort();
    expect(local.filter((f) => /^(db|http|config|features|jobs|state|channels)\/|container/.test(f))).toEqual(
      [],
    );
    // @ony/client is the repo's own client package, with no dependencies (test/client/package.test.ts).
    expect([...packages].filter((p) => !p.startsWith('node:') && p !== '@ony/client')).toEqual([]);
    expect(local).toContain('core/integrations/claude-code-io.ts');
    expect(local).not.toContain('core/integrations/claude-code.ts');
  });
});
