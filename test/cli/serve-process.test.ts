/**
 * The server as an operator runs it: a real process (`ony serve`) on a real port, embedded mode in a
 * temp data dir. First-run token printed, setup over HTTP, data kept across a restart, and a clean
 * exit on SIGTERM.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PASSWORD } from '../helpers/app.js';
import { exited, freePort, startServe, waitFor } from '../helpers/server-process.js';

const root = new URL('../../', import.meta.url).pathname;

// The data dir comes from ONY_DATA_DIR.
const start = (dataDir: string, port: number) =>
  startServe(root, { ONY_PORT: String(port), ONY_DATA_DIR: dataDir, ONY_LOG_LEVEL: 'warn' });

let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ony serve as a process', () => {
  it('prints a setup token, serves, keeps data across restarts and stops cleanly on SIGTERM', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ony-serve-'));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const first = start(dir, port);
    await waitFor(first, async () => /ony_setup_[A-Za-z0-9_-]{43}/.test(first.output()));
    const token = /ony_setup_[A-Za-z0-9_-]{43}/.exec(first.output())![0];
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const setup = await fetch(`${base}/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        setup_token: token,
        org_name: 'Proc',
        email: 'p@proc.test',
        name: 'P',
        password: PASSWORD,
      }),
    });
    expect(setup.status).toBe(201);
    const bad = await fetch(`${base}/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"x":',
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/problem\+json/);

    const stopped = exited(first.child);
    first.child.kill('SIGTERM');
    expect(await stopped).toBe(0);
    expect(first.output()).not.toMatch(/error/i);

    // Restart on the same data: the org is still there, so no new setup token is printed.
    const second = start(dir, port);
    await waitFor(second, async () => (await fetch(`${base}/healthz`)).ok);
    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'p@proc.test', password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    expect(second.output()).not.toContain('ony_setup_');
    const stopped2 = exited(second.child);
    second.child.kill('SIGTERM');
    expect(await stopped2).toBe(0);
  }, 420_000);

  it('a replica whose start-up fails exits non-zero instead of living on without a listener', async () => {
    const failDir = await mkdtemp(join(tmpdir(), 'ony-serve-fail-'));
    // The port is taken: listen fails after the database, the job queue and the workers started.
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { child, output } = start(failDir, (taken.address() as { port: number }).port);
      expect(await exited(child)).toBe(1);
      expect(output()).toMatch(/ony: .*EADDRINUSE/);
    } finally {
      taken.close();
      await rm(failDir, { recursive: true, force: true });
    }
  }, 420_000);
});
