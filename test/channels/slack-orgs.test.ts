/**
 * Slack per organization (issue #24 part 1): each org installs the app in its own workspace through
 * Slack's OAuth v2 flow (against the fake's authorize page and oauth.v2.access), its bot token is
 * stored encrypted with the org's data key, its messages go out with its own token only, and a
 * request from a workspace is routed to the org that installed it, through Bolt.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack, type SlackUser } from '../fakes/slack.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  login,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { createHandoff, deviceTokenOf, eventually, linkChat, postedRefs, statusOf } from '../helpers/chat.js';

const TEAM_A = 'T0ACME001';
const TEAM_B = 'T0BETA001';
const ALICE: SlackUser = { teamId: TEAM_A, userId: 'U0ALICE01', name: 'alice.a' };
const BOB: SlackUser = { teamId: TEAM_B, userId: 'U0BOB0001', name: 'bob.b' };

let fake: FakeSlack;
let t: TestServer;
let base: string;
let adminA: Actor;
let adminB: Actor;
let alice: Actor;
let bob: Actor;
let tokenA: string;
let tokenB: string;

const slackSteps = { rule: 'approve', steps: [{ after_s: 0, channel: 'slack', targets: 'all' }] };
const interactions = () => `${base}/webhooks/slack/interactions`;
const events = () => `${base}/webhooks/slack/events`;

/** Starts "Add to Slack" as `actor`; the fake's page approves for `team`; answers the callback URL. */
async function approveAt(actor: Actor, team: string, extra = ''): Promise<string> {
  const start = await as(t, actor, 'POST', '/v1/admin/channels/slack/install');
  expect(start.statusCode, start.body).toBe(200);
  const url = start.json<{ url: string }>().url;
  expect(url).toContain('/oauth/v2/authorize?');
  expect(url).toContain(`client_id=${encodeURIComponent(fake.clientId)}`);
  const page = await fetch(`${url}&team=${team}${extra}`, { redirect: 'manual' });
  expect(page.status).toBe(302);
  return page.headers.get('location')!;
}

/** The browser lands on the callback with `actor`'s session. */
const callback = (actor: Actor, location: string) => {
  const u = new URL(location);
  return t.app.inject({ method: 'GET', url: `${u.pathname}${u.search}`, headers: { cookie: actor.cookie } });
};

const installationCount = async () =>
  (await sql<{ n: number }>`select count(*)::int as n from slack_installations`.execute(t.database.db))
    .rows[0]!.n;

beforeAll(async () => {
  fake = await startFakeSlack();
  fake.addWorkspace(TEAM_A, 'Acme');
  fake.addWorkspace(TEAM_B, 'Beta');
  t = await startTestServer({
    ONY_SLACK_BOT_TOKEN: fake.botToken,
    ONY_SLACK_SIGNING_SECRET: fake.signingSecret,
    ONY_SLACK_API_URL: fake.apiUrl,
    ONY_SLACK_CLIENT_ID: fake.clientId,
    ONY_SLACK_CLIENT_SECRET: fake.clientSecret,
  });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  adminA = await createOrgWithAdmin(t, 'acme');
  adminB = await createOrgWithAdmin(t, 'beta');
  alice = await addMember(t, adminA, 'alice@acme.test', 'member');
  bob = await addMember(t, adminB, 'bob@beta.test', 'member');
  await linkChat(t, alice, 'slack', `${ALICE.teamId}:${ALICE.userId}`, ALICE.name);
  await linkChat(t, bob, 'slack', `${BOB.teamId}:${BOB.userId}`, BOB.name);
  tokenA = await deviceTokenOf(t, adminA);
  tokenB = await deviceTokenOf(t, adminB);
  for (const admin of [adminA, adminB]) {
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { medium: slackSteps } },
    });
    expect(put.statusCode, put.body).toBe(200);
  }
}, 120_000);

afterAll(async () => {
  await t?.close();
  await fake?.close();
});

