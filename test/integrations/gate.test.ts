/**
 * `ony gate` driven by the official SDK's own Client over stdio, as a real process, in front of real
 * upstream MCP servers: `@modelcontextprotocol/server-filesystem` and `@modelcontextprotocol/server-everything`
 * (the reference server with sampling, roots, logging, subscriptions and progress) from npm, and a
 * tiny server that can crash (test/fixtures/mcp-crashy-upstream.mjs). The ony server is the real one
 * on a real port.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type CreateMessageRequest,
  type LoggingMessageNotification,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { runInMemory } from '../helpers/cli.js';

const ROOT = resolve(import.meta.dirname, '../..');
const FS_SERVER = join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const CRASHY = join(ROOT, 'test/fixtures/mcp-crashy-upstream.mjs');
/** The CLI from source, as a separate process (the gate is a stdio program). */
const GATE = [process.execPath, '--import', 'tsx', join(ROOT, 'src/main.ts'), 'gate'];

let t: TestServer;
let base: string;
let admin: Actor;
let approver: Actor;
let token: string;
let dir: string;
let configPath: string;
let client: Client;

interface Listed {
  id: string;
  title: string;
  status: string;
  risk: { level: string; reasons: string[] };
  decision: { channel: string } | null;
}

async function handoffs(): Promise<Listed[]> {
  return (await as(t, admin, 'GET', '/v1/handoffs')).json<Listed[]>();
}

