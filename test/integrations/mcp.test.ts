/**
 * ony's MCP tools driven by the official SDK's own Client over both transports: stdio (spawning the
 * built `node dist/main.js mcp`, which talks to this server over real HTTP) and Streamable HTTP (the
 * server's `/mcp` endpoint). The server is the real one, listening on a real port.
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalResult } from '../../src/integrations/mcp/tools.js';
import { ensureBuild } from '../helpers/build.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/main.js');

let t: TestServer;
let base: string;
let admin: Actor;
let approver: Actor;
let token: string;
let otherOrgHandoff: string;

async function newDevice(actor: Actor, name: string): Promise<string> {
  const res = await as(t, actor, 'POST', '/v1/admin/devices', { name });
  if (res.statusCode !== 201) throw new Error(`device: ${res.statusCode} ${res.body}`);
  return res.json<{ token: string }>().token;
}

const handoffCount = async () =>
  (await sql<{ n: number }>`select count(*)::int as n from handoffs`.execute(t.database.db)).rows[0]!.n;

beforeAll(async () => {
  // The stdio tests run the built CLI, so it is this tree's code (built when stale, under the lock
  // every test build takes).
  ensureBuild();
  t = await startTestServer();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  admin = await createOrgWithAdmin(t, 'mcp');
  approver = await addMember(t, admin, 'mia@mcp.test', 'member');
  token = await newDevice(admin, 'claude');

  const otherAdmin = await createOrgWithAdmin(t, 'mcp-other');
  const otherToken = await newDevice(otherAdmin, 'other agent');
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${otherToken}` },
    payload: { action: { type: 'deploy', target: 'staging' }, title: 'other org deploy' },
  });
  otherOrgHandoff = res.json<{ id: string }>().id;
}, 180_000);
afterAll(async () => t?.close());

type Transport = 'stdio' | 'http';

async function connect(kind: Transport, opts: { token?: string; url?: string } = {}): Promise<Client> {
  const client = new Client({ name: 'ony-test', version: '1.0.0' });
  if (kind === 'stdio') {
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [MAIN, 'mcp'],
        cwd: ROOT,
        env: { ...getDefaultEnvironment(), ONY_URL: opts.url ?? base, ONY_TOKEN: opts.token ?? token },
        stderr: process.env.MCP_DEBUG ? 'inherit' : 'ignore',
      }),
    );
  } else {
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${opts.url ?? base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${opts.token ?? token}` } },
      }),
    );
  }
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>, onprogress?: () => void) {
  const res = (await client.callTool(
    { name, arguments: args },
    undefined,
    onprogress !== undefined ? { onprogress } : {},
  )) as CallToolResult;
  const text = res.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  return { res, text, result: res.structuredContent as ApprovalResult | undefined };
}

/** The pending handoff with this title, as the dashboard lists it. */
async function pendingByTitle(title: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const list = (await as(t, admin, 'GET', '/v1/handoffs?status=pending')).json<
      { id: string; title: string }[]
    >();
    const found = list.find((h) => h.title === title);
    if (found) return found.id;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no pending handoff "${title}"`);
}

describe.each<Transport>(['stdio', 'http'])('MCP over %s', (kind) => {
  let client: Client;
  beforeAll(async () => {
    client = await connect(kind);
  });
  afterAll(async () => client?.close());

  it('lists request_approval and get_approval, with bounded inputs and no risk input', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((x) => x.name).sort()).toEqual(['get_approval', 'request_approval']);
    const req = tools.find((x) => x.name === 'request_approval')!;
    const props = req.inputSchema.properties as Record<string, Record<string, unknown>>;
    expect(Object.keys(props)).not.toContain('risk');
    expect(req.inputSchema.required).toEqual(['action_type', 'title']);
    expect(props.action_type!.enum).toContain('deploy');
    expect(props.title).toMatchObject({ minLength: 1, maxLength: 200 });
    expect(props.wait_s).toMatchObject({ minimum: 0, maximum: 900 });
    expect(req.outputSchema?.properties).toHaveProperty('status');
  });

  it('a medium-risk action waits until a member approves it through the REST API', async () => {
    const title = `deploy v42 (${kind})`;
    const waiting = call(client, 'request_approval', {
      action_type: 'deploy',
      target: 'staging',
      title,
      summary: 'release train',
      wait_s: 25,
    });
    const id = await pendingByTitle(title);
    const decided = await as(t, approver, 'POST', `/v1/handoffs/${id}/decision`, {
      decision: 'approve',
      comment: 'ship it',
    });
    expect(decided.statusCode).toBe(200);
    const { res, text, result } = await waiting;
    expect(res.isError).toBeFalsy();
    expect(result).toMatchObject({
      id,
      status: 'approved',
      approved: true,
      risk: { level: 'medium', reasons: ['deploy'] },
      decision: { outcome: 'approved', decided_by: 'mia', channel: 'web', comment: 'ship it' },
    });
    expect(text).toMatch(
      /^APPROVED by mia via web: ship it \(handoff .*risk medium \(deploy\)\)\. You may proceed\.$/,
    );
  });

  it('a low-risk action is approved at once by the org policy (low = allow)', async () => {
    const started = Date.now();
    const { res, text, result } = await call(client, 'request_approval', {
      action_type: 'file.write',
      target: 'README.md',
      title: `fix a typo (${kind})`,
      wait_s: 30,
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(res.isError).toBeFalsy();
    expect(result).toMatchObject({
      status: 'approved',
      risk: { level: 'low' },
      decision: { outcome: 'approved', decided_by: null, channel: 'policy' },
    });
    expect(text).toMatch(/^APPROVED by policy/);
  });

  it('when wait_s elapses the answer is pending with the short code; get_approval picks it up', async () => {
    let progress = 0;
    const { res, text, result } = await call(
      client,
      'request_approval',
      // The agent's own risk claim is not part of the tool and is ignored.
      { action_type: 'deploy', target: 'staging', title: `slow deploy (${kind})`, wait_s: 1, risk: 'low' },
      () => progress++,
    );
    expect(res.isError).toBeFalsy();
    expect(result).toMatchObject({
      status: 'pending',
      approved: false,
      decision: null,
      risk: { level: 'medium' },
    });
    expect(result!.short_code).toMatch(/^[A-Z2-9]{6}$/);
    expect(text).toContain(`code ${result!.short_code}`);
    expect(text).toMatch(/^PENDING: .*Do not proceed\. Call get_approval/);
    expect(progress).toBeGreaterThan(0);

    const again = await call(client, 'get_approval', { id: result!.id });
    expect(again.result).toMatchObject({ id: result!.id, status: 'pending', short_code: result!.short_code });

    const waiting = call(client, 'get_approval', { id: result!.id, wait_s: 20 });
    await new Promise((r) => setTimeout(r, 300));
    await as(t, approver, 'POST', `/v1/handoffs/${result!.id}/decision`, {
      decision: 'deny',
      comment: 'not today',
    });
    const denied = await waiting;
    expect(denied.result).toMatchObject({
      status: 'denied',
      approved: false,
      decision: { outcome: 'denied', decided_by: 'mia', comment: 'not today' },
    });
    expect(denied.text).toMatch(/^DENIED by mia via web: not today .*Do not proceed\.$/);
  });

  it('a call the client cancels while it waits ends cleanly; the connection keeps serving', async () => {
    const controller = new AbortController();
    const waiting = client.callTool(
      {
        name: 'request_approval',
        arguments: { action_type: 'deploy', title: `cancelled wait (${kind})`, wait_s: 30 },
      },
      undefined,
      { signal: controller.signal },
    );
    const id = await pendingByTitle(`cancelled wait (${kind})`);
    controller.abort(new Error('user pressed Esc'));
    await expect(waiting).rejects.toThrow(/user pressed Esc|abort/i);
    // The handoff is untouched (still pending for the approvers) and the server answers the next call.
    const again = await call(client, 'get_approval', { id });
    expect(again.result).toMatchObject({ id, status: 'pending' });
  });

  it('bad input is a tool error and creates nothing', async () => {
    const before = await handoffCount();
    for (const [args, message] of [
      [{ action_type: 'rm -rf', title: 'x' }, /action_type/],
      [{ action_type: 'deploy', title: '' }, /title/],
      [{ action_type: 'deploy', title: 'x'.repeat(201) }, /title/],
      [{ action_type: 'deploy', title: 'x', wait_s: 100_000 }, /wait_s/],
      [{ action_type: 'deploy', title: 'x', payload: { kind: 'binary', content: 'x' } }, /payload/],
      [{ title: 'no action' }, /action_type/],
    ] as const) {
      const { res, text } = await call(client, 'request_approval', args);
      expect(res.isError, JSON.stringify(args)).toBe(true);
      expect(text).toMatch(/Input validation error/);
      expect(text).toMatch(message);
    }
    const bad = await call(client, 'get_approval', { id: 'not-an-id' });
    expect(bad.res.isError).toBe(true);
    expect(bad.text).toMatch(/handoff id/);
    expect(await handoffCount()).toBe(before);
  });

  it('a retry with the same idempotency_key answers the same handoff; another body is refused', async () => {
    const key = `retry-${kind}-${Date.now()}`;
    const args = { action_type: 'deploy', target: 'staging', title: `retried deploy (${kind})`, wait_s: 0 };
    const before = await handoffCount();
    const first = await call(client, 'request_approval', { ...args, idempotency_key: key });
    expect(first.res.isError).toBeFalsy();
    expect(first.result).toMatchObject({ status: 'pending' });
    // The client timed out and calls again (a different wait is not part of the request).
    const again = await call(client, 'request_approval', { ...args, wait_s: 1, idempotency_key: key });
    expect(again.res.isError).toBeFalsy();
    expect(again.result).toMatchObject({ id: first.result!.id, short_code: first.result!.short_code });
    expect(await handoffCount()).toBe(before + 1);

    // The same key with another request: the answer POST /v1/handoffs gives (422), and nothing new.
    const http = await t.app.inject({
      method: 'POST',
      url: '/v1/handoffs',
      headers: { authorization: `Bearer ${token}`, 'idempotency-key': key },
      payload: { action: { type: 'deploy', target: 'production' }, title: args.title },
    });
    expect(http.statusCode).toBe(422);
    const detail = http.json<{ detail: string }>().detail;
    expect(detail).toBe('this Idempotency-Key was used with a different request body');
    const other = await call(client, 'request_approval', {
      ...args,
      target: 'production',
      idempotency_key: key,
    });
    expect(other.res.isError).toBe(true);
    expect(other.text).toContain(`ony did not create the approval request: ${detail}`);
    expect(other.text).toMatch(/unprocessable/);
    expect(await handoffCount()).toBe(before + 1);
  });

  it('a bad idempotency_key is a tool error and creates nothing', async () => {
    const before = await handoffCount();
    for (const key of ['', 'k'.repeat(201), ' padded', 'line\nbreak', 'clé-non-ascii']) {
      const { res, text } = await call(client, 'request_approval', {
        action_type: 'deploy',
        title: 'x',
        wait_s: 0,
        idempotency_key: key,
      });
      expect(res.isError, JSON.stringify(key)).toBe(true);
      expect(text).toMatch(/Input validation error/);
      expect(text).toMatch(/idempotency_key/);
    }
    // The longest key allowed works, over both transports (stdio sends it as the HTTP header).
    const ok = await call(client, 'request_approval', {
      action_type: 'deploy',
      title: `longest key (${kind})`,
      wait_s: 0,
      idempotency_key: `${kind}-`.padEnd(200, 'k'),
    });
    expect(ok.res.isError).toBeFalsy();
    expect(await handoffCount()).toBe(before + 1);
  });

  it("another org's handoff id answers not found", async () => {
    const { res, text } = await call(client, 'get_approval', { id: otherOrgHandoff });
    expect(res.isError).toBe(true);
    expect(text).toMatch(/handoff not found/);
    expect(text).not.toContain('other org deploy');
  });
});

describe('bad token and unreachable server', () => {
  it('stdio: a revoked or unknown token makes every call a clear tool error', async () => {
    const client = await connect('stdio', { token: 'ony_dev_not_a_real_token' });
    try {
      const before = await handoffCount();
      const { res, text } = await call(client, 'request_approval', { action_type: 'deploy', title: 'x' });
      expect(res.isError).toBe(true);
      expect(text).toMatch(/did not create the approval request: .*check ONY_TOKEN.*HTTP 401/);
      expect(await handoffCount()).toBe(before);
    } finally {
      await client.close();
    }
  });

  it('stdio: an unreachable server is a tool error, not a crash', async () => {
    const client = await connect('stdio', { url: 'http://127.0.0.1:9' });
    try {
      const { res, text } = await call(client, 'get_approval', { id: otherOrgHandoff });
      expect(res.isError).toBe(true);
      expect(text).toMatch(/cannot reach ony at http:\/\/127\.0\.0\.1:9.*check ONY_URL/);
      // Still serving after the failure.
      expect((await client.listTools()).tools).toHaveLength(2);
    } finally {
      await client.close();
    }
  });

  it('http: /mcp refuses a bad token with 401 before any MCP message is read', async () => {
    await expect(connect('http', { token: 'ony_dev_not_a_real_token' })).rejects.toThrow(/401/);
    const res = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('http: a 401 from /mcp carries an RFC 6750 challenge; invalid_token only when a token was sent', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${base}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
    const before = await handoffCount();
    // No credentials (or not a bearer token): the bare challenge, no error code (RFC 6750 §3.1).
    for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }] as Record<string, string>[]) {
      const res = await post(headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="ony"');
    }
    // A token that is unknown, revoked or malformed: invalid_token.
    for (const bad of ['ony_dev_not_a_real_token', 'not-even-ony']) {
      const res = await post({ authorization: `Bearer ${bad}` });
      expect(res.status, bad).toBe(401);
      expect(res.headers.get('www-authenticate'), bad).toBe('Bearer realm="ony", error="invalid_token"');
      expect((await res.json()) as { code: string }).toMatchObject({ code: 'unauthenticated' });
    }
    // The SDK client sees the 401 too (no session is opened, nothing is created).
    await expect(connect('http', { token: 'ony_dev_not_a_real_token' })).rejects.toThrow(/401/);
    expect(await handoffCount()).toBe(before);
  });

  it('http: GET and DELETE answer 405 (stateless endpoint)', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${base}/mcp`, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
  });
});

describe('ony mcp stays thin', () => {
  it('loads no server code, database driver or config (import graph of the built command)', async () => {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = async (file: string): Promise<void> => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(
        /(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(['"]([^'"]+)['"]\)/g,
      )) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith('.')) await visit(resolve(dirname(file), spec));
        else bare.add(spec);
      }
    };
    await visit(join(ROOT, 'dist/cli/mcp.js'));
    const files = [...seen].map((f) => relative(join(ROOT, 'dist'), f)).sort();
    for (const f of files) {
      expect(f, f).toMatch(
        /^(cli\/(mcp|command)\.js|integrations\/mcp\/(tools|client-port)\.js|core\/risk\/.*|core\/approval\/rejection\.js)$/,
      );
    }
    for (const spec of bare) {
      expect(spec, spec).toMatch(/^(node:.*|zod|@ony\/client|@modelcontextprotocol\/sdk\/.*)$/);
    }
    expect(bare).toContain('@ony/client');
  });
});