describe('"Add to Slack" per organization', () => {
  it('before any install, the org uses the server default; the status says so', async () => {
    const s = await as(t, adminA, 'GET', '/v1/admin/channels/slack/installation');
    expect(s.json()).toMatchObject({ source: 'server', team_id: null, install_available: true });
    expect((await as(t, alice, 'GET', '/v1/admin/channels/slack/installation')).statusCode).toBe(403);
  });

  it('a state from another session, a replayed state and a bad code are refused; nothing is stored', async () => {
    // Another session of the same admin.
    const location = await approveAt(adminA, TEAM_A);
    const other = await login(t, 'admin@acme.test');
    const wrongSession = await callback(other, location);
    expect(wrongSession.statusCode, wrongSession.body).toBe(403);
    expect(wrongSession.body).toContain('another session');
    // The state was single use: even the right session cannot use it now.
    const replay = await callback(adminA, location);
    expect(replay.statusCode).toBe(403);
    expect(replay.body).toContain('already used');
    // A state of org A in org B's session.
    const crossOrg = await callback(adminB, await approveAt(adminA, TEAM_A));
    expect(crossOrg.statusCode).toBe(403);
    // A forged code with a good state.
    const good = new URL(await approveAt(adminA, TEAM_A));
    good.searchParams.set('code', 'T0ACME001.forged');
    const badCode = await callback(adminA, good.toString());
    expect(badCode.statusCode).toBe(422);
    expect(badCode.body).toContain('invalid_code');
    // The new bot token is refused by auth.test.
    fake.failNext('auth.test', { error: 'invalid_auth' });
    const badToken = await callback(adminA, await approveAt(adminA, TEAM_A));
    expect(badToken.statusCode).toBe(422);
    expect(badToken.body).toContain('auth.test: invalid_auth');
    // The person cancelled on Slack's page.
    const denied = await callback(adminA, await approveAt(adminA, TEAM_A, '&deny=1'));
    expect(denied.statusCode).toBe(422);
    expect(await installationCount()).toBe(0);
    const { n } = (
      await sql<{
        n: number;
      }>`select count(*)::int as n from audit_events where action = 'slack.installed'`.execute(t.database.db)
    ).rows[0]!;
    expect(n).toBe(0);
  });

  it('installs org A and org B in their own workspaces; the token is stored encrypted, never answered', async () => {
    const a = await callback(adminA, await approveAt(adminA, TEAM_A, '&channel_id=C0ACMEAPP1'));
    expect(a.statusCode, a.body).toBe(302);
    expect(a.headers.location).toBe('/admin/channels?slack=installed');
    const b = await callback(adminB, await approveAt(adminB, TEAM_B));
    expect(b.statusCode, b.body).toBe(302);
    const statusA = await as(t, adminA, 'GET', '/v1/admin/channels/slack/installation');
    expect(statusA.json()).toMatchObject({
      source: 'own',
      team_id: TEAM_A,
      team_name: 'Acme',
      channel_id: 'C0ACMEAPP1',
    });
    const botA = fake.workspaces.get(TEAM_A)!.botToken!;
    const botB = fake.workspaces.get(TEAM_B)!.botToken!;
    expect(statusA.body).not.toContain(botA);
    const rows = (
      await sql<{
        team_id: string;
        bot_token_enc: Buffer;
      }>`select team_id, bot_token_enc from slack_installations`.execute(t.database.db)
    ).rows;
    expect(rows.map((r) => r.team_id).sort()).toEqual([TEAM_A, TEAM_B]);
    for (const r of rows) {
      expect(Buffer.from(r.bot_token_enc).toString('latin1')).not.toContain('xoxb-');
    }
    const channels = await as(t, adminA, 'GET', '/v1/admin/channels');
    const slack = channels
      .json<{ name: string; health: { detail: string } }[]>()
      .find((c) => c.name === 'slack')!;
    expect(slack.health.detail).toContain("Acme as @ony (this organization's own workspace)");
    const logs = JSON.stringify(t.logs);
    for (const secret of [botA, botB, fake.clientSecret]) expect(logs).not.toContain(secret);
    const audit = (
      await sql<{ meta: unknown }>`select meta from audit_events where action = 'slack.installed'`.execute(
        t.database.db,
      )
    ).rows;
    expect(audit).toHaveLength(2);
    expect(JSON.stringify(audit)).not.toContain('xoxb-');
  });

  it('a workspace already installed in another org is refused with a clear message; nothing changes', async () => {
    const before = fake.workspaces.get(TEAM_A)!.botToken;
    const dup = await callback(adminB, await approveAt(adminB, TEAM_A));
    expect(dup.statusCode).toBe(409);
    expect(dup.body).toContain('already connected to another ony organization');
    const status = await as(t, adminB, 'GET', '/v1/admin/channels/slack/installation');
    expect(status.json()).toMatchObject({ source: 'own', team_id: TEAM_B });
    expect(await installationCount()).toBe(2);
    // The fake issued a new token for A on the refused exchange; org A still holds its own, older one.
    expect(before).toBeDefined();
  });
});