/** Waits for the handoff with this title and status to appear (an event, not a delay). */
async function handoffAppears(title: string, status: string): Promise<Listed> {
  for (let i = 0; i < 300; i++) {
    const found = (await handoffs()).find((h) => h.title === title && h.status === status);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${status} handoff "${title}"`);
}

/** Polls a condition that an event will make true (a message received), with a generous cap. */
async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const found = probe();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

async function call(
  name: string,
  args: Record<string, unknown>,
  onprogress?: (p: Progress) => void,
  via: Client = client,
) {
  const res = (await via.callTool(
    { name, arguments: args },
    undefined,
    onprogress !== undefined ? { onprogress, resetTimeoutOnProgress: true } : {},
  )) as CallToolResult;
  return { res, text: res.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n') };
}

function runGate(args: readonly string[], env: NodeJS.ProcessEnv) {
  return promisify(execFile)(GATE[0]!, [...GATE.slice(1), ...args], { cwd: ROOT, env }).then(
    (r) => ({ code: 0, stderr: r.stderr }),
    (err: { code?: number; stderr?: string }) => ({ code: err.code ?? -1, stderr: err.stderr ?? '' }),
  );
}

beforeAll(async () => {
  expect(existsSync(FS_SERVER)).toBe(true);
  t = await startTestServer();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  admin = await createOrgWithAdmin(t, 'gate');
  approver = await addMember(t, admin, 'mia@gate.test', 'member');
  const device = await as(t, admin, 'POST', '/v1/admin/devices', { name: 'gate' });
  token = device.json<{ token: string }>().token;
  // The org trusts MCP tools as such (mcp_tool low, so low = allow); the arguments and hints still raise.
  const policy = await as(t, admin, 'PUT', '/v1/admin/policies', {
    risk_policy: { reason_levels: { mcp_tool: 'low' } },
  });
  expect(policy.statusCode).toBe(200);

  dir = await mkdtemp(join(tmpdir(), 'ony-gate-'));
  await writeFile(join(dir, 'notes.txt'), 'hello from the filesystem\n');
  configPath = join(dir, 'ony-gate.json');
  await writeFile(
    configPath,
    JSON.stringify({
      upstreams: {
        fs: { command: process.execPath, args: [FS_SERVER, dir] },
        crashy: { command: process.execPath, args: [CRASHY] },
      },
      rules: [{ upstream: 'fs', tool: 'move_*', action: 'deny' }],
    }),
  );
  client = new Client({ name: 'gate-test', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: GATE[0]!,
      args: [...GATE.slice(1), '--config', configPath],
      cwd: ROOT,
      env: { ...getDefaultEnvironment(), ONY_URL: base, ONY_TOKEN: token },
      stderr: process.env.MCP_DEBUG ? 'inherit' : 'ignore',
    }),
  );
}, 120_000);
afterAll(async () => {
  await client?.close();
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ony gate', () => {
  it('lists the tools of every upstream, prefixed, with their annotations', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['fs__read_text_file', 'fs__write_file', 'crashy__echo']));
    expect(tools.find((x) => x.name === 'fs__write_file')?.annotations?.destructiveHint).toBe(true);
  });

  it('a read passes at once: the org policy allows it, and the upstream answers', async () => {
    const { res, text } = await call('fs__read_text_file', { path: join(dir, 'notes.txt') });
    expect(res.isError).toBeFalsy();
    expect(text).toContain('hello from the filesystem');
    const h = await handoffAppears('MCP tool fs: read_text_file', 'approved');
    expect(h.risk.level).toBe('low');
    expect(h.decision?.channel).toBe('policy');
  });

  it('a destructive call waits, with progress, is approved through the API and completes', async () => {
    const file = join(dir, 'approved.txt');
    let progress = 0;
    const waiting = call('fs__write_file', { path: file, content: 'approved content' }, () => progress++);
    const h = await handoffAppears('MCP tool fs: write_file (destructive)', 'pending');
    expect(h.risk.level).toBe('medium');
    expect(existsSync(file)).toBe(false);
    const decided = await as(t, approver, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'approve' });
    expect(decided.statusCode).toBe(200);
    const { res } = await waiting;
    expect(res.isError).toBeFalsy();
    expect(await readFile(file, 'utf8')).toBe('approved content');
    expect(progress).toBeGreaterThan(0);
  });

  it('a denied call returns the reason and the comment, and never reaches the upstream', async () => {
    const file = join(dir, 'denied.txt');
    const waiting = call('fs__write_file', { path: file, content: 'must not be written' });
    const h = await handoffAppears('MCP tool fs: write_file (destructive)', 'pending');
    await as(t, approver, 'POST', `/v1/handoffs/${h.id}/decision`, {
      decision: 'deny',
      comment: 'not there',
    });
    const { res, text } = await waiting;
    expect(res.isError).toBe(true);
    expect(text).toMatch(/^DENIED by mia via web: not there\. The tool "write_file" of "fs" was not run/);
    expect(existsSync(file)).toBe(false);
  });

  it('a local deny rule refuses without asking anyone', async () => {
    const before = (await handoffs()).length;
    const { res, text } = await call('fs__move_file', {
      source: join(dir, 'notes.txt'),
      destination: join(dir, 'moved.txt'),
    });
    expect(res.isError).toBe(true);
    expect(text).toContain("DENIED by the gate's rules");
    expect((await handoffs()).length).toBe(before);
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
  });

  it("the org's MCP tool rules on the server deny, ask or allow per upstream and tool", async () => {
    const rules = (mcp_tools: unknown[]) =>
      as(t, admin, 'PUT', '/v1/admin/policies', { risk_policy: { mcp_tools } });
    expect(
      (
        await rules([
          { upstream: 'fs', tool: 'create_*', action: 'deny' },
          { upstream: 'fs', tool: 'read_*', action: 'ask' },
          { upstream: 'f?', tool: 'WRITE_FILE', action: 'allow' },
        ])
      ).statusCode,
    ).toBe(200);
    try {
      const denied = await call('fs__create_directory', { path: join(dir, 'made-by-denied-call') });
      expect(denied.res.isError).toBe(true);
      expect(denied.text).toMatch(/^DENIED by policy: denied by the org's MCP tool rule mcp_tools\[0\]\./);
      expect(existsSync(join(dir, 'made-by-denied-call'))).toBe(false);

      // ask: mcp_tool stays medium without the org's reason_levels, and a human is asked anyway.
      const waiting = call('fs__read_text_file', { path: join(dir, 'notes.txt') });
      const asked = await handoffAppears('MCP tool fs: read_text_file', 'pending');
      await as(t, approver, 'POST', `/v1/handoffs/${asked.id}/decision`, { decision: 'approve' });
      expect((await waiting).text).toContain('hello from the filesystem');

      // allow: the tool is routine, but its upstream marks it destructive, so a human still decides.
      const file = join(dir, 'allowed.txt');
      const writing = call('fs__write_file', { path: file, content: 'allowed, yet asked' });
      const h = await handoffAppears('MCP tool fs: write_file (destructive)', 'pending');
      expect(h.risk.reasons).toEqual(expect.arrayContaining(['delete_files']));
      await as(t, approver, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'approve' });
      expect((await writing).res.isError).toBeFalsy();
      expect(await readFile(file, 'utf8')).toBe('allowed, yet asked');
    } finally {
      await as(t, admin, 'PUT', '/v1/admin/policies', {
        risk_policy: { reason_levels: { mcp_tool: 'low' } },
      });
    }
  });

  it('the approver reads a gist of the argument values, never a secret argument', async () => {
    // A secret-named argument in the payload raises the risk: the call waits for a human.
    const waiting = call('crashy__echo', { text: 'hello gist', password: 'correct horse battery' });
    const pending = await handoffAppears('MCP tool crashy: echo', 'pending');
    const shown = (await as(t, approver, 'GET', `/v1/handoffs/${pending.id}`)).json<{ summary: string }>();
    expect(shown.summary).toContain('Arguments: text: "hello gist", password: ***; all attached.');
    expect(JSON.stringify(shown)).not.toContain('correct horse');
    await as(t, approver, 'POST', `/v1/handoffs/${pending.id}/decision`, { decision: 'deny' });
    expect((await waiting).res.isError).toBe(true);
  });

  it("an upstream's tool list change reaches the client, which lists the new tool", async () => {
    expect(client.getServerCapabilities()?.tools?.listChanged).toBe(true);
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    expect((await call('crashy__grow', {})).text).toBe('grew');
    await until('tools/list_changed', () => (changed > 0 ? true : undefined));
    expect((await client.listTools()).tools.map((x) => x.name)).toContain('crashy__grown');
  });

  it('an upstream asking for sampling the client did not declare gets a clear MCP error', async () => {
    const { res, text } = await call('crashy__sample', {});
    expect(res.isError).toBeFalsy();
    expect(text).toMatch(
      /^sampling failed: -32601 .*the MCP client behind ony gate did not declare the "sampling" capability/,
    );
  });

  it('an upstream that crashes gives a clear tool error; the gate keeps serving and restarts it', async () => {
    // The crashy tools carry no hints and no risky arguments: the org policy allows them at once.
    const { res, text } = await call('crashy__crash', {});
    expect(res.isError).toBe(true);
    expect(text).toMatch(
      /approved \(handoff .*\), but the upstream MCP server "crashy" failed while running "crash"/,
    );
    expect((await handoffAppears('MCP tool crashy: crash', 'approved')).decision?.channel).toBe('policy');

    const again = await call('crashy__echo', { text: 'still here' });
    expect(again.res.isError).toBeFalsy();
    expect(again.text).toContain('echo: still here');
    // The filesystem upstream was not disturbed.
    expect((await call('fs__read_text_file', { path: join(dir, 'notes.txt') })).res.isError).toBeFalsy();
  });
});

describe('ony gate relays between its client and server-everything', () => {
  let relay: Client;
  const logs: LoggingMessageNotification['params'][] = [];
  const updated: string[] = [];
  const sampled: CreateMessageRequest['params'][] = [];
  let rootsAsked = 0;

  beforeAll(async () => {
    expect(existsSync(EVERYTHING)).toBe(true);
    // Sampling and roots, but no elicitation: the gate declares exactly these to the upstream.
    relay = new Client(
      { name: 'gate-relay-test', version: '1.0.0' },
      { capabilities: { sampling: {}, roots: { listChanged: true } } },
    );
    relay.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
    relay.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    relay.setRequestHandler(ListRootsRequestSchema, async () => {
      rootsAsked++;
      return { roots: [{ uri: 'file:///srv/project', name: 'project' }] };
    });
    relay.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      sampled.push(request.params);
      return {
        model: 'test-model',
        role: 'assistant',
        content: { type: 'text', text: 'sampled by the client' },
      };
    });
    const config = join(dir, 'relay.json');
    await writeFile(
      config,
      JSON.stringify({
        upstreams: {
          everything: { command: process.execPath, args: [EVERYTHING, 'stdio'] },
          crashy: { command: process.execPath, args: [CRASHY] },
        },
      }),
    );
    await relay.connect(
      new StdioClientTransport({
        command: GATE[0]!,
        args: [...GATE.slice(1), '--config', config],
        cwd: ROOT,
        env: { ...getDefaultEnvironment(), ONY_URL: base, ONY_TOKEN: token },
        stderr: process.env.MCP_DEBUG ? 'inherit' : 'ignore',
      }),
    );
  }, 120_000);
  afterAll(async () => {
    await relay?.close();
  });

  const logged = (text: string) =>
    until(`a log message with "${text}"`, () => logs.find((l) => String(l.data).includes(text)));

  it("declares the upstream's list changes, subscriptions and logging, and the client's capabilities to it", async () => {
    expect(relay.getServerCapabilities()).toMatchObject({
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      logging: {},
    });
    // server-everything offers its sampling tool only to a client declaring sampling, its elicitation
    // tool only to one declaring elicitation: the gate passed on what its client declared, no more.
    const names = (await relay.listTools()).tools.map((x) => x.name);
    expect(names).toContain('everything__trigger-sampling-request');
    expect(names).toContain('everything__get-roots-list');
    expect(names).not.toContain('everything__trigger-elicitation-request');
  });

  it("the upstream's roots/list is answered by the client, and its log message comes back", async () => {
    await logged('Roots updated: 1 root(s) received from client');
    expect(rootsAsked).toBeGreaterThan(0);
  });

  it("a sampling request during an approved call reaches the client's handler and its answer goes back", async () => {
    const { res, text } = await call(
      'everything__trigger-sampling-request',
      { prompt: 'say hi', maxTokens: 10 },
      undefined,
      relay,
    );
    expect(res.isError).toBeFalsy();
    expect(text).toContain('sampled by the client');
    expect(JSON.stringify(sampled.at(-1)?.messages)).toContain('say hi');
    expect(
      (await handoffAppears('MCP tool everything: trigger-sampling-request', 'approved')).decision?.channel,
    ).toBe('policy');
  });

  it('a sampling request with tools is refused: the model must not pick tools the upstream runs past the gate', async () => {
    const before = sampled.length;
    const { text } = await call('crashy__sample_tools', {}, undefined, relay);
    expect(text).toMatch(
      /^sampling failed: -32602 .*ony gate does not relay sampling with tools from the upstream "crashy"/,
    );
    expect(sampled.length).toBe(before);
  });

  it('the progress of an approved, forwarded call reaches the client', async () => {
    const seen: Progress[] = [];
    const { res } = await call(
      'everything__trigger-long-running-operation',
      { duration: 0.3, steps: 3 },
      (p) => void seen.push(p),
      relay,
    );
    expect(res.isError).toBeFalsy();
    // The upstream's own steps, unshifted (the call did not wait). The SDK may drop the last one when
    // it arrives with the result (its notification handlers run after the response is taken).
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((p, i) => p.total === 3 && p.progress === i + 1)).toBe(true);
  });

  it("the client's cancellation of a forwarded call reaches the upstream", async () => {
    const abort = new AbortController();
    let started = false;
    const waiting = relay.callTool({ name: 'crashy__wait', arguments: {} }, undefined, {
      signal: abort.signal,
      onprogress: () => void (started = true),
    });
    await until('the call runs upstream', () => (started ? true : undefined));
    abort.abort('changed my mind');
    await expect(waiting).rejects.toThrow(/changed my mind/);
    await logged('wait cancelled');
  });

  it('subscribe and logging/setLevel reach the upstream, and its resource updates come back', async () => {
    const { resources } = await relay.listResources();
    const uri = resources[0]!.uri;
    await relay.setLoggingLevel('info');
    await relay.subscribeResource({ uri });
    await logged(`Received Subscribe Resource request for URI: ${uri}`);
    expect(
      (await call('everything__toggle-subscriber-updates', {}, undefined, relay)).res.isError,
    ).toBeFalsy();
    await until(`resources/updated for ${uri}`, () => (updated.includes(uri) ? true : undefined));
    await relay.unsubscribeResource({ uri });
    await logged(`Received Unsubscribe Resource request: ${uri}`);
  });
});

describe('ony gate with an upstream that will not start', () => {
  it('lists the others, and a call to it is a clear tool error', async () => {
    const config = join(dir, 'down.json');
    await writeFile(
      config,
      JSON.stringify({
        upstreams: {
          fs: { command: process.execPath, args: [FS_SERVER, dir] },
          broken: { command: process.execPath, args: ['-e', 'process.exit(3)'] },
        },
      }),
    );
    const gate = new Client({ name: 'gate-down-test', version: '1.0.0' });
    await gate.connect(
      new StdioClientTransport({
        command: GATE[0]!,
        args: [...GATE.slice(1), '--config', config],
        cwd: ROOT,
        env: { ...getDefaultEnvironment(), ONY_URL: base, ONY_TOKEN: token },
        stderr: process.env.MCP_DEBUG ? 'inherit' : 'ignore',
      }),
    );
    try {
      const { tools } = await gate.listTools();
      expect(tools.map((x) => x.name)).toContain('fs__read_text_file');
      expect(tools.some((x) => x.name.startsWith('broken__'))).toBe(false);
      const res = (await gate.callTool({ name: 'broken__anything', arguments: {} })) as CallToolResult;
      expect(res.isError).toBe(true);
      const text = res.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
      expect(text).toContain('the upstream MCP server "broken" is not available');
    } finally {
      await gate.close();
    }
  });
});

describe("ony gate in front of a Streamable HTTP upstream (ony's own /mcp)", () => {
  it('lists its tools unprefixed and forwards an allowed call with the configured headers', async () => {
    const probe = await t.app.inject({
      method: 'POST',
      url: '/v1/handoffs',
      headers: { authorization: `Bearer ${token}` },
      payload: { action: { type: 'deploy', target: 'staging' }, title: 'http upstream probe' },
    });
    const id = probe.json<{ id: string }>().id;
    const config = join(dir, 'http.json');
    await writeFile(
      config,
      JSON.stringify({
        upstreams: { ony: { url: `${base}/mcp`, headers: { Authorization: `Bearer ${token}` } } },
      }),
    );
    const http = new Client({ name: 'gate-http-test', version: '1.0.0' });
    await http.connect(
      new StdioClientTransport({
        command: GATE[0]!,
        args: [...GATE.slice(1), '--config', config],
        cwd: ROOT,
        env: { ...getDefaultEnvironment(), ONY_URL: base, ONY_TOKEN: token },
        stderr: process.env.MCP_DEBUG ? 'inherit' : 'ignore',
      }),
    );
    try {
      // ony's /mcp offers tools only: no subscriptions, no logging, and the gate claims none.
      expect(http.getServerCapabilities()).toEqual({
        tools: { listChanged: true },
        resources: {},
        prompts: {},
      });
      const { tools } = await http.listTools();
      expect(tools.map((x) => x.name)).toEqual(expect.arrayContaining(['request_approval', 'get_approval']));
      const res = (await http.callTool({ name: 'get_approval', arguments: { id } })) as CallToolResult;
      expect(res.isError).toBeFalsy();
      expect(res.structuredContent).toMatchObject({ id, status: 'pending' });
      expect((await handoffAppears('MCP tool ony: get_approval', 'approved')).decision?.channel).toBe(
        'policy',
      );
    } finally {
      await http.close();
    }
  });
});

describe('ony gate: bad configuration exits 2 with a clear error', () => {
  const env = () => ({ ...getDefaultEnvironment(), ONY_URL: base, ONY_TOKEN: token });
  it.each<[string, () => Promise<string[]>, RegExp]>([
    ['no upstream', async () => [], /no upstream: give -- <command>, --url <url> or --config <file>/],
    ['"--" without a command', async () => ['--'], /"--" must be followed by the upstream command/],
    [
      'bad JSON',
      async () => {
        await writeFile(join(dir, 'bad.json'), '{"upstreams": ');
        return ['--config', join(dir, 'bad.json')];
      },
      /bad\.json is not valid JSON/,
    ],
    [
      'unknown keys and a missing command',
      async () => {
        await writeFile(
          join(dir, 'keys.json'),
          JSON.stringify({ upstreams: { fs: { args: ['x'] } }, extra: 1 }),
        );
        return ['--config', join(dir, 'keys.json')];
      },
      /unknown key "extra"[\s\S]*upstreams\.fs needs "command"/,
    ],
    [
      'a local allow rule',
      async () => {
        await writeFile(
          join(dir, 'allow.json'),
          JSON.stringify({
            upstreams: { fs: { url: 'http://127.0.0.1:1/mcp' } },
            rules: [{ tool: '*', action: 'allow' }],
          }),
        );
        return ['--config', join(dir, 'allow.json')];
      },
      /"allow" is not allowed locally/,
    ],
  ])('%s', async (_name, argv, message) => {
    const r = await runGate(await argv(), env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a --help after "--" is the upstream\'s, not the gate\'s', async () => {
    const r = await runInMemory(['gate', '--', 'server', '--help'], { env: {} });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no device token');
  });

  it('no device token', async () => {
    const r = await runGate(['--', process.execPath, FS_SERVER, dir], { ...getDefaultEnvironment() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no device token: set ONY_TOKEN');
  });
});
