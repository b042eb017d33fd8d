/**
 * The dashboard on the API server: hashed assets with a long cache, index.html never cached and
 * served for app paths (the SPA fallback), never for API, webhook or tool paths; the CSP stays strict.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSpaPath } from '../../src/http/web.js';
import { startTestServer, type TestServer } from '../helpers/app.js';

let t: TestServer;
let dir: string;
const INDEX =
  '<!doctype html><title>ony test build</title><script type="module" src="/assets/app-abc123.js"></script>';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ony-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'app-abc123.js'), 'console.log("hi")');
  t = await startTestServer({ ONY_WEB_DIR: dir });
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('dashboard serving', () => {
  it('serves index.html at / and at app paths, never cached, under the strict CSP', async () => {
    for (const url of [
      '/',
      '/sign-in',
      '/handoffs/3f1c0f7e-3a53-4c55-9d59-1a2b3c4d5e6f',
      '/admin/team',
      '/invite',
    ]) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toBe(INDEX);
      expect(res.headers['cache-control']).toBe('no-store');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
    }
  });

  it('serves hashed assets with a year of cache', async () => {
    const res = await t.app.inject({ url: '/assets/app-abc123.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('never falls back for API, webhook, tool or ops paths, nor for missing assets', async () => {
    for (const url of [
      '/v1/nope',
      '/v1/handoffs/x/y/z',
      '/webhooks/nope',
      '/mcp/x',
      '/link/abc',
      '/docs/nope',
      '/metrics',
      '/assets/missing.js',
    ]) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400); // 404, or the route's own answer (/link: 410)
      expect(res.body, url).not.toBe(INDEX);
      if (url !== '/link/abc')
        expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
    }
    // A write to an app path is not the app either.
    expect((await t.app.inject({ method: 'POST', url: '/sign-in' })).statusCode).toBe(404);
  });

  it('keeps the dashboard routes out of the OpenAPI document', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(doc.paths).filter((p) => !p.startsWith('/v1') && !p.startsWith('/'))).toEqual([]);
    expect(doc.paths['/*']).toBeUndefined();
    expect(doc.paths['/assets/app-abc123.js']).toBeUndefined();
  });

  it('isSpaPath tells app paths from server paths', () => {
    expect(isSpaPath('/history?status=pending')).toBe(true);
    expect(isSpaPath('/v1')).toBe(false);
    expect(isSpaPath('/healthz')).toBe(false);
    expect(isSpaPath('/openapi.json')).toBe(false);
    expect(isSpaPath('/v1x')).toBe(true);
  });
});

describe('without a built dashboard', () => {
  it('the API works and / says how to build it', async () => {
    const bare = await startTestServer({ ONY_WEB_DIR: join(dir, 'does-not-exist') });
    try {
      const res = await bare.app.inject({ url: '/' });
      expect(res.statusCode).toBe(404);
      expect(res.json<{ detail: string }>().detail).toMatch(/npm run build/);
      expect((await bare.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await bare.close();
    }
    // It starts a whole server of its own: generous on a busy 2-core machine.
  }, 120_000);
});