describe('two orgs, two workspaces, at the same time', () => {
  it('each message goes out with its own org bot only; clicks are routed to their org; forgeries change nothing', async () => {
    // Re-install A so its stored token is the fake's live one (the duplicate attempt rotated it).
    expect(
      (await callback(adminA, await approveAt(adminA, TEAM_A, '&channel_id=C0ACMEAPP1'))).statusCode,
    ).toBe(302);
    const botA = fake.workspaces.get(TEAM_A)!.botToken!;
    const botB = fake.workspaces.get(TEAM_B)!.botToken!;
    const before = fake.calls.length;
    const [ha, hb] = await Promise.all([
      createHandoff(t, tokenA, { action: { type: 'deploy', target: 'staging' }, title: 'Acme deploy' }),
      createHandoff(t, tokenB, { action: { type: 'deploy', target: 'staging' }, title: 'Beta deploy' }),
    ]);
    const refsA = await postedRefs(t, 'slack', ha.id, 2); // A's picked channel and alice's DM
    const refsB = await postedRefs(t, 'slack', hb.id, 1); // B has no channel: bob's DM
    const posts = fake.calls.slice(before).filter((c) => c.method === 'chat.postMessage');
    const byToken = (tok: string) => posts.filter((c) => c.token === tok).map((c) => JSON.stringify(c.args));
    expect(byToken(botA)).toHaveLength(2);
    expect(byToken(botA).every((p) => p.includes('Acme deploy') && !p.includes('Beta deploy'))).toBe(true);
    expect(byToken(botB)).toHaveLength(1);
    expect(byToken(botB)[0]).toContain('Beta deploy');
    expect(byToken(fake.botToken)).toHaveLength(0);
    expect(
      posts
        .filter((c) => c.token === botA)
        .map((c) => c.args.channel)
        .sort(),
    ).toEqual(['C0ACMEAPP1', ALICE.userId]);

    // A forged team: bob (org B's workspace) clicks org A's message; routed to org B, where no such handoff is.
    const forged = fake.clickPayload(refsA[0]!, BOB, 'approve');
    expect((await fake.deliver(interactions(), forged)).status).toBe(200);
    // Alice's identity under org B's team id: not linked there.
    const asB = fake.clickPayload(refsA[0]!, { ...ALICE, teamId: TEAM_B }, 'approve');
    expect((await fake.deliver(interactions(), asB)).status).toBe(200);
    // A workspace no org installed (and not the default's linked people): nothing.
    const stranger = fake.clickPayload(
      refsA[0]!,
      { teamId: 'T0NOBODY1', userId: 'U0EVE0001', name: 'eve' },
      'approve',
    );
    expect((await fake.deliver(interactions(), stranger)).status).toBe(200);
    expect(await statusOf(t, ha.id)).toBe('pending');
    const noSuch = await eventually(() => fake.ephemerals.find((e) => e.user === BOB.userId));
    expect(noSuch.text).toContain('No such handoff');
    // org B's bot answered bob; org A's bot never spoke for org B.
    const eph = fake.callsTo('chat.postEphemeral').find((c) => c.args.user === BOB.userId)!;
    expect(eph.token).toBe(botB);

    // The real clicks, each in its own workspace.
    expect((await fake.deliver(interactions(), fake.clickPayload(refsA[1]!, ALICE, 'approve'))).status).toBe(
      200,
    );
    expect((await fake.deliver(interactions(), fake.clickPayload(refsB[0]!, BOB, 'deny'))).status).toBe(200);
    expect(await statusOf(t, ha.id)).toBe('approved');
    expect(await statusOf(t, hb.id)).toBe('denied');
    // Every message rewritten by its own bot.
    await eventually(() =>
      refsA.every((r) => fake.messages.get(r)!.text.includes('Approved')) ? true : undefined,
    );
    await eventually(() => (fake.messages.get(refsB[0]!)!.text.includes('Denied') ? true : undefined));
    const updates = fake.calls.slice(before).filter((c) => c.method === 'chat.update');
    expect(updates.filter((c) => c.status === 200 && c.answer.ok === true)).toHaveLength(3);
    for (const u of updates)
      expect(u.token === botA ? 'A' : u.token === botB ? 'B' : 'other').not.toBe('other');

    // No token, secret or payload left in any message.
    for (const c of fake.calls.slice(before)) {
      for (const s of [botA, botB, fake.clientSecret]) expect(c.raw).not.toContain(s);
    }
  });

  it('another org bot token cannot touch this org messages (the fake refuses it)', async () => {
    const h = await createHandoff(t, tokenA, {
      action: { type: 'deploy', target: 'staging' },
      title: 'Acme only',
    });
    const [ref] = await postedRefs(t, 'slack', h.id, 1);
    const [channel, ts] = ref!.split(':');
    const res = await fetch(`${fake.apiUrl}chat.update`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${fake.workspaces.get(TEAM_B)!.botToken!}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ channel, ts, text: 'hijacked' }),
    });
    expect(((await res.json()) as { error: string }).error).toBe('message_not_found');
    expect(fake.messages.get(ref!)!.text).not.toContain('hijacked');
  });
});

