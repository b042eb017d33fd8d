/**
 * Issue #20 §4 "Validation messages", through the real app: an unknown field is named, an enum
 * lists its allowed values once, a 413 states the limit, and a text/plain body is a 415 like a
 * body without a content type. Each refusal stores nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_TYPES } from '../../src/core/risk/index.js';
import { as, createOrgWithAdmin, startTestServer, type Actor, type TestServer } from '../helpers/app.js';

const LIMIT = 65_536;
let t: TestServer;
let admin: Actor;
let token: string;

beforeAll(async () => {
  t = await startTestServer({ ONY_BODY_LIMIT_BYTES: String(LIMIT) });
  admin = await createOrgWithAdmin(t, 'validation');
  token = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>()
    .token;
});
afterAll(async () => t?.close());

const VALID = {
  action: { type: 'shell.exec' },
  title: 'list files',
  payload: { kind: 'command', content: 'ls' },
};

function create(payload: string, contentType?: string) {
  return t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    payload,
    headers: {
      authorization: `Bearer ${token}`,
      ...(contentType !== undefined && { 'content-type': contentType }),
    },
  });
}

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
  limit_bytes?: number;
}

async function handoffCount(): Promise<number> {
  return (await as(t, admin, 'GET', '/v1/handoffs')).json<unknown[]>().length;
}

describe('validation messages', () => {
  it('an unknown field is named, at the top and nested; nothing is created', async () => {
    const top = await create(JSON.stringify({ ...VALID, risk_claim: 'low' }), 'application/json');
    expect(top.statusCode).toBe(400);
    expect(top.json<Problem>()).toMatchObject({
      code: 'validation_failed',
      detail: 'body/risk_claim is not a known field',
      errors: [{ path: 'body/risk_claim', message: 'is not a known field' }],
    });
    const nested = await create(
      JSON.stringify({ ...VALID, action: { type: 'shell.exec', tagret: 'web-1' } }),
      'application/json',
    );
    expect(nested.json<Problem>().detail).toBe('body/action/tagret is not a known field');
    expect(await handoffCount()).toBe(0);
  });

  it('an enum lists its allowed values once, instead of "must be equal to constant" per value', async () => {
    const r = await create(JSON.stringify({ ...VALID, action: { type: 'shell' } }), 'application/json');
    expect(r.statusCode).toBe(400);
    const p = r.json<Problem>();
    const allowed = ACTION_TYPES.map((a) => `"${a}"`).join(', ');
    expect(p.detail).toBe(`body/action/type must be one of: ${allowed}`);
    expect(p.errors).toEqual([{ path: 'body/action/type', message: `must be one of: ${allowed}` }]);
    expect(r.body).not.toMatch(/equal to constant|anyOf/);
    expect(await handoffCount()).toBe(0);
  });

  it('a 413 states the limit', async () => {
    const big = JSON.stringify({ ...VALID, summary: 'x'.repeat(LIMIT) });
    const r = await create(big, 'application/json');
    expect(r.statusCode).toBe(413);
    expect(r.json<Problem>()).toMatchObject({
      code: 'payload_too_large',
      detail: 'request body exceeds the limit of 65,536 bytes',
      limit_bytes: LIMIT,
    });
    expect(await handoffCount()).toBe(0);
  });

  it("a route with its own, smaller limit states that one (the chat link's confirmation form)", async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/link/some-token',
      payload: `csrf=${'x'.repeat(5000)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(r.statusCode).toBe(413);
    expect(r.json<Problem>()).toMatchObject({
      detail: 'request body exceeds the limit of 4,096 bytes',
      limit_bytes: 4096,
    });
  });

  it('a text/plain body is a 415, like a body without a content type', async () => {
    const plain = await create(JSON.stringify(VALID), 'text/plain');
    const none = await create(JSON.stringify(VALID));
    expect(plain.statusCode).toBe(415);
    expect(none.statusCode).toBe(415);
    expect(plain.json<Problem>()).toMatchObject({
      code: 'unsupported_media_type',
      detail: 'send application/json',
    });
    expect(plain.json<Problem>().detail).toBe(none.json<Problem>().detail);
    expect(await handoffCount()).toBe(0);
    // The same body as JSON is accepted: the refusals above were about the media type alone.
    expect((await create(JSON.stringify(VALID), 'application/json')).statusCode).toBe(201);
  });
});
