/**
 * Tenant isolation through the API: every route that takes an id, called by org A's admin with each
 * of org B's ids, answers 404 (never 403: no existence oracle) and changes nothing in org B.
 * Routes are enumerated from the OpenAPI document, so a new route is covered (or this test fails).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/lib/crypto.js';
import { SoftAuthenticator, type CreationOptions } from '../helpers/webauthn.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

let t: TestServer;
let a: Actor;
let b: Actor;
const bIds: Record<string, string> = {};

/** Valid bodies for id routes that take one, so that validation passes and the id is what is tested. */
const SAMPLE_BODIES: Record<string, unknown> = {
  'PATCH /v1/admin/members/{id}': { role: 'viewer' },
  'PATCH /v1/admin/devices/{id}': { name: 'renamed' },
  'POST /v1/handoffs/{id}/decision': { decision: 'approve' },
  'POST /v1/handoffs/{id}/extend': { by_s: 600 },
  'PATCH /v1/me/passkeys/{id}': { name: 'renamed' },
  'POST /v1/handoffs/{id}/passkey-options': { decision: 'approve' },
};
let aDeviceToken: string;

async function snapshotOfOrg(orgId: string): Promise<string> {
  const parts: string[] = [];
  for (const table of [
    'orgs',
    'members',
    'sessions',
    'devices',
    'invites',
    'recovery_codes',
    'org_keys',
    'audit_heads',
    'audit_events',
    'audit_checkpoints',
    'channel_identities',
    'channel_messages',
    'passkeys',
    'passkey_challenges',
  ]) {
    const key = table === 'orgs' ? 'id' : 'org_id';
    const rows = await sql<
      Record<string, unknown>
    >`select * from ${sql.table(table)} where ${sql.ref(key)} = ${orgId} order by 1, 2`.execute(
      t.database.db,
    );
    parts.push(JSON.stringify(rows.rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  }
  return sha256Hex(parts.join('\n'));
}

beforeAll(async () => {
  t = await startTestServer();
  a = await createOrgWithAdmin(t, 'org-a');
  b = await createOrgWithAdmin(t, 'org-b');
  const bMember = await addMember(t, b, 'member@org-b.test', 'member');
  bIds.member = bMember.memberId;
  bIds.admin = b.memberId;
  bIds.device = (await as(t, b, 'POST', '/v1/admin/devices', { name: 'b-device' })).json<{
    device: { id: string };
  }>().device.id;
  bIds.invite = (
    await as(t, b, 'POST', '/v1/admin/invites', { email: 'new@org-b.test', role: 'viewer' })
  ).json<{
    invite: { id: string };
  }>().invite.id;
  bIds.session = (await as(t, bMember, 'GET', '/v1/me/sessions')).json<{ id: string }[]>()[0]!.id;
  const bDevice = (await as(t, b, 'POST', '/v1/admin/devices', { name: 'b-agent' })).json<{ token: string }>()
    .token;
  bIds.handoff = (
    await t.app.inject({
      method: 'POST',
      url: '/v1/handoffs',
      headers: { authorization: `Bearer ${bDevice}` },
      payload: { action: { type: 'deploy', target: 'staging' }, title: 'b asks' },
    })
  ).json<{ id: string }>().id;
  const code = (await as(t, bMember, 'POST', '/v1/me/channel-links/codes', { channel: 'telegram' })).json<{
    code: string;
  }>().code;
  await t.container.channelActions.linkWithCode('telegram', code, '4242', '@b');
  bIds.channelLink = (await as(t, bMember, 'GET', '/v1/me/channel-links')).json<{ id: string }[]>()[0]!.id;
  bIds.export = (await as(t, b, 'POST', '/v1/admin/exports')).json<{ id: string }>().id;
  // A passkey of org B's member (and its used registration challenge).
  const creation = (await as(t, bMember, 'POST', '/v1/me/passkeys/options')).json<CreationOptions>();
  bIds.passkey = (
    await as(t, bMember, 'POST', '/v1/me/passkeys', {
      name: 'b key',
      response: new SoftAuthenticator('https://ony.test').create(creation).response,
    })
  ).json<{ id: string }>().id;
  aDeviceToken = (await as(t, a, 'POST', '/v1/admin/devices', { name: 'a-agent' })).json<{ token: string }>()
    .token;
  // Let the background escalation step of B's handoff run first, so B's snapshot is stable.
  for (let i = 0; i < 100; i++) {
    const done = await sql<{
      n: number;
    }>`select count(*)::int as n from escalation_attempts where handoff_id = ${bIds.handoff}`.execute(
      t.database.db,
    );
    if (done.rows[0]!.n > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});
afterAll(async () => t?.close());

describe('cross-tenant access', () => {
  it("every id route answers 404 to org A's admin for each of org B's ids, and org B is unchanged", async () => {
    const before = await snapshotOfOrg(b.orgId);
    const doc = (await t.app.inject({ url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, { requestBody?: unknown; security?: Record<string, unknown>[] }>>;
    }>();
    const routes = Object.entries(doc.paths)
      .filter(([path]) => path.includes('{id}'))
      .flatMap(([path, ops]) =>
        Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
      );
    expect(routes.length).toBeGreaterThanOrEqual(8);
    let checked = 0;
    for (const { path, method, op } of routes) {
      const key = `${method} ${path}`;
      const body = SAMPLE_BODIES[key];
      if (op.requestBody !== undefined && body === undefined) throw new Error(`add a sample body for ${key}`);
      // Device routes are called with org A's device token, the others with org A's admin session.
      const asDevice = (op.security ?? []).some((s) => 'deviceToken' in s);
      for (const [kind, id] of Object.entries(bIds)) {
        const url = path.replace(/\{[A-Za-z]+\}/g, id);
        const res = asDevice
          ? await t.app.inject({
              method: method as 'POST',
              url,
              headers: { authorization: `Bearer ${aDeviceToken}` },
              ...(body !== undefined && { payload: body as Record<string, unknown> }),
            })
          : await as(t, a, method as 'GET', url, body);
        expect(res.statusCode, `${key} with org B's ${kind} id`).toBe(404);
        expect(res.json().code).toBe('not_found');
        // The route itself matched: this is the service's answer, not the unknown-route handler's.
        expect(res.json().detail).not.toMatch(/^no route/);
        checked++;
      }
    }
    expect(checked).toBe(routes.length * Object.keys(bIds).length);
    expect(await snapshotOfOrg(b.orgId)).toBe(before);
  });

  it("lists show only the caller's org", async () => {
    const members = (await as(t, a, 'GET', '/v1/admin/members')).json<{ id: string }[]>();
    expect(members.map((m) => m.id)).toEqual([a.memberId]);
    expect((await as(t, a, 'GET', '/v1/admin/devices')).json<unknown[]>().length).toBe(1); // its own a-agent
    expect((await as(t, a, 'GET', '/v1/handoffs')).json()).toEqual([]);
    expect((await as(t, a, 'GET', '/v1/admin/invites')).json()).toEqual([]);
  });

  it("org B's device token sees org B only", async () => {
    const { token } = (await as(t, b, 'POST', '/v1/admin/devices', { name: 'b-agent' })).json<{
      token: string;
    }>();
    const who = await t.app.inject({
      url: '/v1/agent/whoami',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(who.json().org_id).toBe(b.orgId);
  });
});
