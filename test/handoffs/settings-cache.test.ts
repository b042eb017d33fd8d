/**
 * A replica keeps each org's settings in memory, at the version device authentication reads
 * (migration 0032): a change made through another replica applies to the very next create here,
 * with no message between them. Two replicas over one database (and, in real mode, one Redis).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOrgWithAdmin,
  startReplica,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { deviceTokenOf } from '../helpers/chat.js';

let a: TestServer;
let b: Awaited<ReturnType<typeof startReplica>>;
let admin: Actor;
let token: string;

/** A write as the admin through replica B. */
const throughB = (method: 'PUT', url: string, payload: Record<string, unknown>) =>
  b.app.inject({ method, url, headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf }, payload });

/** A create through replica A (a high-risk deploy, with a payload). */
async function createOnA(title: string, key?: string) {
  const res = await a.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${token}`, ...(key !== undefined && { 'idempotency-key': key }) },
    payload: {
      action: { type: 'deploy', target: 'production' },
      title,
      payload: { kind: 'log', content: 'release notes' },
    },
  });
  return res;
}

const setRule = (rule: 'approve' | 'deny') =>
  throughB('PUT', '/v1/admin/policies', {
    escalation_policy: {
      levels: { high: { rule, steps: [{ after_s: 300, channel: 'console', targets: 'all' }] } },
    },
  });

const payloadStored = async (id: string) =>
  (
    await sql<{
      n: number;
    }>`select count(*)::int as n from handoff_payloads where handoff_id = ${id}`.execute(a.database.db)
  ).rows[0]!.n === 1;

beforeAll(async () => {
  a = await startTestServer();
  b = await startReplica(a);
  admin = await createOrgWithAdmin(a, 'cache');
  token = await deviceTokenOf(a, admin);
}, 120_000);

afterAll(async () => {
  await b?.close();
  await a?.close();
});

describe('org settings cached per replica', () => {
  it('a policy changed through B decides the very next create on A, each time it changes', async () => {
    const set = await setRule('approve');
    expect(set.statusCode, set.body).toBe(200);
    for (const [i, rule, status] of [
      [1, 'approve', 'pending'],
      [2, 'deny', 'denied'],
      [3, 'approve', 'pending'],
    ] as const) {
      if (i > 1) expect((await setRule(rule)).statusCode).toBe(200);
      // Twice per version: the second create is served from A's copy, and must agree.
      for (const n of [1, 2]) {
        const res = await createOnA(`deploy ${i}.${n}`);
        expect(res.statusCode, res.body).toBe(201);
        expect(res.json<{ status: string }>().status).toBe(status);
      }
    }
  });

  it('a retention window changed through B applies to the next create on A', async () => {
    const set = await setRule('approve');
    expect(set.statusCode, set.body).toBe(200);
    const kept = (await createOnA('kept')).json<{ id: string }>().id;
    expect(await payloadStored(kept)).toBe(true);
    const put = await throughB('PUT', '/v1/admin/retention', { payload_retention_days: 0 });
    expect(put.statusCode, put.body).toBe(200);
    const dropped = (await createOnA('not kept')).json<{ id: string }>().id;
    expect(await payloadStored(dropped)).toBe(false);
  });

  it('a replay answers the first handoff, and a changed body under the same key changes nothing', async () => {
    const first = await createOnA('keyed', 'key-1');
    expect(first.statusCode, first.body).toBe(201);
    // Settings unchanged: A's copy is current, so the replay is found inside the write transaction.
    const again = await createOnA('keyed', 'key-1');
    expect(again.json<{ id: string }>().id).toBe(first.json<{ id: string }>().id);
    const count = async () =>
      (await sql<{ n: number }>`select count(*)::int as n from handoffs`.execute(a.database.db)).rows[0]!.n;
    const before = await count();
    const other = await createOnA('a different body', 'key-1');
    expect(other.statusCode, other.body).toBe(422);
    expect(await count()).toBe(before);
  });

  it("each org's copy is its own: two orgs at the same version with opposite rules, in turn on one replica", async () => {
    // Two new orgs, one policy write each: both at settings version 1, so only the org tells the
    // copies apart.
    const orgWith = async (name: string, rule: 'approve' | 'deny') => {
      const admin = await createOrgWithAdmin(a, name);
      const put = await a.app.inject({
        method: 'PUT',
        url: '/v1/admin/policies',
        headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf },
        payload: {
          escalation_policy: {
            levels: { high: { rule, steps: [{ after_s: 300, channel: 'console', targets: 'all' }] } },
          },
        },
      });
      expect(put.statusCode, put.body).toBe(200);
      return deviceTokenOf(a, admin);
    };
    const approving = await orgWith('cache-approve', 'approve');
    const denying = await orgWith('cache-deny', 'deny');
    const createIn = (bearer: string, title: string) =>
      a.app.inject({
        method: 'POST',
        url: '/v1/handoffs',
        headers: { authorization: `Bearer ${bearer}` },
        payload: { action: { type: 'deploy', target: 'production' }, title },
      });
    for (const n of [1, 2, 3]) {
      expect((await createIn(approving, `ours ${n}`)).json<{ status: string }>().status).toBe('pending');
      expect((await createIn(denying, `theirs ${n}`)).json<{ status: string }>().status).toBe('denied');
    }
  });
});