describe('uninstall', () => {
  it('tokens_revoked and app_uninstalled from Slack remove the installation (audited); forged events change nothing', async () => {
    const botB = fake.workspaces.get(TEAM_B)!.botToken!;
    // Forged: wrong signature.
    const forged = await fake.event(events(), TEAM_B, { type: 'app_uninstalled' }, { secret: 'nope' });
    expect(forged.status).toBe(403);
    // Revoked for another bot user: not ours, nothing happens.
    await fake.event(events(), TEAM_B, {
      type: 'tokens_revoked',
      tokens: { oauth: [], bot: ['U0SOMEONE1'] },
    });
    expect(await installationCount()).toBe(2);
    const revoked = await fake.event(events(), TEAM_B, {
      type: 'tokens_revoked',
      tokens: { oauth: [], bot: [fake.workspaces.get(TEAM_B)!.botUserId] },
    });
    expect(revoked.status).toBe(200);
    expect(await installationCount()).toBe(1);
    expect((await as(t, adminB, 'GET', '/v1/admin/channels/slack/installation')).json()).toMatchObject({
      source: 'server',
    });
    fake.revoke(botB);
    const gone = await fake.event(events(), TEAM_A, { type: 'app_uninstalled' });
    expect(gone.status).toBe(200);
    expect(await installationCount()).toBe(0);
    const audit = (
      await sql<{ actor_type: string; meta: { reason: string } }>`
        select actor_type, meta from audit_events where action = 'slack.uninstalled' order by seq`.execute(
        t.database.db,
      )
    ).rows;
    expect(audit.map((a) => [a.actor_type, a.meta.reason])).toEqual(
      expect.arrayContaining([
        ['system', 'tokens_revoked'],
        ['system', 'app_uninstalled'],
      ]),
    );
    // The URL check Slack does when the Request URL is saved.
    const { body, headers } = fake.signed({});
    void body;
    const challenge = JSON.stringify({ type: 'url_verification', challenge: 'abc123', token: 'x' });
    const ts = headers['x-slack-request-timestamp'];
    const { createHmac } = await import('node:crypto');
    const sig = `v0=${createHmac('sha256', fake.signingSecret).update(`v0:${ts}:${challenge}`).digest('hex')}`;
    const res = await fetch(events(), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-slack-request-timestamp': ts,
        'x-slack-signature': sig,
      },
      body: challenge,
    });
    expect(await res.json()).toEqual({ challenge: 'abc123' });
  });

  it('an admin uninstalls: the token is revoked at Slack and deleted; the server default applies again', async () => {
    expect((await callback(adminA, await approveAt(adminA, TEAM_A))).statusCode).toBe(302);
    const botA = fake.workspaces.get(TEAM_A)!.botToken!;
    expect((await as(t, alice, 'DELETE', '/v1/admin/channels/slack/installation')).statusCode).toBe(403);
    const del = await as(t, adminA, 'DELETE', '/v1/admin/channels/slack/installation');
    expect(del.statusCode, del.body).toBe(204);
    expect(fake.callsTo('auth.revoke').at(-1)!.token).toBe(botA);
    expect(await installationCount()).toBe(0);
    expect((await as(t, adminA, 'DELETE', '/v1/admin/channels/slack/installation')).statusCode).toBe(404);
    // Back on the default bot.
    const before = fake.calls.length;
    const h = await createHandoff(t, tokenA, {
      action: { type: 'deploy', target: 'staging' },
      title: 'Default again',
    });
    await eventually(async () =>
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from escalation_attempts where handoff_id = ${h.id}`.execute(
          t.database.db,
        )
      ).rows[0]!.n > 0
        ? true
        : undefined,
    );
    const posts = fake.calls.slice(before).filter((c) => c.method === 'chat.postMessage');
    expect(posts.every((c) => c.token === fake.botToken)).toBe(true);
  });
});
