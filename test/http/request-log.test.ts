/**
 * One log line per request (issue #19 §4): method, route template, status and duration; never the
 * raw URL (ids, query strings), headers or bodies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.close());

describe('request logging', () => {
  it('writes one line per request with method, route, status and duration, nothing more', async () => {
    const id = '3f2b9c1e-1234-4abc-9def-0123456789ab';
    const res = await t.app.inject({
      url: `/v1/handoffs/${id}?wait=1&secret=hunter2`,
      headers: { authorization: 'Bearer ony_dev_not_a_real_token' },
    });
    expect(res.statusCode).toBe(401);
    const lines = t.logs.filter((l) => l.msg === 'request');
    const line = lines.find((l) => l.route === '/v1/handoffs/:id');
    expect(line).toMatchObject({ method: 'GET', route: '/v1/handoffs/:id', status: 401 });
    expect(typeof line?.ms).toBe('number');
    expect(typeof line?.reqId).toBe('string');
    const text = JSON.stringify(t.logs);
    expect(text).not.toContain(id);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('ony_dev_not_a_real_token');
    // Fastify's own two lines per request (whole req/res objects) are gone.
    expect(t.logs.some((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toBe(false);
  });

  it('names an unmatched route without echoing its path', async () => {
    // Under /v1 (other paths may be the dashboard's, which answers index.html).
    const res = await t.app.inject({ url: '/v1/no/such/place/+14155550123' });
    expect(res.statusCode).toBe(404);
    const line = t.logs.filter((l) => l.msg === 'request').at(-1);
    expect(line).toMatchObject({ method: 'GET', status: 404 });
    expect(JSON.stringify(t.logs)).not.toContain('4155550123');
  });
});
