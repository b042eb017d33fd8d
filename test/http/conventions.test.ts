import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAuth } from '../../src/http/plugins/auth.js';
import { registerErrorHandling } from '../../src/http/plugins/errors.js';
import { startTestServer, type TestServer } from '../helpers/app.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ ONY_RATE_LIMIT_PER_MINUTE: '40' });
});
afterAll(async () => t?.close());

describe('HTTP conventions', () => {
  it('health and readiness', async () => {
    expect((await t.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', database: t.database.kind });
  });

  it('serves OpenAPI 3.1 with a schema for every route, and the docs UI', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json<{
      openapi: string;
      paths: Record<string, Record<string, { responses?: Record<string, unknown>; summary?: string }>>;
    }>();
    expect(doc.openapi).toBe('3.1.0');
    for (const path of [
      '/v1/auth/login',
      '/v1/admin/members',
      '/v1/admin/devices',
      '/v1/agent/whoami',
      '/v1/setup',
      '/healthz',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.summary, `${method} ${path} has a summary`).toBeTruthy();
        expect(
          Object.keys(op.responses ?? {}).length,
          `${method} ${path} documents its answers`,
        ).toBeGreaterThan(0);
      }
    }
    const docs = await t.app.inject({ url: '/docs/' });
    expect([200, 302]).toContain(docs.statusCode);
  });

  it('errors are problem+json with a request id; unknown routes are 404 problems', async () => {
    const res = await t.app.inject({ url: '/v1/nope', headers: { 'x-request-id': 'req-12345678' } });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['x-request-id']).toBe('req-12345678');
    expect(res.json()).toMatchObject({
      type: 'https://ony.dev/problems/not_found',
      title: 'Not found',
      status: 404,
      code: 'not_found',
      instance: 'urn:ony:request:req-12345678',
    });
    // A hostile request id is not echoed; a fresh one is made.
    const evil = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': '<script>' } });
    expect(evil.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets strict security headers', async () => {
    const res = await t.app.inject({ url: '/healthz' });
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toBeDefined(); // the public URL is https
  });

  it('a route that declares no auth mode is unreachable (fails closed)', async () => {
    const bare = Fastify();
    registerErrorHandling(bare);
    const never = async (): Promise<never> => {
      throw new Error('must not be called');
    };
    registerAuth(bare, { auth: { resolveSession: never }, devices: { authenticate: never } });
    let reached = false;
    bare.get('/forgot-auth', async () => {
      reached = true;
      return { secret: true };
    });
    const res = await bare.inject({ url: '/forgot-auth' });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('secret');
    expect(reached).toBe(false);
    await bare.close();
  });

  it('rate-limits per client with a 429 problem', async () => {
    let last = 0;
    for (let i = 0; i < 45; i++) {
      last = (await t.app.inject({ url: '/v1/setup', remoteAddress: '10.9.9.9' })).statusCode;
      if (last === 429) break;
    }
    expect(last).toBe(429);
    const limited = await t.app.inject({ url: '/v1/setup', remoteAddress: '10.9.9.9' });
    expect(limited.json()).toMatchObject({ code: 'rate_limited', status: 429 });
    expect(limited.headers['retry-after']).toBeDefined();
    // Another client is unaffected.
    expect((await t.app.inject({ url: '/v1/setup', remoteAddress: '10.9.9.10' })).statusCode).toBe(200);
  });
});
