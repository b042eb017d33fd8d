/**
 * The list's keyset paging (issue #19 §5): `before=<id>` continues after that handoff, newest first,
 * with no duplicate or gap across pages; a foreign or unknown id gives an empty page, never another
 * org's rows; a malformed cursor is a 400.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createOrgWithAdmin, startTestServer, type Actor, type TestServer } from '../helpers/app.js';

let t: TestServer;
let a: Actor;
let b: Actor;
const created: string[] = [];
let foreign: string;

async function create(actor: Actor, n: number): Promise<string> {
  const token = (await as(t, actor, 'POST', '/v1/admin/devices', { name: `d${n}` })).json<{ token: string }>()
    .token;
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${token}` },
    payload: { action: { type: 'deploy', target: `svc-${n}` }, title: `deploy ${n}` },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

beforeAll(async () => {
  t = await startTestServer();
  a = await createOrgWithAdmin(t, 'pagea');
  b = await createOrgWithAdmin(t, 'pageb');
  for (let i = 0; i < 7; i++) {
    created.push(await create(a, i));
    // Two in the same millisecond too: the id breaks the tie.
    if (i % 3 !== 0) t.clock.advance(1000);
  }
  foreign = await create(b, 99);
});
afterAll(async () => t?.close());

const list = async (actor: Actor, query: string) => {
  const res = await as(t, actor, 'GET', `/v1/handoffs?${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ id: string }[]>().map((h) => h.id);
};

describe('GET /v1/handoffs keyset paging', () => {
  it('walks every handoff once, newest first, page by page', async () => {
    const all = await list(a, 'limit=100');
    expect(all).toHaveLength(7);
    expect(new Set(all)).toEqual(new Set(created));
    const walked: string[] = [];
    let page = await list(a, 'limit=3');
    while (page.length > 0) {
      walked.push(...page);
      page = await list(a, `limit=3&before=${page.at(-1)!}`);
    }
    expect(walked).toEqual(all);
    // Newest first: the last one created (a later clock) leads.
    expect(all[0]).toBe(created[6]);
  });

  it("gives an empty page for another org's id or an unknown one, never the other org's rows", async () => {
    expect(await list(a, `before=${foreign}`)).toEqual([]);
    expect(await list(a, `before=${randomUUID()}`)).toEqual([]);
    expect(await list(b, 'limit=100')).toEqual([foreign]);
  });

  it('refuses a malformed cursor with a 400 naming it', async () => {
    const res = await as(t, a, 'GET', '/v1/handoffs?before=not-a-uuid');
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('before');
  });
});
