import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runInMemory } from '../helpers/cli.js';
import {
  createClient,
  OnyApiError,
  OnyNetworkError,
  parseProblem,
  type FetchLike,
  type Handoff,
} from '@ony/client';

const TOKEN = 'ony_dev_test_0123456789abcdef';

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

type Scenario = 'approve-on-second-poll' | 'deny' | 'expire' | 'stall' | 'custom-option';

interface FakeHandoff {
  view: Handoff;
  scenario: Scenario;
  polls: number;
}

/** A fake of the /v1/handoffs API that answers per the contract and records every request. */
class FakeOny {
  readonly requests: Recorded[] = [];
  readonly handoffs = new Map<string, FakeHandoff>();
  private readonly byKey = new Map<string, { body: string; id: string }>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private problem(res: ServerResponse, status: number, code: string, title: string, detail: string): void {
    res.writeHead(status, { 'content-type': 'application/problem+json' });
    res.end(JSON.stringify({ type: `https://ony.dev/problems/${code}`, title, status, detail, code }));
  }

  private send(res: ServerResponse, status: number, view: Handoff): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(view));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = Buffer.concat(chunks).toString('utf8');
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
    });

    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      this.problem(res, 401, 'unauthorized', 'Unauthorized', 'the device token is unknown or revoked');
      return;
    }
    if (req.method === 'POST' && url.pathname === '/v1/handoffs') {
      const key = req.headers['idempotency-key'];
      if (typeof key === 'string') {
        const seen = this.byKey.get(key);
        if (seen !== undefined && seen.body !== body) {
          this.problem(
            res,
            422,
            'idempotency_key_reused',
            'Idempotency key reused',
            'this Idempotency-Key was used with a different body',
          );
          return;
        }
        if (seen !== undefined) {
          this.send(res, 200, this.handoffs.get(seen.id)!.view);
          return;
        }
      }
      const input = JSON.parse(body) as {
        action: { type: Handoff['action']['type']; target?: string };
        title: string;
        options?: { id: string; label: string }[];
        timeout_s?: number;
      };
      const scenario: Scenario = input.title.startsWith('deny')
        ? 'deny'
        : input.title.startsWith('expire')
          ? 'expire'
          : input.title.startsWith('stall')
            ? 'stall'
            : input.title.startsWith('custom')
              ? 'custom-option'
              : 'approve-on-second-poll';
      const id = randomUUID();
      const created = new Date();
      const view: Handoff = {
        id,
        short_code: 'K7Q2',
        status: 'pending',
        action: { type: input.action.type, target: input.action.target ?? null },
        title: input.title,
        summary: '',
        summary_source: null,
        model_summary: null,
        risk: { level: 'high', reasons: ['protected_branch'] },
        options: input.options ?? [
          { id: 'approve', label: 'Approve' },
          { id: 'deny', label: 'Deny' },
        ],
        approvals: { required: 1, received: 0 },
        totp_required: false,
        min_assurance: 'A1',
        decision: null,
        payload: { status: 'none', removed_at: null, note: null },
        expires_at: new Date(created.getTime() + (input.timeout_s ?? 600) * 1000).toISOString(),
        created_at: created.toISOString(),
        links: { self: `/v1/handoffs/${id}`, events: `/v1/handoffs/${id}/events` },
      };
      this.handoffs.set(id, { view, scenario, polls: 0 });
      if (typeof key === 'string') this.byKey.set(key, { body, id });
      this.send(res, 201, view);
      return;
    }
    const match = /^\/v1\/handoffs\/([^/]+)(\/cancel)?$/.exec(url.pathname);
    const h = match !== null ? this.handoffs.get(decodeURIComponent(match[1]!)) : undefined;
    if (h === undefined) {
      this.problem(res, 404, 'not_found', 'Not found', 'no such handoff');
      return;
    }
    if (req.method === 'POST' && match![2] === '/cancel') {
      if (h.view.status === 'pending') h.view = { ...h.view, status: 'cancelled' };
      this.send(res, 200, h.view);
      return;
    }
    if (req.method === 'GET' && match![2] === undefined) {
      h.polls++;
      const decide = (
        outcome: 'approved' | 'denied',
        option: string,
        name: string,
        channel: string,
        comment: string | null,
      ): void => {
        h.view = {
          ...h.view,
          status: outcome,
          approvals: { required: 1, received: 1 },
          decision: {
            option,
            outcome,
            decided_by: { member_id: randomUUID(), name },
            channel,
            reason: null,
            comment,
            assurance: null,
            at: new Date().toISOString(),
          },
        };
      };
      if (h.view.status === 'pending') {
        if (h.scenario === 'approve-on-second-poll' && h.polls >= 2) {
          decide('approved', 'approve', 'Alice', 'web', 'ship it');
        } else if (h.scenario === 'deny') {
          decide('denied', 'deny', 'Bob', 'slack', 'not on a Friday\n\u001b[31mreally\u001b[0m');
        } else if (h.scenario === 'custom-option') {
          decide('approved', 'canary', 'Carol', 'telegram', null);
        } else if (h.scenario === 'expire') {
          h.view = { ...h.view, status: 'expired' };
        }
      }
      if (h.view.status === 'pending') {
        // Hold the long-poll for a short while (not the full wait) and answer still pending.
        const wait = Number(url.searchParams.get('wait') ?? '0');
        await new Promise((r) => setTimeout(r, Math.min(wait * 1000, 200)));
      }
      this.send(res, 200, h.view);
      return;
    }
    this.problem(res, 405, 'method_not_allowed', 'Method not allowed', `${req.method} ${url.pathname}`);
  }
}

