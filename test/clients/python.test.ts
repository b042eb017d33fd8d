/**
 * Issue #21 §3: the Python client (clients/python, standard library only) against the real server on
 * a real port. The server, an org, an approver and a device are made here; then
 * `python3 -m unittest discover` runs the package's tests with the URL, token and webhook secret in
 * its environment. A Python test that needs a human prints `@@ony decide <id> <option> <comment>`;
 * this side reads the line as it comes and decides through the API, so every wait is on an event.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  as,
  confirmed,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

const PACKAGE_DIR = join(import.meta.dirname, '../../clients/python');
/** The Python tests that need the server; the run must include (and not skip) every one of them. */
const SERVER_TESTS = 8;

let t: TestServer;
let base: string;
let approver: Actor;
let device: { token: string; secret: string };

beforeAll(async () => {
  // The Python test's callback receiver listens on 127.0.0.3 (allow-listed, plain http allowed).
  t = await startTestServer({ ONY_CALLBACK_ALLOW_HOSTS: '127.0.0.3', ONY_CALLBACK_ALLOW_HTTP: 'true' });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const admin = await createOrgWithAdmin(t, 'python');
  approver = await addMember(t, admin, 'pia@python.test', 'member');
  // The approver here signs in with a password only: this file is about the client, not the
  // assurance minimum (test/handoffs/assurance.test.ts), so critical accepts A1.
  const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
    escalation_policy: { levels: { critical: { min_assurance: 'A1' } } },
  });
  expect(put.statusCode, put.body).toBe(200);
  const r = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'python-agent' })).json<{
    token: string;
    webhook_secret: string;
  }>();
  device = { token: r.token, secret: r.webhook_secret };
});
afterAll(async () => t?.close());

interface PythonRun {
  readonly code: number | null;
  readonly stderr: string;
  readonly decisions: string[];
  readonly decideErrors: string[];
}

/** Runs the package's unittest suite; answers `@@ony decide` lines as they are printed. */
function runPythonTests(env: Record<string, string>): Promise<PythonRun> {
  // Only what the tests need: no proxy variables from the machine, no inherited ONY_* settings.
  const childEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PYTHONUNBUFFERED: '1',
    ...env,
  };
  const child = spawn('python3', ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.', '-v'], {
    cwd: PACKAGE_DIR,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const decisions: string[] = [];
  const decideErrors: string[] = [];
  const pending: Promise<void>[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const m = /^@@ony decide (\S+) (\S+) ?(.*)$/.exec(line);
    if (m === null) return;
    const [, id, option, comment] = m as unknown as [string, string, string, string];
    decisions.push(`${option} ${id}`);
    pending.push(
      confirmed(t, approver, id, { decision: option, ...(comment !== '' ? { comment } : {}) })
        .then((body) => as(t, approver, 'POST', `/v1/handoffs/${id}/decision`, body))
        .then((res) => {
          if (res.statusCode !== 200) decideErrors.push(`${option} ${id}: ${res.statusCode} ${res.body}`);
        }),
    );
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      void Promise.all(pending).then(() => resolve({ code, stderr, decisions, decideErrors }));
    });
  });
}

