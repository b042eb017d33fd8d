/**
 * Redis as the ephemeral store, when it is not there (issue #20 §4): at start one clear error that
 * names Redis and its address without the password, with no retry left running; at runtime, after
 * it answered once, a lost connection is retried until Redis is back, ping() (so /readyz) fails
 * meanwhile, and no 'error' event goes unhandled (ioredis would print "[ioredis] Unhandled error
 * event" with a stack). The outage is real: a TCP proxy in front of Redis that the test cuts.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRedisStore } from '../../src/state/store.js';
import { realRedisUrl } from '../helpers/db.js';
import { memoryLogger } from '../helpers/jobs.js';
import { startTcpProxy } from '../helpers/net.js';
import { startTestServer } from '../helpers/app.js';

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function until(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const consoleErrors = vi.spyOn(console, 'error');
afterEach(() => {
  // ioredis reports an 'error' event nobody listens to on console.error.
  expect(consoleErrors.mock.calls.flat().join(' ')).not.toMatch(/Unhandled error event/);
  consoleErrors.mockClear();
});

describe('Redis that cannot be reached at start', () => {
  it('fails at once with one line naming Redis and its address, never the password', async () => {
    const port = await closedPort();
    const err = await createRedisStore(`redis://:pw-${'s3cret'}@127.0.0.1:${port}/0`).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe(
      `cannot connect to Redis at redis://127.0.0.1:${port}/0 (REDIS_URL): connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(err?.message).not.toContain('s3cret');
  });
});

describe.skipIf(realRedisUrl === undefined)('Redis lost at runtime (real Redis only)', () => {
  it('the server reconnects by itself; /readyz answers 503 until Redis is back; the loss is logged once', async () => {
    const target = new URL(realRedisUrl!);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
    const url = new URL(realRedisUrl!);
    url.host = `127.0.0.1:${proxy.port}`;
    const { logger, lines } = memoryLogger();
    const store = await createRedisStore(
      url.toString(),
      `ony-test-${randomBytes(4).toString('hex')}:`,
      logger,
    );
    const t = await startTestServer({}, { store });
    const readyz = async () => {
      const res = await t.app.inject({ url: '/readyz' });
      return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
    };
    try {
      await store.set('k', 'v', 60_000);
      // A subscription too: its own connection goes down and comes back with the first.
      const woken: string[] = [];
      await store.subscribe('wake', (m) => woken.push(m));
      expect((await readyz()).status).toBe(200);

      await proxy.cut();
      await until(
        async () => (await readyz()).status === 503,
        '/readyz to answer 503 while Redis is cut off',
      );
      expect((await readyz()).body).toMatchObject({ code: 'not_ready', detail: 'Redis is not answering' });
      await until(async () => lines().length > 0, 'the loss to be logged');

      await proxy.restore();
      await until(async () => (await readyz()).status === 200, '/readyz to answer 200 once Redis is back');
      expect(await store.get('k')).toBe('v');
      // The subscription is back too (ioredis re-subscribes on reconnect).
      await until(async () => {
        await store.publish('wake', 'up');
        return woken.length > 0;
      }, 'a wake-up to arrive after the outage');
      const msgs = lines().map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(msgs.filter((m) => m === 'lost the connection to Redis; reconnecting')).toHaveLength(1);
      expect(msgs.filter((m) => m === 'reconnected to Redis')).toHaveLength(1);
    } finally {
      await t.close();
      await t.database.close();
      await proxy.close();
    }
  }, 120_000);
});