const fake = new FakeOny();
let dir = '';

beforeAll(async () => {
  await fake.start();
  dir = await mkdtemp(join(tmpdir(), 'ony-request-'));
});
afterAll(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fake.requests.length = 0;
});

const run = (argv: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) =>
  runInMemory(['request', ...argv], {
    stdin: opts.stdin ?? '',
    env: opts.env ?? { ONY_URL: fake.url, ONY_TOKEN: TOKEN },
  });

function posts(): Recorded[] {
  return fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/handoffs');
}

const PUSH_DIFF = 'diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+hello\n';

describe('ony request', () => {
  it('creates a handoff with the payload from a file, options and headers, and prints it', async () => {
    const file = join(dir, 'push.diff');
    await writeFile(file, PUSH_DIFF);
    const r = await run([
      '--action',
      'git.push',
      '--title',
      'Push the release',
      '--summary',
      'v1.2.3 to main',
      '--target',
      'main',
      '--payload-file',
      file,
      '--option',
      'approve=Ship it',
      '--option=canary=Canary first',
      '--option',
      'deny=No',
      '--timeout',
      '900',
      '--callback-url',
      'https://agent.example.com/hook',
      '--idempotency-key',
      'push-123',
      '--environment',
      'production',
      '--branch',
      'main',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^handoff [0-9a-f-]{36} \(code K7Q2\) pending, risk high: protected_branch; expires \S+\n$/,
    );
    const [req] = posts();
    expect(req!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req!.headers['idempotency-key']).toBe('push-123');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req!.body)).toEqual({
      action: { type: 'git.push', target: 'main' },
      title: 'Push the release',
      summary: 'v1.2.3 to main',
      options: [
        { id: 'approve', label: 'Ship it' },
        { id: 'canary', label: 'Canary first' },
        { id: 'deny', label: 'No' },
      ],
      payload: { kind: 'diff', content: PUSH_DIFF },
      timeout_s: 900,
      callback_url: 'https://agent.example.com/hook',
      context: { environment: 'production', branch: 'main' },
    });
    // No wait: no polling.
    expect(fake.requests).toHaveLength(1);
  });

  it('reads the payload from stdin and defaults its kind from the action; --json prints the view', async () => {
    const r = await run(['--action', 'shell.exec', '--title', 'Clean', '--payload-file', '-', '--json'], {
      stdin: 'rm -rf build',
    });
    expect(r.code).toBe(0);
    const body = JSON.parse(posts()[0]!.body) as Record<string, unknown>;
    expect(body).toEqual({
      action: { type: 'shell.exec' },
      title: 'Clean',
      payload: { kind: 'command', content: 'rm -rf build' },
    });
    expect(posts()[0]!.headers['idempotency-key']).toBeUndefined();
    const view = JSON.parse(r.stdout) as Handoff;
    expect(view).toMatchObject({ status: 'pending', short_code: 'K7Q2', risk: { level: 'high' } });
  });

  it('--payload-kind overrides the default; db.* defaults to sql', async () => {
    const file = join(dir, 'q.sql');
    await writeFile(file, 'DELETE FROM users');
    await run(['--action', 'db.query', '--title', 'q', '--payload-file', file]);
    await run(['--action', 'db.query', '--title', 'q', '--payload-file', file, '--payload-kind', 'text']);
    expect(posts().map((p) => (JSON.parse(p.body) as { payload: { kind: string } }).payload.kind)).toEqual([
      'sql',
      'text',
    ]);
  });

  it('--wait: exits 0 when approved on the second long-poll (default wait: up to the expiry)', async () => {
    const r = await run(['--action', 'deploy', '--title', 'Deploy v42', '--target', 'prod', '--wait']);
    expect(r.stdout).toBe('approved by Alice via web: ship it\n');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/waiting for a decision/);
    const polls = fake.requests.filter((q) => q.method === 'GET');
    expect(polls).toHaveLength(2);
    // 600 s of expiry: each long-poll asks for the maximum.
    expect(polls.map((p) => p.query.get('wait'))).toEqual(['60', '60']);
    expect(polls[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(polls[0]!.path).toMatch(/^\/v1\/handoffs\/[0-9a-f-]{36}$/);
  });

  it('--wait: exits 1 when denied, with the comment on one line and its escape sequences shown', async () => {
    const r = await run(['--action', 'deploy', '--title', 'deny me', '--wait', '30']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('denied by Bob via slack: not on a Friday ⟨U+001B⟩[31mreally⟨U+001B⟩[0m\n');
    expect(fake.requests.find((q) => q.method === 'GET')!.query.get('wait')).toBe('30');
  });

  it('--wait: names a custom option', async () => {
    const r = await run([
      '--action',
      'deploy',
      '--title',
      'custom',
      '--option',
      'canary=Canary only',
      '--option',
      'deny=No',
      '--wait=20',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('approved with "canary" (Canary only) by Carol via telegram\n');
  });

  it('shows hidden characters in what it prints, never applies them; --json keeps the same value', async () => {
    const label = 'Canary \u202Eylno\u200B r\u043C';
    const argv = ['--action', 'deploy', '--title', 'custom \u202Egnp.exe', '--option', `canary=${label}`];
    const r = await run([...argv, '--option', 'deny=No', '--wait=20']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'approved with "canary" (Canary ⟨U+202E⟩ylno⟨U+200B⟩ r⟨U+043C⟩) by Carol via telegram\n',
    );
    const json = await run([...argv, '--json']);
    expect(json.stdout).not.toMatch(/[\u202E\u200B\u043C]/);
    expect(json.stdout).toContain('custom \\u202egnp.exe');
    const view = JSON.parse(json.stdout) as Handoff;
    expect(view.title).toBe('custom \u202Egnp.exe');
    expect(view.options[0]!.label).toBe(label);
  });

  it('infers the payload kind from the content: a diff only when it is one', async () => {
    const diff =
      'diff --git a/x.ts b/x.ts\nindex 1a2b3c4..5d6e7f8 100644\n--- a/x.ts\n+++ b/x.ts\n@@ -1 +1 @@\n-a\n+b\n';
    const plain = '--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n';
    const renamed =
      'diff --git a/old.md b/new.md\nsimilarity index 100%\nrename from old.md\nrename to new.md\n';
    const cases: [string, string, string][] = [
      ['git.push', 'release notes for v1.2\n- fixed a bug\n+ added a flag\n', 'text'],
      ['file.write', '{"port": 8080}\n', 'text'],
      ['file.delete', '/var/log/old.log\n', 'text'],
      ['file.write', diff, 'diff'],
      ['git.push', plain, 'diff'],
      ['git.push', renamed, 'diff'],
      ['shell.exec', diff, 'diff'],
      ['shell.exec', 'rm -rf build\n', 'command'],
      ['db.migrate', 'ALTER TABLE t ADD c int;\n', 'sql'],
      ['deploy', '--- not a diff\n+++ either\n', 'text'],
      ['deploy', 'diff --git a/x b/x\n+hello\n', 'text'],
    ];
    for (const [action, stdin, kind] of cases) {
      const before = posts().length;
      const r = await run(['--action', action, '--title', 't', '--payload-file', '-'], { stdin });
      expect(r.code, r.stderr).toBe(0);
      const body = JSON.parse(posts()[before]!.body) as { payload: { kind: string; content: string } };
      expect(body.payload, `${action}: ${JSON.stringify(stdin)}`).toEqual({ kind, content: stdin });
    }
  });

  it('--wait: exits 2 when expired, and prints the view with --json', async () => {
    const r = await run(['--action', 'payment', '--title', 'expire me', '--wait', '--json']);
    expect(r.code).toBe(2);
    expect((JSON.parse(r.stdout) as Handoff).status).toBe('expired');
    const text = await run(['--action', 'payment', '--title', 'expire me', '--wait']);
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(/^expired: nobody decided before \S+\n$/);
  });

  it('--wait <s>: exits 2 when still pending at the end of the wait', async () => {
    const started = Date.now();
    const r = await run(['--action', 'other', '--title', 'stall', '--wait', '1']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^still pending after \ds: handoff [0-9a-f-]{36} \(code K7Q2\)\n$/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fake.requests.filter((q) => q.method === 'GET').length).toBeGreaterThanOrEqual(1);
  });

  it('exits 3 with the problem detail on a 422 (idempotency key reused with another body)', async () => {
    const first = await run(['--action', 'deploy', '--title', 'A', '--idempotency-key', 'k-1']);
    expect(first.code).toBe(0);
    const replay = await run(['--action', 'deploy', '--title', 'A', '--idempotency-key', 'k-1']);
    expect(replay.code).toBe(0);
    expect(replay.stdout.split(' ')[1]).toBe(first.stdout.split(' ')[1]);
    const r = await run(['--action', 'deploy', '--title', 'B', '--idempotency-key', 'k-1', '--wait']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'ony request: this Idempotency-Key was used with a different body [HTTP 422 idempotency_key_reused]\n',
    );
  });

  it('exits 3 on a 401 without echoing the token', async () => {
    const r = await run(['--action', 'deploy', '--title', 'A'], {
      env: { ONY_URL: fake.url, ONY_TOKEN: 'ony_dev_wrong_secret' },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/the device token is unknown or revoked .*ONY_TOKEN.*\[HTTP 401 unauthorized\]/);
    expect(r.stderr).not.toContain('wrong_secret');
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer ony_dev_wrong_secret');
  });

  it('--server and --token override the environment', async () => {
    const r = await run(['--action', 'deploy', '--title', 'A', '--server', fake.url, '--token', TOKEN], {
      env: { ONY_URL: 'http://127.0.0.1:1', ONY_TOKEN: 'ony_dev_other' },
    });
    expect(r.code).toBe(0);
    expect(posts()[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('exits 3 when the server cannot be reached', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const r = await run(['--action', 'deploy', '--title', 'A'], {
      env: { ONY_URL: `http://127.0.0.1:${port}`, ONY_TOKEN: TOKEN },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `ony request: cannot reach ony at http://127.0.0.1:${port}: fetch failed (ECONNREFUSED)\n`,
    );
  });

  it.each([
    [[], /--action is required/],
    [['--action', 'launch', '--title', 'x'], /--action must be one of/],
    [['--action', 'deploy'], /--title is required/],
    [['--action', 'deploy', '--title', 'x', '--option', 'Bad=Label'], /the id must match/],
    [['--action', 'deploy', '--title', 'x', '--option', 'ok'], /expected id=Label/],
    [['--action', 'deploy', '--title', 'x', '--option', 'a=A', '--option', 'a=B'], /given twice/],
    [['--action', 'deploy', '--title', 'x', '--timeout', '-5'], /--timeout/],
    [['--action', 'deploy', '--title', 'x', '--wait', 'soon'], /unexpected argument "soon"/],
    [['--action', 'deploy', '--title', 'x', '--payload-kind', 'sql'], /needs --payload-file/],
    [['--action', 'deploy', '--title', 'x', '--payload-file', '/nonexistent/file'], /cannot read/],
    [['--action', 'deploy', '--title', 'x', '--nope'], /unknown option --nope/],
    [['--action', 'deploy', '--title', 'x'.repeat(201)], /longer than 200/],
  ])('exits 3 on bad usage %#', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(message);
    expect(posts()).toHaveLength(0);
  });

  it('exits 3 without a token, and refuses an oversized or non-UTF-8 payload', async () => {
    const noToken = await run(['--action', 'deploy', '--title', 'A'], { env: { ONY_URL: fake.url } });
    expect(noToken.code).toBe(3);
    expect(noToken.stderr).toMatch(/set ONY_TOKEN/);
    const big = join(dir, 'big.log');
    await writeFile(big, Buffer.alloc(1_048_577, 0x61));
    const tooBig = await run(['--action', 'other', '--title', 'A', '--payload-file', big]);
    expect(tooBig.code).toBe(3);
    expect(tooBig.stderr).toMatch(/larger than 1 MiB/);
    const bin = join(dir, 'bin');
    await writeFile(bin, Buffer.from([0xff, 0xfe, 0x41]));
    const binary = await run(['--action', 'other', '--title', 'A', '--payload-file', bin]);
    expect(binary.code).toBe(3);
    expect(binary.stderr).toMatch(/not valid UTF-8/);
    expect(posts()).toHaveLength(0);
  });

  it('is listed in the top-level help and has usage', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--action <type>/);
    expect(help.stdout).toMatch(/Prefer the environment/);
  });
});

describe('client', () => {
  const view = (status: Handoff['status']): Handoff => ({
    id: '00000000-0000-4000-8000-000000000001',
    short_code: 'AB12',
    status,
    action: { type: 'deploy', target: null },
    title: 't',
    summary_source: null,
    model_summary: null,
    summary: '',
    risk: { level: 'low', reasons: [] },
    options: [],
    approvals: { required: 1, received: 0 },
    totp_required: false,
    min_assurance: 'A1',
    decision: null,
    payload: { status: 'none', removed_at: null, note: null },
    expires_at: '2030-01-01T00:00:00.000Z',
    created_at: '2029-12-31T23:50:00.000Z',
    links: { self: '/v1/handoffs/x', events: '/v1/handoffs/x/events' },
  });
  const json = (status: number, body: unknown, type = 'application/json'): Response =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });

  it('parses problem+json into status, code and detail', () => {
    const err = parseProblem(
      400,
      'Bad Request',
      JSON.stringify({
        type: 'https://ony.dev/problems/validation',
        title: 'Invalid request',
        status: 400,
        detail: 'title: must be at most 200 characters',
        code: 'validation_failed',
        errors: [{ path: '/title' }],
      }),
    );
    expect(err).toBeInstanceOf(OnyApiError);
    expect(err.status).toBe(400);
    expect(err.code).toBe('validation_failed');
    expect(err.detail).toBe('title: must be at most 200 characters');
    expect(err.problem?.errors).toEqual([{ path: '/title' }]);
    expect(err.message).toBe('title: must be at most 200 characters (HTTP 400, validation_failed)');
  });

  it('falls back to the title, then the status, for problems without detail or code', () => {
    const titled = parseProblem(404, 'Not Found', JSON.stringify({ title: 'Not found', status: 404 }));
    expect([titled.code, titled.detail]).toEqual(['http_404', 'Not found']);
    const html = parseProblem(502, 'Bad Gateway', '<html>upstream down</html>');
    expect([html.code, html.detail, html.problem]).toEqual([
      'http_502',
      'Bad Gateway: <html>upstream down</html>',
      null,
    ]);
    const empty = parseProblem(503, '', '');
    expect(empty.detail).toBe('HTTP 503');
  });

  it('throws OnyApiError from a request, and OnyNetworkError for transport failures and non-API answers', async () => {
    const problem = createClient({
      baseUrl: 'http://ony.test/',
      token: TOKEN,
      fetch: async () =>
        json(
          422,
          { title: 'Conflict', status: 422, detail: 'key reused', code: 'idem' },
          'application/problem+json',
        ),
    });
    await expect(problem.createHandoff({ action: { type: 'other' }, title: 't' })).rejects.toMatchObject({
      name: 'OnyApiError',
      status: 422,
      code: 'idem',
      detail: 'key reused',
    });

    const refused = createClient({
      baseUrl: 'http://ony.test',
      token: TOKEN,
      fetch: async () => {
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
        });
      },
    });
    const err = await refused.getHandoff('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnyNetworkError);
    expect((err as Error).message).toBe('cannot reach ony at http://ony.test: fetch failed (ECONNREFUSED)');

    const notApi = createClient({
      baseUrl: 'http://ony.test',
      token: TOKEN,
      fetch: async () => new Response('<html>hi</html>', { status: 200 }),
    });
    await expect(notApi.getHandoff('x')).rejects.toThrow(/not JSON/);
    const notHandoff = createClient({
      baseUrl: 'http://ony.test',
      token: TOKEN,
      fetch: async () => json(200, { ok: 1 }),
    });
    await expect(notHandoff.getHandoff('x')).rejects.toThrow(/not a handoff/);
  });

  it('builds URLs under a path prefix and sends cancel without a body', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const fetch: FetchLike = async (url, init) => {
      calls.push({ url, init });
      return json(200, view('cancelled'));
    };
    const client = createClient({ baseUrl: 'https://example.com/ony/', token: TOKEN, fetch });
    await client.cancelHandoff('a/b');
    await client.getHandoff('id1', { waitSeconds: 500 });
    expect(calls.map((c) => `${c.init.method} ${c.url}`)).toEqual([
      'POST https://example.com/ony/v1/handoffs/a%2Fb/cancel',
      'GET https://example.com/ony/v1/handoffs/id1?wait=60',
    ]);
    expect(calls[0]!.init.body).toBeUndefined();
  });

  it('waitForDecision retries transient failures and stops at a terminal status', async () => {
    const answers = [
      json(503, { detail: 'restarting' }),
      json(200, view('pending')),
      json(200, view('denied')),
    ];
    const waits: string[] = [];
    const client = createClient({
      baseUrl: 'http://ony.test',
      token: TOKEN,
      fetch: async (url) => {
        waits.push(new URL(url).searchParams.get('wait') ?? '');
        await new Promise((r) => setTimeout(r, 10));
        return answers.shift()!;
      },
    });
    const final = await client.waitForDecision('id', { timeoutMs: 10_000 });
    expect(final.status).toBe('denied');
    expect(waits).toHaveLength(3);
    expect(waits.every((w) => Number(w) >= 1 && Number(w) <= 10)).toBe(true);
  });

  it('waitForDecision does not retry a 4xx, and honours the caller signal', async () => {
    const gone = createClient({
      baseUrl: 'http://ony.test',
      token: TOKEN,
      fetch: async () => json(404, { detail: 'no such handoff', code: 'not_found' }),
    });
    await expect(gone.waitForDecision('id', { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'not_found',
    });

    const controller = new AbortController();
    const hanging = createClient({
      baseUrl: 'http://ony.test',
      token: TOKEN,
      fetch: (_url, init) =>
        new Promise((_resolve, reject) =>
          init.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
        ),
    });
    const pending = hanging.waitForDecision('id', { timeoutMs: 60_000, signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
  });
});
