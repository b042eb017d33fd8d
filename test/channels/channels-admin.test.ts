/**
 * The admin's channel status and "send test": against the real server and the fake Slack Web API
 * (a shared approvals channel configured, DMs on), the test message reaches only the calling admin's
 * own DM, never the shared channel or another member; it is marked as a test, has no vote buttons,
 * is audited and rate limited; refusals change nothing.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TESTS_PER_WINDOW } from '../../src/features/channels/channels-admin.service.js';
import { startFakeSlack, type FakeSlack, type SlackUser } from '../fakes/slack.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

const TEAM = 'T0FAKE001';
const ADMIN: SlackUser = { teamId: TEAM, userId: 'U0ADMIN01', name: 'admin.s' };
const ALICE: SlackUser = { teamId: TEAM, userId: 'U0ALICE01', name: 'alice.s' };

let fake: FakeSlack;
let t: TestServer;
let admin: Actor;
let alice: Actor;
let viewer: Actor;
let otherAdmin: Actor;

async function linkSlack(actor: Actor, user: SlackUser) {
  const code = await as(t, actor, 'POST', '/v1/me/channel-links/codes', { channel: 'slack' });
  expect(code.statusCode).toBe(201);
  const r = await t.container.channelActions.linkWithCode(
    'slack',
    code.json<{ code: string }>().code,
    `${user.teamId}:${user.userId}`,
    user.name,
  );
  expect(r.ok).toBe(true);
}

const testAudits = async () =>
  (
    await sql<{ actor_id: string; subject_id: string; meta: { outcome: string } }>`
      select actor_id, subject_id, meta from audit_events where action = 'channel.tested' order by seq`.execute(
      t.database.db,
    )
  ).rows;
const posts = () => fake.callsTo('chat.postMessage');

beforeAll(async () => {
  fake = await startFakeSlack();
  t = await startTestServer({
    ONY_SLACK_BOT_TOKEN: fake.botToken,
    ONY_SLACK_SIGNING_SECRET: fake.signingSecret,
    ONY_SLACK_CHANNEL: '#approvals',
    ONY_SLACK_API_URL: fake.apiUrl,
  });
  admin = await createOrgWithAdmin(t, 'chanadmin');
  alice = await addMember(t, admin, 'alice@chanadmin.test', 'member');
  viewer = await addMember(t, admin, 'vic@chanadmin.test', 'viewer');
  otherAdmin = await addMember(t, admin, 'olga@chanadmin.test', 'admin');
  await linkSlack(alice, ALICE);
}, 60_000);

afterAll(async () => {
  await t?.close();
  await fake?.close();
});

describe('GET /v1/admin/channels', () => {
  it('lists every policy channel: configured ones with what they transmit and their health', async () => {
    const res = await as(t, admin, 'GET', '/v1/admin/channels');
    expect(res.statusCode, res.body).toBe(200);
    const list = res.json<
      {
        name: string;
        configured: boolean;
        transmits: string[];
        health: { ok: boolean; detail: string } | null;
      }[]
    >();
    const by = new Map(list.map((c) => [c.name, c]));
    expect([...by.keys()].sort()).toEqual(['console', 'email', 'phone', 'slack', 'sms', 'telegram']);
    expect(by.get('slack')).toMatchObject({ configured: true, health: { ok: true } });
    expect(by.get('slack')!.health!.detail).toContain('Fake Workspace');
    expect(by.get('slack')!.transmits).toContain('gist');
    expect(by.get('slack')!.transmits).not.toContain('payload');
    expect(by.get('console')).toMatchObject({ configured: true, health: { ok: true } });
    expect(by.get('telegram')).toEqual({ name: 'telegram', configured: false, transmits: [], health: null });
    expect(by.get('email')!.configured).toBe(false);
    // No credential in the answer.
    expect(res.body).not.toContain(fake.botToken);
  });

  it('reports an unhealthy provider without failing the page', async () => {
    fake.failNext('auth.test', { error: 'invalid_auth' });
    const res = await as(t, admin, 'GET', '/v1/admin/channels');
    expect(res.statusCode).toBe(200);
    const slack = res
      .json<{ name: string; health: { ok: boolean; detail: string } }[]>()
      .find((c) => c.name === 'slack')!;
    expect(slack.health.ok).toBe(false);
    fake.clearFailures();
  });

  it('is for admins only', async () => {
    for (const who of [alice, viewer]) {
      expect((await as(t, who, 'GET', '/v1/admin/channels')).statusCode).toBe(403);
      expect((await as(t, who, 'POST', '/v1/admin/channels/console/test')).statusCode).toBe(403);
    }
    expect((await t.app.inject({ method: 'GET', url: '/v1/admin/channels' })).statusCode).toBe(401);
    expect(await testAudits()).toEqual([]);
  });
});

describe('POST /v1/admin/channels/:name/test', () => {
  it('refuses, changing nothing, when the admin has not linked the channel', async () => {
    const before = posts().length;
    const res = await as(t, admin, 'POST', '/v1/admin/channels/slack/test');
    expect(res.statusCode).toBe(422);
    expect(res.json<{ detail: string }>().detail).toContain('link your own slack account');
    expect(posts().length).toBe(before);
    expect(await testAudits()).toEqual([]);
  });

  it('refuses an unconfigured channel (422), an unknown one (404) and a malformed name (400)', async () => {
    expect((await as(t, admin, 'POST', '/v1/admin/channels/telegram/test')).statusCode).toBe(422);
    expect((await as(t, admin, 'POST', '/v1/admin/channels/pager/test')).statusCode).toBe(404);
    expect((await as(t, admin, 'POST', '/v1/admin/channels/Bad%20Name/test')).statusCode).toBe(400);
    expect(await testAudits()).toEqual([]);
  });

  it('needs the CSRF token', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/channels/console/test',
      headers: { cookie: admin.cookie },
    });
    expect(res.statusCode).toBe(403);
  });

  it("sends a marked test to the admin's own DM only: not the shared channel, not other members", async () => {
    await linkSlack(admin, ADMIN);
    const before = posts().length;
    const res = await as(t, admin, 'POST', '/v1/admin/channels/slack/test');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ channel: 'slack', ok: true, sent: 1 });
    const sent = posts().slice(before);
    expect(sent.map((c) => c.args.channel)).toEqual([ADMIN.userId]);
    const text = JSON.stringify(sent[0]!.args);
    expect(text).toContain('TEST from ony');
    // No vote buttons: nothing can be decided through a test message.
    expect(text).not.toContain('ony_vote');
    const audits = await testAudits();
    expect(audits).toEqual([{ actor_id: admin.memberId, subject_id: 'slack', meta: { outcome: 'sent' } }]);
  });

  it('records a provider failure as a failed test (200, ok false) in the audit chain', async () => {
    fake.failNext('chat.postMessage', { error: 'channel_not_found' });
    const res = await as(t, admin, 'POST', '/v1/admin/channels/slack/test');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ok: false, sent: 0 });
    expect((await testAudits()).at(-1)!.meta).toEqual({ outcome: 'failed' });
    fake.clearFailures();
  });

  it('the console channel writes the test to the server log', async () => {
    const res = await as(t, otherAdmin, 'POST', '/v1/admin/channels/console/test');
    expect(res.json()).toMatchObject({ channel: 'console', ok: true, sent: 1 });
    expect(t.logs.some((l) => l.channel === 'console' && String(l.msg).includes('TEST from ony'))).toBe(true);
  });

  it(`is rate limited per admin (${TESTS_PER_WINDOW} per window), the refused ones unaudited`, async () => {
    // otherAdmin used 1 so far.
    for (let i = 1; i < TESTS_PER_WINDOW; i++)
      expect((await as(t, otherAdmin, 'POST', '/v1/admin/channels/console/test')).statusCode).toBe(200);
    const audited = (await testAudits()).length;
    const res = await as(t, otherAdmin, 'POST', '/v1/admin/channels/console/test');
    expect(res.statusCode).toBe(429);
    expect((await testAudits()).length).toBe(audited);
    // Another admin has their own window.
    expect((await as(t, admin, 'POST', '/v1/admin/channels/console/test')).statusCode).toBe(200);
  });
});
