/**
 * Risk analysis off the event loop, through the real server: while 1 MiB handoffs are being
 * analysed on the pool's threads, the process still answers other requests; and an analysis over its
 * budget makes the handoff at least high with analysis_incomplete (never low).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RiskInput } from '../../src/core/risk/index.js';
import { as, createOrgWithAdmin, startTestServer, type TestServer } from '../helpers/app.js';

/** 1 MiB of an ordinary shell script: the engine needs about half a second for it. */
const MIB_SCRIPT = 'ls -la && echo "$(date)" | tee -a log.txt; rm -f tmp/$i.json\n'
  .repeat(16_384)
  .slice(0, 1 << 20);
const big = (title: string) => ({
  action: { type: 'shell.exec', target: 'build-runner' },
  title,
  summary: 'tidies the build cache',
  payload: { kind: 'command', content: MIB_SCRIPT },
});

async function deviceToken(t: TestServer, slug: string): Promise<string> {
  const admin = await createOrgWithAdmin(t, slug);
  const res = await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' });
  return res.json<{ token: string }>().token;
}

const create = (t: TestServer, token: string, body: unknown) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${token}` },
    payload: body as Record<string, unknown>,
  });

describe('with the default budget', () => {
  let t: TestServer;
  let token: string;
  beforeAll(async () => {
    t = await startTestServer();
    token = await deviceToken(t, 'pool');
  });
  afterAll(async () => t?.close());

  it('answers /healthz while several 1 MiB creates are being analysed', async () => {
    // Count the analyses under way: the service calls the container's analyser for each create.
    const analyser = t.container.risk;
    const assess = analyser.assess.bind(analyser);
    let started = 0;
    let running = 0;
    let allStarted!: () => void;
    const allStartedP = new Promise<void>((r) => (allStarted = r));
    analyser.assess = async (input: RiskInput, policy) => {
      running++;
      if (++started === 4) allStarted();
      try {
        return await assess(input, policy);
      } finally {
        running--;
      }
    };
    try {
      const creates = [1, 2, 3, 4].map((i) => create(t, token, big(`tidy ${i}`)));
      await allStartedP;
      const health = await t.app.inject({ method: 'GET', url: '/healthz' });
      const runningWhenAnswered = running;
      expect(health.statusCode).toBe(200);
      // Analysed in place, no analysis could be under way whenever the event loop is free to answer.
      expect(runningWhenAnswered).toBeGreaterThan(0);
      for (const res of await Promise.all(creates)) expect(res.statusCode, res.body).toBe(201);
    } finally {
      analyser.assess = assess;
    }
  }, 120_000);
});

describe('over the budget', () => {
  let t: TestServer;
  let token: string;
  beforeAll(async () => {
    t = await startTestServer({ ONY_RISK_TIMEOUT_MS: '1' });
    token = await deviceToken(t, 'tight');
  });
  afterAll(async () => t?.close());

  it('a 1 MiB payload the pool could not analyse in time is high with analysis_incomplete, and asks a human', async () => {
    const res = await create(t, token, big('tidy'));
    expect(res.statusCode, res.body).toBe(201);
    const h = res.json<{ status: string; risk: { level: string; reasons: string[] } }>();
    expect(h.risk).toEqual({ level: 'high', reasons: ['analysis_incomplete'] });
    expect(h.status).toBe('pending');
    expect(t.logs).toContainEqual(expect.objectContaining({ cause: 'timeout', level: 40 }));
    // Without a payload nothing goes to a thread: the engine answers in place.
    const bare = await create(t, token, {
      action: { type: 'deploy', target: 'staging' },
      title: 'ship',
      summary: '',
    });
    expect(bare.json<{ risk: { reasons: string[] } }>().risk.reasons).toEqual(['deploy']);
  });
});
