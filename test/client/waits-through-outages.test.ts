/**
 * Issue #18 item 4.1: every waiting client keeps waiting through a server restart. The real server
 * listens on a fixed port through a listener the test stops (the port then refuses connections, and
 * the open long-poll is cut) and starts again on the same port, over the same app and database.
 * Each test waits for the client to have seen more failures than the old client tolerated (5 in a
 * row), as events (the client's onRetry, a count of refused fetches, the hook's stderr), never for
 * a fixed time; then the server comes back, a member decides, and the client returns the decision.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient, type Handoff, type OnyClient, type RetryEvent } from '@ony/client';
import { runCli } from '../../src/cli/run.js';
import { isHookAnswer, type HookAnswer } from '../../src/core/integrations/claude-code.js';
import { clientApprovalPort } from '../../src/integrations/mcp/client-port.js';
import { createApprovalMcpServer, type ApprovalResult } from '../../src/integrations/mcp/tools.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { restartableListener, type RestartableListener } from '../helpers/net.js';

/** The old client gave up after this many failures in a row; every test outlasts it. */
const MORE_THAN_THE_OLD_LIMIT = 6;

let t: TestServer;
let listener: RestartableListener;
let admin: Actor;
let approver: Actor;
let token: string;
let ony: OnyClient;

beforeAll(async () => {
  t = await startTestServer();
  listener = await restartableListener(t.app);
  admin = await createOrgWithAdmin(t, 'outage');
  approver = await addMember(t, admin, 'olga@outage.test', 'member');
  token = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>()
    .token;
  ony = createClient({ baseUrl: listener.url, token });
}, 60_000);
afterAll(async () => {
  await listener?.stop();
  await t?.close();
});

const deploy = (title: string) => ({ action: { type: 'deploy' as const, target: 'staging' }, title });

async function approve(id: string, by: Actor = approver): Promise<void> {
  const res = await as(t, by, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'approve' });
  expect(res.statusCode, res.body).toBe(200);
}

/** Counts events and resolves when `n` have happened. */
function counter() {
  const emitter = new EventEmitter();
  let count = 0;
  return {
    get count() {
      return count;
    },
    hit(): void {
      count++;
      emitter.emit('hit');
    },
    async atLeast(n: number): Promise<void> {
      while (count < n) await once(emitter, 'hit');
    },
  };
}

/** The client's retries, as events. */
function retries() {
  const c = counter();
  const events: RetryEvent[] = [];
  return {
    events,
    atLeast: (n: number) => c.atLeast(n),
    onRetry: (e: RetryEvent) => {
      events.push(e);
      c.hit();
    },
  };
}

/** Fails the test at once if `wait` settles before `event` (the wait gave up during the outage). */
async function before<T>(event: Promise<void>, wait: Promise<T>): Promise<void> {
  await Promise.race([
    event,
    wait.then(
      (v) => {
        throw new Error(`the wait ended during the outage with ${JSON.stringify(v).slice(0, 300)}`);
      },
      (err: unknown) => {
        throw new Error(`the wait failed during the outage: ${String(err)}`);
      },
    ),
  ]);
}

/** Counts fetch calls that failed to connect (what `ony request` runs on), while installed. */
function refusedFetches() {
  const c = counter();
  const original = globalThis.fetch;
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    try {
      return await original(input, init);
    } catch (err) {
      c.hit();
      throw err;
    }
  });
  return { atLeast: (n: number) => c.atLeast(n), restore: () => spy.mockRestore() };
}

/** Runs an `ony` command in-process, with stderr readable while it runs. */
function startCli(argv: string[], env: NodeJS.ProcessEnv, stdin = '') {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  const lines = new EventEmitter();
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => {
    err += d.toString();
    lines.emit('data');
  });
  const done = runCli(argv, { stdin: Readable.from([Buffer.from(stdin)]), stdout, stderr, env }).then(
    (code) => ({ code, stdout: out, stderr: err }),
  );
  return {
    done,
    /** Resolves once stderr has matched `re` `n` times. */
    async stderrMatches(re: RegExp, n = 1): Promise<void> {
      const count = () => err.match(new RegExp(re.source, 'g'))?.length ?? 0;
      while (count() < n) await once(lines, 'data');
    },
  };
}

async function handoffIdByTitle(title: string): Promise<string> {
  const rows = await sql<{ id: string }>`select id from handoffs where title = ${title}`.execute(
    t.database.db,
  );
  return rows.rows[0]!.id;
}

