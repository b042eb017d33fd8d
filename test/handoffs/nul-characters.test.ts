/**
 * A NUL character (U+0000) in any string of a validated request body is a 400 problem naming the
 * field, not a 500 from the database, and nothing is stored or audited.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createOrgWithAdmin, startTestServer, type Actor, type TestServer } from '../helpers/app.js';

let t: TestServer;
let admin: Actor;
let token: string;

const count = async (table: string) =>
  (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(t.database.db))
    .rows[0]!.n;

const valid = () => ({
  action: { type: 'deploy', target: 'web-1', currency: 'EUR' },
  title: 'Deploy the release',
  summary: 'routine',
  options: [
    { id: 'approve', label: 'Ship it' },
    { id: 'deny', label: 'No' },
  ],
  payload: { kind: 'text', content: 'release notes' },
  context: { host: 'web-1', environment: 'staging' },
});

function create(body: unknown) {
  return t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${token}` },
    payload: body as Record<string, unknown>,
  });
}

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors: { path: string; message: string }[];
}

beforeAll(async () => {
  t = await startTestServer();
  admin = await createOrgWithAdmin(t, 'nul');
  token = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>()
    .token;
});
afterAll(async () => t?.close());

describe('a NUL character in a request body', () => {
  it.each([
    [
      'title',
      (b: ReturnType<typeof valid>) => ({ ...b, title: 'Deploy\u0000 the release' }),
      'body/title',
      'title',
    ],
    ['summary', (b: ReturnType<typeof valid>) => ({ ...b, summary: '\u0000' }), 'body/summary', 'summary'],
    [
      'payload.content',
      (b: ReturnType<typeof valid>) => ({ ...b, payload: { kind: 'text', content: 'a\u0000b' } }),
      'body/payload/content',
      'payload.content',
    ],
    [
      'context.host',
      (b: ReturnType<typeof valid>) => ({ ...b, context: { host: 'web\u0000-1' } }),
      'body/context/host',
      'context.host',
    ],
    [
      'action.target',
      (b: ReturnType<typeof valid>) => ({ ...b, action: { ...b.action, target: '\u0000' } }),
      'body/action/target',
      'action.target',
    ],
    [
      'an option label',
      (b: ReturnType<typeof valid>) => ({
        ...b,
        options: [
          { id: 'approve', label: 'Ship\u0000' },
          { id: 'deny', label: 'No' },
        ],
      }),
      'body/options/0/label',
      'options[0].label',
    ],
  ])('in %s is a 400 problem naming the field, and nothing is stored', async (_, mutate, path, name) => {
    const handoffs = await count('handoffs');
    const audit = await count('audit_events');
    const res = await create(mutate(valid()));
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json<Problem>();
    expect(problem).toMatchObject({
      status: 400,
      code: 'validation_failed',
      detail: `${name} must not contain a NUL character`,
      errors: [{ path, message: 'must not contain a NUL character' }],
    });
    expect(await count('handoffs')).toBe(handoffs);
    expect(await count('audit_events')).toBe(audit);
  });

  it('names every field that holds one, and the same body without them is created', async () => {
    const b = valid();
    const res = await create({
      ...b,
      title: 'a\u0000',
      summary: 'b\u0000',
      payload: { kind: 'text', content: '\u0000' },
      context: { host: '\u0000' },
    });
    expect(res.statusCode).toBe(400);
    const problem = res.json<Problem>();
    expect(problem.detail).toBe(
      'title, summary, payload.content and context.host must not contain a NUL character',
    );
    expect(problem.errors.map((e) => e.path)).toEqual([
      'body/title',
      'body/summary',
      'body/payload/content',
      'body/context/host',
    ]);
    expect((await create(b)).statusCode).toBe(201);
  });

  it('is refused on the other validated routes too (a device name)', async () => {
    const res = await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent\u0000' });
    expect(res.statusCode).toBe(400);
    expect(res.json<Problem>().errors).toEqual([
      { path: 'body/name', message: 'must not contain a NUL character' },
    ]);
  });
});
