/**
 * Web Push end to end (issue #22 §2, docs/notifications.md), against a fake push service that checks
 * the VAPID JWT and decrypts the aes128gcm body with `http_ece` (test/fakes/webpush.ts): subscribing
 * and its bad inputs, a high handoff pushes only the gist, a low one and a medium one do not, each
 * member's levels are respected, a 410 removes the subscription, deactivation removes them.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakePushService, type FakePushService, type FakeSubscription } from '../fakes/webpush.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { waitFor } from '../helpers/jobs.js';

let t: TestServer;
let fake: FakePushService;
let admin: Actor;
let alice: Actor;
let bob: Actor;
let viewer: Actor;
let deviceToken: string;
let vapidKey: string;

const MARKER = `PAYLOADMARK${randomBytes(6).toString('hex')}`;

const HIGH = { action: { type: 'deploy', target: 'production' }, title: 'Deploy web to production' };
const CRITICAL = {
  action: { type: 'shell.exec' },
  title: 'Delete the web pod',
  payload: { kind: 'command', content: `kubectl delete pod web-1 -n prod # ${MARKER}` },
};
const LOW = { action: { type: 'other' }, title: 'Say hello' };

async function create(body: Record<string, unknown>) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${deviceToken}` },
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; short_code: string; risk: { level: string } }>();
}

async function subscribe(actor: Actor): Promise<FakeSubscription> {
  const sub = fake.subscribe(vapidKey);
  const res = await as(t, actor, 'POST', '/v1/me/push-subscriptions', sub.json);
  expect(res.statusCode, res.body).toBe(201);
  return sub;
}

const pushJobDone = (handoffId: string) =>
  waitFor(
    () => t.logs.some((l) => l.msg === 'web push delivered' && l.handoff_id === handoffId),
    'the push job',
  );

const pushJobsOf = async (handoffId: string) =>
  Number(
    (
      await sql<{
        n: string;
      }>`select count(*) as n from pgboss.job where name = 'handoff-push' and data->>'handoff_id' = ${handoffId}`.execute(
        t.database.db,
      )
    ).rows[0]!.n,
  );

const subscriptionCount = async () =>
  Number(
    (await sql<{ n: string }>`select count(*) as n from push_subscriptions`.execute(t.database.db)).rows[0]!
      .n,
  );

beforeAll(async () => {
  fake = await startFakePushService();
  t = await startTestServer({ ONY_WEB_PUSH: 'true', ONY_PUSH_ALLOW_HOSTS: fake.host });
  admin = await createOrgWithAdmin(t, 'pushorg');
  alice = await addMember(t, admin, 'alice@pushorg.test', 'member');
  bob = await addMember(t, admin, 'bob@pushorg.test', 'member');
  viewer = await addMember(t, admin, 'vera@pushorg.test', 'viewer');
  deviceToken = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>()
    .token;
  const settings = await as(t, alice, 'GET', '/v1/me/notifications');
  expect(settings.statusCode, settings.body).toBe(200);
  vapidKey = settings.json<{ vapid_public_key: string }>().vapid_public_key;
}, 180_000);

afterAll(async () => {
  await t?.close();
  await fake?.close();
});

describe('notification settings', () => {
  it('default to high and critical, with a P-256 VAPID key; viewers have none', async () => {
    const res = await as(t, bob, 'GET', '/v1/me/notifications');
    expect(res.json()).toEqual({
      levels: ['high', 'critical'],
      web_push: true,
      vapid_public_key: vapidKey,
      subscriptions: 0,
    });
    expect(Buffer.from(vapidKey, 'base64url')).toHaveLength(65);
    expect((await as(t, viewer, 'GET', '/v1/me/notifications')).statusCode).toBe(403);
  });

  it('refuses a level that does not notify, and changes nothing', async () => {
    for (const levels of [['low'], ['high', 'medium'], ['HIGH']]) {
      const res = await as(t, bob, 'PUT', '/v1/me/notifications', { levels });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    expect((await as(t, bob, 'PUT', '/v1/me/notifications', { levels: 'high' })).statusCode).toBe(400);
    expect((await as(t, bob, 'GET', '/v1/me/notifications')).json<{ levels: string[] }>().levels).toEqual([
      'high',
      'critical',
    ]);
  });
});

describe('subscribing', () => {
  it('refuses bad subscriptions with a problem and stores nothing', async () => {
    const good = fake.subscribe(vapidKey).json;
    const bad: [string, unknown][] = [
      ['missing keys', { endpoint: good.endpoint }],
      ['missing auth', { endpoint: good.endpoint, keys: { p256dh: good.keys.p256dh } }],
      ['short p256dh', { ...good, keys: { ...good.keys, p256dh: 'BAAA' } }],
      ['long auth', { ...good, keys: { ...good.keys, auth: Buffer.alloc(32, 1).toString('base64url') } }],
      ['not https', { ...good, endpoint: 'http://push.example.com/x' }],
      ['private address', { ...good, endpoint: 'https://10.1.2.3/push/x' }],
      ['loopback, not allow-listed', { ...good, endpoint: 'https://localhost/push/x' }],
      ['metadata address', { ...good, endpoint: 'https://169.254.169.254/latest' }],
      ['credentials', { ...good, endpoint: 'https://u:p@push.example.com/x' }],
      ['not a URL', { ...good, endpoint: 'push service' }],
      ['extra field', { ...good, payload: 'x' }],
    ];
    const before = await subscriptionCount();
    for (const [what, body] of bad) {
      const res = await as(t, alice, 'POST', '/v1/me/push-subscriptions', body);
      expect(res.statusCode, `${what}: ${res.body}`).toBe(400);
      expect(res.headers['content-type'], what).toContain('application/problem+json');
    }
    expect(await subscriptionCount()).toBe(before);
    expect((await as(t, viewer, 'POST', '/v1/me/push-subscriptions', good)).statusCode).toBe(403);
  });

  it('stores the keys encrypted, and the same endpoint again replaces the row', async () => {
    const sub = await subscribe(bob);
    const again = await as(t, bob, 'POST', '/v1/me/push-subscriptions', sub.json);
    expect(again.statusCode).toBe(201);
    const rows = (
      await sql<{
        endpoint: string;
        keys_enc: Buffer;
      }>`select endpoint, keys_enc from push_subscriptions where endpoint = ${sub.json.endpoint}`.execute(
        t.database.db,
      )
    ).rows;
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0]!.keys_enc).toString('latin1')).not.toContain(sub.json.keys.auth);
    const del = await as(t, bob, 'DELETE', '/v1/me/push-subscriptions', { endpoint: sub.json.endpoint });
    expect(del.statusCode).toBe(204);
    expect(
      (await as(t, bob, 'GET', '/v1/me/notifications')).json<{ subscriptions: number }>().subscriptions,
    ).toBe(0);
  });
});

describe('pushing new handoffs', () => {
  let aliceSub: FakeSubscription;
  let bobSub: FakeSubscription;

  beforeAll(async () => {
    aliceSub = await subscribe(alice);
    bobSub = await subscribe(bob);
    // Bob wants only critical handoffs.
    const put = await as(t, bob, 'PUT', '/v1/me/notifications', { levels: ['critical'] });
    expect(put.json<{ levels: string[] }>().levels).toEqual(['critical']);
  });

  it('a high handoff pushes the gist only, signed (VAPID) and encrypted (aes128gcm), to who chose high', async () => {
    const h = await create(HIGH);
    expect(h.risk.level).toBe('high');
    const push = await fake.next((p) => p.subscriptionId === aliceSub.id && p.message?.handoff_id === h.id);
    expect(push.status).toBe(201);
    expect(push.claims!.aud).toBe(fake.origin);
    expect(push.claims!.sub).toBe('https://ony.test');
    expect(push.message).toEqual({
      v: 1,
      handoff_id: h.id,
      short_code: h.short_code,
      action_type: 'deploy',
      risk_level: 'high',
      title: 'Deploy web to production',
      path: `/handoffs/${h.id}`,
    });
    await pushJobDone(h.id);
    expect(fake.received.some((p) => p.subscriptionId === bobSub.id && p.message?.handoff_id === h.id)).toBe(
      false,
    );
  });

  it('a critical handoff reaches both, and never carries the payload or the command', async () => {
    const h = await create(CRITICAL);
    expect(h.risk.level).toBe('critical');
    for (const sub of [aliceSub, bobSub]) {
      const push = await fake.next((p) => p.subscriptionId === sub.id && p.message?.handoff_id === h.id);
      const text = JSON.stringify(push.message);
      expect(text).not.toContain(MARKER);
      expect(text).not.toContain('kubectl');
      // Only the fields the adapter declares (core/push/notification.ts).
      expect(Object.keys(push.message!).sort()).toEqual(
        ['action_type', 'handoff_id', 'path', 'risk_level', 'short_code', 'title', 'v'].sort(),
      );
    }
    expect(t.container.push).toBeDefined();
    const adapterFields = ['handoffId', 'shortCode', 'actionType', 'riskLevel', 'title', 'link'];
    const { createPushChannel } = await import('../../src/channels/push/adapter.js');
    expect(
      createPushChannel({ vapid: { subject: 'mailto:a@b.c', publicKey: '', privateKey: '' }, allowHosts: [] })
        .transmits,
    ).toEqual(adapterFields);
  });

  it('a low handoff enqueues no push at all', async () => {
    const h = await create(LOW);
    expect(h.risk.level).toBe('low');
    expect(await pushJobsOf(h.id)).toBe(0);
    const high = await create(HIGH);
    expect(await pushJobsOf(high.id)).toBe(1);
    await pushJobDone(high.id);
  });

  it('a member who chose no level gets nothing', async () => {
    await as(t, alice, 'PUT', '/v1/me/notifications', { levels: [] });
    const h = await create(CRITICAL);
    await fake.next((p) => p.subscriptionId === bobSub.id && p.message?.handoff_id === h.id);
    await pushJobDone(h.id);
    expect(
      fake.received.some((p) => p.subscriptionId === aliceSub.id && p.message?.handoff_id === h.id),
    ).toBe(false);
    await as(t, alice, 'PUT', '/v1/me/notifications', { levels: ['high', 'critical'] });
  });

  it('a subscription the push service answers 410 for is deleted', async () => {
    fake.markGone(aliceSub.id);
    const h = await create(HIGH);
    await fake.next((p) => p.subscriptionId === aliceSub.id && p.status === 410);
    await pushJobDone(h.id);
    const left = await sql<{
      n: string;
    }>`select count(*) as n from push_subscriptions where endpoint = ${aliceSub.json.endpoint}`.execute(
      t.database.db,
    );
    expect(Number(left.rows[0]!.n)).toBe(0);
  });

  it('is off unless the operator turns it on: a subscription is refused with advice, nothing stored', async () => {
    const off = await startTestServer({ ONY_PUSH_ALLOW_HOSTS: fake.host });
    try {
      const someone = await createOrgWithAdmin(off, 'push-off');
      const settings = await as(off, someone, 'GET', '/v1/me/notifications');
      expect(settings.json()).toMatchObject({ web_push: false });
      const res = await as(off, someone, 'POST', '/v1/me/push-subscriptions', fake.subscribe(vapidKey).json);
      expect(res.statusCode).toBe(409);
      expect(res.json<{ detail: string }>().detail).toMatch(/ONY_WEB_PUSH=true/);
      expect((await as(off, someone, 'GET', '/v1/me/notifications')).json()).toMatchObject({
        subscriptions: 0,
      });
      // Nor does a high handoff enqueue a push job.
      const device = (await as(off, someone, 'POST', '/v1/admin/devices', { name: 'no-push' })).json<{
        token: string;
      }>().token;
      const high = await off.app.inject({
        method: 'POST',
        url: '/v1/handoffs',
        headers: { authorization: `Bearer ${device}` },
        payload: HIGH,
      });
      expect(high.statusCode, high.body).toBe(201);
      expect(high.json<{ risk: { level: string } }>().risk.level).toBe('high');
      const jobs = await sql<{ n: string }>`
        select count(*) as n from pgboss.job
        where name = 'handoff-push' and data->>'handoff_id' = ${high.json<{ id: string }>().id}`.execute(
        off.database.db,
      );
      expect(Number(jobs.rows[0]!.n)).toBe(0);
    } finally {
      await off.close();
    }
  });

  it('a deactivated member loses their subscriptions', async () => {
    expect(
      (await as(t, bob, 'GET', '/v1/me/notifications')).json<{ subscriptions: number }>().subscriptions,
    ).toBe(1);
    const res = await as(t, admin, 'POST', `/v1/admin/members/${bob.memberId}/deactivate`);
    expect(res.statusCode, res.body).toBe(200);
    const left = await sql<{
      n: string;
    }>`select count(*) as n from push_subscriptions where member_id = ${bob.memberId}`.execute(t.database.db);
    expect(Number(left.rows[0]!.n)).toBe(0);
  });
});