describe('the TypeScript client (waitForDecision)', () => {
  it('keeps waiting while the server is down, and returns the decision made after it is back', async () => {
    const h = await ony.createHandoff(deploy('client restart'));
    const seen = retries();
    const waiting = ony.waitForDecision(h.id, { timeoutMs: 120_000, current: h, onRetry: seen.onRetry });
    await listener.stop();
    try {
      await before(seen.atLeast(MORE_THAN_THE_OLD_LIMIT), waiting);
    } finally {
      await listener.start();
    }
    expect(seen.events.map((e) => e.reason)).toContain('ECONNREFUSED');
    // Capped, jittered exponential back-off: each delay within [half, all] of 250 ms * 2^(n-1), at most 5 s.
    for (const e of seen.events) {
      const exp = Math.min(5_000, 250 * 2 ** (e.attempt - 1));
      expect(e.delayMs).toBeGreaterThanOrEqual(exp / 2);
      expect(e.delayMs).toBeLessThanOrEqual(exp);
    }
    await approve(h.id);
    expect(await waiting).toMatchObject({ id: h.id, status: 'approved', decision: { outcome: 'approved' } });
  });

  it('retries 503 (obeying Retry-After) and 502 answered by a proxy, then returns the decision', async () => {
    // A reverse proxy in front of the server: 3 GETs answered 503 with Retry-After: 1, the next 3 with
    // a 502 page, then every request forwarded.
    let gets = 0;
    const proxy: Server = createServer((req, res) => {
      if (req.method === 'GET' && ++gets <= 6) {
        if (gets <= 3) res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/html' });
        else res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html><body>upstream unavailable</body></html>');
        return;
      }
      const upstream = httpRequest(
        `${listener.url}${req.url}`,
        { method: req.method, headers: req.headers },
        (u) => {
          res.writeHead(u.statusCode ?? 502, u.headers);
          u.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    try {
      const viaProxy = createClient({
        baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        token,
      });
      const h = await viaProxy.createHandoff(deploy('client behind a proxy'));
      const seen = retries();
      const waiting = viaProxy.waitForDecision(h.id, { timeoutMs: 120_000, onRetry: seen.onRetry });
      await before(seen.atLeast(MORE_THAN_THE_OLD_LIMIT), waiting);
      expect(seen.events.map((e) => e.reason)).toEqual([
        'HTTP 503',
        'HTTP 503',
        'HTTP 503',
        'HTTP 502',
        'HTTP 502',
        'HTTP 502',
      ]);
      expect(seen.events.slice(0, 3).map((e) => e.delayMs)).toEqual([1000, 1000, 1000]);
      await approve(h.id);
      expect(await waiting).toMatchObject({ id: h.id, status: 'approved' });
    } finally {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('a wait that ends while the server is still down returns the last view (pending), not an error', async () => {
    const h = await ony.createHandoff(deploy('client wait ends in the outage'));
    await listener.stop();
    try {
      const seen = retries();
      const final = await ony.waitForDecision(h.id, { timeoutMs: 2_000, current: h, onRetry: seen.onRetry });
      expect(final).toMatchObject({ id: h.id, status: 'pending' });
      expect(seen.events.length).toBeGreaterThan(0);
    } finally {
      await listener.start();
    }
  });

  it('a 404 or 401 still stops at once, and a wait with no view yet throws the outage', async () => {
    const started = Date.now();
    await expect(
      ony.waitForDecision('00000000-0000-4000-8000-000000000000', { timeoutMs: 60_000 }),
    ).rejects.toMatchObject({ status: 404, code: 'not_found' });
    const revoked = createClient({ baseUrl: listener.url, token: 'ony_dev_not_a_token' });
    await expect(revoked.waitForDecision('x', { timeoutMs: 60_000 })).rejects.toMatchObject({ status: 401 });
    expect(Date.now() - started).toBeLessThan(5_000);

    await listener.stop();
    try {
      await expect(ony.waitForDecision('x', { timeoutMs: 1_000 })).rejects.toThrow(/cannot reach ony/);
    } finally {
      await listener.start();
    }
  });
});

describe('ony request --wait', () => {
  const env = () => ({ ONY_URL: listener.url, ONY_TOKEN: token });

  it('keeps waiting through a restart and exits 0 when approved after it, not 3', async () => {
    const refused = refusedFetches();
    const cli = startCli(
      ['request', '--action', 'deploy', '--target', 'staging', '--title', 'cli restart', '--wait'],
      env(),
    );
    try {
      await before(cli.stderrMatches(/waiting for a decision/), cli.done);
      await listener.stop();
      try {
        await before(refused.atLeast(MORE_THAN_THE_OLD_LIMIT), cli.done);
      } finally {
        await listener.start();
      }
      await approve(await handoffIdByTitle('cli restart'));
      const r = await cli.done;
      expect(r.stderr).toMatch(
        /ony is unreachable \((ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET)\); still waiting/,
      );
      expect(r.stdout).toMatch(/^approved by olga via \S+\n$/);
      expect(r.code).toBe(0);
    } finally {
      refused.restore();
    }
  });

  it('a handoff that expires while the server is down ends as expired (exit 2) once it is back', async () => {
    // The server's clock on the wall clock: the client bounds its retries by expires_at.
    t.clock.sync();
    const refused = refusedFetches();
    const cli = startCli(
      [
        'request',
        '--action',
        'deploy',
        '--target',
        'staging',
        '--title',
        'cli expiry',
        '--timeout',
        '30',
        '--wait',
      ],
      env(),
    );
    try {
      await before(cli.stderrMatches(/waiting for a decision/), cli.done);
      await listener.stop();
      try {
        await before(refused.atLeast(MORE_THAN_THE_OLD_LIMIT), cli.done);
        // The handoff's expiry passes on the server's clock while it is down.
        t.clock.advance(31_000);
      } finally {
        await listener.start();
      }
      const r = await cli.done;
      expect(r.stdout).toMatch(/^expired: nobody decided before /);
      expect(r.code).toBe(2);
    } finally {
      refused.restore();
      t.clock.sync();
    }
  });

  it('a wait that ends while the server is still down exits 2 (still pending), not 3', async () => {
    const cli = startCli(
      ['request', '--action', 'deploy', '--target', 'staging', '--title', 'cli ends down', '--wait', '3'],
      env(),
    );
    await before(cli.stderrMatches(/waiting for a decision/), cli.done);
    await listener.stop();
    try {
      const r = await cli.done;
      expect(r.stderr).toMatch(/ony is unreachable/);
      expect(r.stdout).toMatch(/^still pending after \d+s: handoff /);
      expect(r.code).toBe(2);
    } finally {
      await listener.start();
    }
  });
});

describe('ony hook claude-code', () => {
  const parse = (stdout: string) => {
    const a = JSON.parse(stdout) as unknown;
    expect(isHookAnswer(a), stdout).toBe(true);
    return (a as HookAnswer).hookSpecificOutput;
  };
  const input = (toolUseId: string) =>
    JSON.stringify({
      session_id: 'outage',
      transcript_path: '/tmp/t.jsonl',
      cwd: '/home/dev/web',
      permission_mode: 'default',
      hook_event_name: 'PreToolUse',
      tool_name: 'Bash',
      tool_input: { command: 'git reset --hard origin/main', description: 'reset' },
      tool_use_id: toolUseId,
    });

  it('retries a refused server within its budget, and answers allow once approved after the restart', async () => {
    const toolUseId = `toolu_outage_${Date.now()}`;
    await listener.stop();
    let cli: ReturnType<typeof startCli>;
    try {
      cli = startCli(
        ['hook', 'claude-code'],
        { ONY_URL: listener.url, ONY_TOKEN: token, ONY_HOOK_BUDGET_S: '60' },
        input(toolUseId),
      );
      await before(cli.stderrMatches(/ony is unreachable \(ECONNREFUSED\); trying again in/, 2), cli.done);
    } finally {
      await listener.start();
    }
    // The retried request created the handoff (under the tool_use_id) and waits on the server.
    let id: string | undefined;
    while (id === undefined) {
      const rows = await sql<{
        id: string;
      }>`select id from handoffs where idempotency_key = ${toolUseId}`.execute(t.database.db);
      id = rows.rows[0]?.id;
      if (id === undefined) await new Promise((r) => setTimeout(r, 50)); // polling for a row, not a fixed wait
    }
    await approve(id, admin);
    const r = await cli.done;
    expect(r.code).toBe(0);
    expect(parse(r.stdout).permissionDecision).toBe('allow');
  });

  it('an outage longer than the budget is still a deny, within the budget', async () => {
    await listener.stop();
    try {
      const started = Date.now();
      const r = await startCli(
        ['hook', 'claude-code'],
        { ONY_URL: listener.url, ONY_TOKEN: token, ONY_HOOK_BUDGET_S: '3' },
        input(`toolu_outage_deny_${Date.now()}`),
      ).done;
      expect(Date.now() - started).toBeLessThan(3_000);
      const a = parse(r.stdout);
      expect(a.permissionDecision).toBe('deny');
      expect(a.permissionDecisionReason).toMatch(
        /cannot reach ony.*ECONNREFUSED.*tried \d+ times within the budget of 3s/,
      );
    } finally {
      await listener.start();
    }
  });
});

describe('MCP get_approval (the `ony mcp` port over the client)', () => {
  it('keeps waiting through a restart and answers the decision made after it', async () => {
    const seen = retries();
    const server = createApprovalMcpServer(clientApprovalPort(ony, seen.onRetry));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const mcp = new Client({ name: 'outage-test', version: '1.0.0' });
    await mcp.connect(clientSide);
    try {
      const h: Handoff = await ony.createHandoff(deploy('mcp restart'));
      const progressed = counter();
      const call = mcp.callTool({ name: 'get_approval', arguments: { id: h.id, wait_s: 120 } }, undefined, {
        onprogress: () => progressed.hit(),
        timeout: 180_000,
      }) as Promise<CallToolResult>;
      // The first read is done and the long-poll has started: now the server goes away.
      await before(progressed.atLeast(1), call);
      await listener.stop();
      try {
        await before(seen.atLeast(MORE_THAN_THE_OLD_LIMIT), call);
      } finally {
        await listener.start();
      }
      await approve(h.id);
      const res = await call;
      expect(res.isError ?? false).toBe(false);
      expect(res.structuredContent as ApprovalResult).toMatchObject({ id: h.id, status: 'approved' });
    } finally {
      await mcp.close();
      await server.close();
    }
  });
});
