/**
 * The command hooks end to end (Claude Code, and Codex CLI, Cursor and Gemini CLI, each with input in
 * its own shape): `node dist/main.js hook claude-code` as Claude Code runs
 * it (a new process per tool call, the hook input on stdin) for a policy-allowed `ls`, against a
 * server listening on loopback in this process, side by side with a bare `node -e 0` in the same run.
 * The hook must stay a thin client (no server, database driver or config loaded): target ratio ≤ 2.5.
 * A third column is the floor of any hook over HTTP: a bare `node -e` that makes one GET /healthz
 * (on a loaded machine the cross-process round trip dominates, whatever the client does).
 * Medians over alternating rounds, after the server answered 60 in-process hook calls (steady state). The database is the one the test helpers pick (PGlite, or Postgres
 * with DATABASE_URL).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { as, createOrgWithAdmin, startTestServer } from '../test/helpers/app.js';
import { median } from './stats.js';

const ROUNDS = 25;
const WARMUP = 3;
/** In-process hook calls that warm the server before the timed rounds. */
const SERVER_WARMUP = 60;
const root = fileURLToPath(new URL('..', import.meta.url));
const mainJs = `${root}dist/main.js`;
const hookJs = `${root}dist/cli/hook.js`;
const agentIoJs = `${root}dist/core/integrations/agent-hooks-io.js`;

/** Runs a command to its exit with stdin; answers the wall time in ms and its stdout. */
function timed(
  args: string[],
  stdin: string,
  env: NodeJS.ProcessEnv,
): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}`));
      else resolve({ ms, stdout });
    });
    child.stdin.end(stdin);
  });
}

export async function run(): Promise<void> {
  if (
    !existsSync(hookJs) ||
    !existsSync(agentIoJs) ||
    statSync(hookJs).mtimeMs < statSync(`${root}src/cli/hook.ts`).mtimeMs ||
    statSync(agentIoJs).mtimeMs < statSync(`${root}src/core/integrations/agent-hooks-io.ts`).mtimeMs
  ) {
    console.log('building dist/ (npm run build)…');
    try {
      execFileSync(
        process.execPath,
        [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`],
        {
          stdio: 'inherit',
        },
      );
    } catch {
      // Type errors elsewhere still emit JavaScript; what matters is that the hook was built.
    }
    if (!existsSync(hookJs) || !existsSync(agentIoJs))
      throw new Error('dist/cli/hook.js is missing: run npm run build');
  }
  const t = await startTestServer({ ONY_LOG_LEVEL: 'warn' });
  try {
    const admin = await createOrgWithAdmin(t, 'bench-hook');
    const token = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'claude-code' })).json<{
      token: string;
    }>().token;
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const env = { PATH: process.env.PATH, ONY_URL: url, ONY_TOKEN: token, ONY_HOOK_BUDGET_S: '10' };
    const input = () =>
      JSON.stringify({
        session_id: 'bench',
        transcript_path: '/tmp/bench.jsonl',
        cwd: root,
        permission_mode: 'default',
        hook_event_name: 'PreToolUse',
        tool_name: 'Bash',
        tool_input: { command: 'ls -la', description: 'List files' },
        tool_use_id: `toolu_${randomUUID().replace(/-/g, '')}`,
      });

    // The other agents' hooks, each with a policy-allowed `ls` in its documented input shape, and
    // how to read an allow from its output.
    const agents: { name: string; input: () => string; allowed: (out: string) => boolean }[] = [
      {
        name: 'codex',
        input: () =>
          JSON.stringify({
            session_id: 'bench',
            transcript_path: null,
            cwd: root,
            hook_event_name: 'PreToolUse',
            model: 'gpt-5-codex',
            permission_mode: 'default',
            tool_name: 'Bash',
            tool_input: { command: 'ls -la' },
            tool_use_id: `call_${randomUUID()}`,
          }),
        allowed: (out) => out.trim() === '{}',
      },
      {
        name: 'cursor',
        input: () =>
          JSON.stringify({
            conversation_id: 'bench',
            generation_id: randomUUID(),
            hook_event_name: 'beforeShellExecution',
            workspace_roots: [root],
            command: 'ls -la',
            cwd: root,
          }),
        allowed: (out) => (JSON.parse(out) as { permission?: string }).permission === 'allow',
      },
      {
        name: 'gemini',
        input: () =>
          JSON.stringify({
            session_id: 'bench',
            transcript_path: '/tmp/bench.json',
            cwd: root,
            hook_event_name: 'BeforeTool',
            timestamp: new Date().toISOString(),
            tool_name: 'run_shell_command',
            tool_input: { command: 'ls -la' },
          }),
        allowed: (out) => (JSON.parse(out) as { decision?: string }).decision === 'allow',
      },
    ];
    const agentMs: Record<string, number[]> = Object.fromEntries(agents.map((a) => [a.name, []]));

    // A running server is warm: its request path is compiled by the JIT before the timed rounds.
    for (let i = 0; i < SERVER_WARMUP; i++) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/v1/integrations/claude-code/pre-tool-use?budget_s=5',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: input(),
      });
      if (r.statusCode !== 200) throw new Error(`warm-up: ${r.statusCode} ${r.body}`);
    }
    // The floor of any hook over HTTP: a bare Node process that makes one request (GET /healthz).
    const floorScript = `const r = require('node:http').request(${JSON.stringify(`${url}/healthz`)}, { agent: false }, (res) => res.resume()); r.end();`;
    const hook: number[] = [];
    const bare: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      const h = await timed([mainJs, 'hook', 'claude-code'], input(), env);
      const answer = JSON.parse(h.stdout) as { hookSpecificOutput: { permissionDecision: string } };
      if (answer.hookSpecificOutput.permissionDecision !== 'allow')
        throw new Error(`not allowed: ${h.stdout}`);
      const others: [string, number][] = [];
      for (const a of agents) {
        const r = await timed([mainJs, 'hook', a.name], a.input(), env);
        if (!a.allowed(r.stdout)) throw new Error(`ony hook ${a.name}: not allowed: ${r.stdout}`);
        others.push([a.name, r.ms]);
      }
      const b = await timed(['-e', '0'], '', env);
      const f = await timed(['-e', floorScript], '', env);
      if (i >= WARMUP) {
        hook.push(h.ms);
        bare.push(b.ms);
        floor.push(f.ms);
        for (const [name, ms] of others) agentMs[name]!.push(ms);
      }
    }
    const mh = median(hook);
    const mb = median(bare);
    const mf = median(floor);
    console.log(
      `database: ${t.database.kind}, server warmed by ${SERVER_WARMUP} calls, ${ROUNDS} rounds (after ${WARMUP} warm-up), medians:`,
    );
    console.log(`  node dist/main.js hook claude-code (policy-allowed ls, end to end): ${mh.toFixed(1)} ms`);
    for (const a of agents) {
      const m = median(agentMs[a.name]!);
      console.log(
        `  node dist/main.js hook ${a.name.padEnd(6)} (policy-allowed ls):              ${m.toFixed(1)} ms (ratio ${(m / mb).toFixed(2)})`,
      );
    }
    console.log(`  node -e 0:                                                        ${mb.toFixed(1)} ms`);
    console.log(`  node -e '<one GET /healthz>' (any HTTP hook's floor):              ${mf.toFixed(1)} ms`);
    console.log(`  ratio: ${(mh / mb).toFixed(2)} (target ≤ 2.5); floor ratio ${(mf / mb).toFixed(2)}`);
    console.log(
      `  load average during the run: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await t.close();
  }
}