describe('the Python client against the real server', () => {
  it('passes its unittest suite: create, wait, decorator, cancel, callbacks, retries, errors', async () => {
    const run = await runPythonTests({
      ONY_TEST_URL: base,
      ONY_TEST_TOKEN: device.token,
      ONY_TEST_WEBHOOK_SECRET: device.secret,
      ONY_TEST_CALLBACK_HOST: '127.0.0.3',
    });
    const summary = `python3 exited ${run.code}:\n${run.stderr}`;
    expect(run.decideErrors, summary).toEqual([]);
    expect(run.code, summary).toBe(0);
    expect(run.stderr, summary).toMatch(/\nOK\n?$/);
    expect(run.stderr, summary).not.toMatch(/skipped/);
    const ran = Number(/Ran (\d+) tests?/.exec(run.stderr)?.[1] ?? 0);
    expect(ran, summary).toBeGreaterThanOrEqual(SERVER_TESTS);
    expect((run.stderr.match(/\(tests\.test_server\.[^)]*\) \.\.\. ok/g) ?? []).length, summary).toBe(
      SERVER_TESTS,
    );
    // Approvals and a denial came from this side, on the Python tests' request.
    expect(run.decisions.filter((d) => d.startsWith('approve')).length).toBeGreaterThanOrEqual(4);
    expect(run.decisions.filter((d) => d.startsWith('deny')).length).toBe(1);
  }, 120_000);

  it('a bad token fails the suite loudly (the driver sees a failure, not a pass)', async () => {
    const run = await runPythonTests({
      ONY_TEST_URL: base,
      ONY_TEST_TOKEN: 'ony_dev_not_a_token',
      ONY_TEST_WEBHOOK_SECRET: device.secret,
      ONY_TEST_CALLBACK_HOST: '127.0.0.3',
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/OnyApiError: .*\(HTTP 401, /);
  }, 120_000);
});

describe('the curl-only script of docs/integrations.md', () => {
  /** The ```sh block after the marker in the docs: what a user copies is what runs here. */
  function scriptFromDocs(): string {
    const doc = readFileSync(join(import.meta.dirname, '../../docs/integrations.md'), 'utf8');
    const m = /<!-- ask-ony\.sh: run by test\/clients\/python\.test\.ts -->\n+```sh\n([\s\S]*?)\n```/.exec(
      doc,
    );
    if (m === null) throw new Error('the ask-ony.sh block is missing from docs/integrations.md');
    return m[1]!;
  }

  /** Runs the script; decides with `option` as soon as it says what it waits for. */
  async function ask(option: 'approve' | 'deny', env: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'ony-sh-'));
    writeFileSync(join(dir, 'ask-ony.sh'), scriptFromDocs(), { mode: 0o755 });
    writeFileSync(
      join(dir, 'cleanup.sql'),
      "DELETE FROM sessions WHERE created_at < now() - interval '90 days';\n",
    );
    const child = spawn('sh', ['ask-ony.sh', 'db.query', 'Purge old sessions', 'cleanup.sql', 'sql'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ONY_URL: base, ONY_TOKEN: device.token, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let id: string | undefined;
    const decided: Promise<unknown>[] = [];
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr += `${line}\n`;
      const m = /^ask-ony: waiting for approval of \S+ \((\S+)\)$/.exec(line);
      if (m !== null) {
        id = m[1]!;
        decided.push(
          confirmed(t, approver, id, { decision: option }).then((body) =>
            as(t, approver, 'POST', `/v1/handoffs/${id}/decision`, body),
          ),
        );
      }
    });
    const [code] = (await once(child, 'close')) as [number | null];
    await Promise.all(decided);
    rmSync(dir, { recursive: true, force: true });
    return { code, stderr, id };
  }

  it('exits 0 once approved, 1 once denied; the handoff carries the payload as SQL', async () => {
    const approved = await ask('approve');
    expect(approved, approved.stderr).toMatchObject({ code: 0 });
    expect(approved.stderr).toMatch(/^approved by pia via /m);
    const view = (await as(t, approver, 'GET', `/v1/handoffs/${approved.id}`)).json<{
      action: { type: string };
      status: string;
    }>();
    expect(view).toMatchObject({ action: { type: 'db.query' }, status: 'approved' });

    const denied = await ask('deny');
    expect(denied, denied.stderr).toMatchObject({ code: 1 });
    expect(denied.stderr).toMatch(/^denied by pia via /m);
  }, 60_000);

  it("a bad token exits 3 with the server's reason", async () => {
    const run = await ask('approve', { ONY_TOKEN: 'ony_dev_not_a_token' });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^ask-ony: cannot ask \(401\): .*"code":"unauthenticated"/m);
    expect(run.id).toBeUndefined();
  });
});
