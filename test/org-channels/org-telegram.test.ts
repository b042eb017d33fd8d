/**
 * Each org's own Telegram bot (issue #24 part 2), end to end: the real server talks through
 * telegraf's real client to one fake Bot API that serves the server-wide bot and two orgs' bots,
 * and the fake delivers each bot's updates to the webhook that bot registered (with its own secret
 * token) over real HTTP. Two orgs escalate at the same time: each message goes out through its own
 * org's bot only, each tap is decided in its own org, and nothing crosses.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDecision } from '../../src/channels/telegram/callback-data.js';
import { REFUSAL_TEXT } from '../../src/channels/telegram/render.js';
import { startFakeTelegram, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { auditCount, createHandoff, eventually, statusOf, telegramMessages } from '../helpers/chat.js';

const SERVER_TOKEN = '7000001:AAHserverBotTokenForTests_0123456789';
const TOKEN_A = '7100001:AAHorgAbotTokenForTestsOnly_abcdefgh';
const TOKEN_B = '7200002:AAHorgBbotTokenForTestsOnly_ijklmnop';
const ALICE: FakeUser = { id: 2001, first_name: 'Alice', username: 'alice_a' };
const BOB: FakeUser = { id: 2002, first_name: 'Bob', username: 'bob_b' };
const CAROL: FakeUser = { id: 2003, first_name: 'Carol' };

const telegramSteps = { rule: 'approve', steps: [{ after_s: 0, channel: 'telegram', targets: 'all' }] };

let fake: FakeTelegram;
let botA: FakeTelegram;
let botB: FakeTelegram;
let t: TestServer;
let base: string;
let adminA: Actor;
let adminB: Actor;
let adminC: Actor;
let alice: Actor;
let bob: Actor;
let carol: Actor;
const devices: Record<string, string> = {};

const deploy = (title: string) => ({ action: { type: 'deploy', target: 'staging' }, title });

/** The message an escalation posted for a handoff through `bot`, once recorded. */
async function link(actor: Actor, bot: FakeTelegram, user: FakeUser): Promise<void> {
  const res = await as(t, actor, 'POST', '/v1/me/channel-links/codes', { channel: 'telegram' });
  expect(res.statusCode, res.body).toBe(201);
  const { delivery } = await bot.say(user, `/start ${res.json<{ code: string }>().code}`);
  expect(delivery?.status).toBe(200);
  expect(bot.botMessages(user.id).at(-1)?.text).toMatch(/^Linked: /);
}

const storedRows = async () =>
  (
    await sql<{ org_id: string; kind: string; config_enc: Buffer }>`
      select org_id, kind, config_enc from org_channel_credentials order by org_id`.execute(t.database.db)
  ).rows;

/** Every log line and audit row as one string: no credential may appear in either. */
async function everythingWritten(): Promise<string> {
  const audit = await sql<{ meta: unknown }>`select meta from audit_events`.execute(t.database.db);
  return JSON.stringify(t.logs) + JSON.stringify(audit.rows);
}

beforeAll(async () => {
  fake = await startFakeTelegram(SERVER_TOKEN);
  botA = fake.addBot(TOKEN_A, 'org_a_bot');
  botB = fake.addBot(TOKEN_B, 'org_b_bot');
  t = await startTestServer({
    ONY_TELEGRAM_BOT_TOKEN: SERVER_TOKEN,
    ONY_TELEGRAM_API_ROOT: fake.url,
    ONY_TELEGRAM_MODE: 'webhook',
  });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  for (const f of [fake, botA, botB]) f.resolve('ony.test', base);
  adminA = await createOrgWithAdmin(t, 'orga');
  adminB = await createOrgWithAdmin(t, 'orgb');
  adminC = await createOrgWithAdmin(t, 'orgc');
  alice = await addMember(t, adminA, 'alice@orga.test', 'member');
  bob = await addMember(t, adminB, 'bob@orgb.test', 'member');
  carol = await addMember(t, adminC, 'carol@orgc.test', 'member');
  for (const a of [adminA, adminB, adminC]) {
    devices[a.orgId] = (await as(t, a, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{
      token: string;
    }>().token;
    const put = await as(t, a, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { medium: telegramSteps } },
    });
    expect(put.statusCode, put.body).toBe(200);
  }
}, 60_000);

afterAll(async () => {
  await t?.close();
  await fake?.close();
});

describe('setting an org bot', () => {
  it('shows the server bot as the fallback before an org sets its own', async () => {
    const res = await as(t, adminA, 'GET', '/v1/admin/channels/own');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      telegram: { source: 'server', bot_username: null, webhook_url: null },
      telephony: { source: 'none' },
    });
  });

  it('refuses non-admins like the neighbouring admin routes (403), changing nothing', async () => {
    for (const [method, url, body] of [
      ['GET', '/v1/admin/channels/own', undefined],
      ['PUT', '/v1/admin/channels/own/telegram', { bot_token: TOKEN_A }],
      ['DELETE', '/v1/admin/channels/own/telegram', undefined],
    ] as const) {
      const res = await as(t, alice, method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.body).not.toContain(TOKEN_A);
    }
    expect(await storedRows()).toEqual([]);
    expect(botA.callsOf('getMe')).toHaveLength(0);
  });

  it('a token Telegram rejects (getMe 401): 422 naming the check, no token echoed, nothing stored', async () => {
    const wrong = '7100001:AAHwrongTokenNotKnownToTelegram_xyz';
    const audit = await auditCount(t);
    const res = await as(t, adminA, 'PUT', '/v1/admin/channels/own/telegram', { bot_token: wrong });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.json()).toMatchObject({ check: 'telegram_get_me' });
    expect(res.json<{ detail: string }>().detail).toMatch(/getMe: 401 Unauthorized/);
    expect(res.body).not.toContain('AAHwrongToken');
    expect(await storedRows()).toEqual([]);
    expect(await auditCount(t)).toBe(audit);
    // Malformed: refused before any request leaves.
    const calls = fake.calls.length;
    const bad = await as(t, adminA, 'PUT', '/v1/admin/channels/own/telegram', { bot_token: 'not a token' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).not.toContain('not a token');
    expect(fake.calls.length).toBe(calls);
    expect(await everythingWritten()).not.toContain('AAHwrongToken');
  });

  it('stores each org bot encrypted after getMe, and registers its own webhook path and secret', async () => {
    const resA = await as(t, adminA, 'PUT', '/v1/admin/channels/own/telegram', { bot_token: TOKEN_A });
    expect(resA.statusCode, resA.body).toBe(200);
    const resB = await as(t, adminB, 'PUT', '/v1/admin/channels/own/telegram', { bot_token: TOKEN_B });
    expect(resB.statusCode, resB.body).toBe(200);
    // Write-only: the answer says which bot, never its token or webhook secret.
    const view = resA.json<{ telegram: { source: string; bot_username: string; webhook_url: string } }>();
    expect(view.telegram).toMatchObject({ source: 'own', bot_username: 'org_a_bot', mode: 'webhook' });
    for (const body of [resA.body, resB.body]) {
      expect(body).not.toContain('AAHorg');
      expect(body).not.toContain(botA.webhook!.secretToken);
      expect(body).not.toContain(botB.webhook!.secretToken);
    }
    expect(botA.webhook!.url).toBe(view.telegram.webhook_url);
    expect(botA.webhook!.url).toMatch(/^https:\/\/ony\.test\/webhooks\/telegram\/o\/[A-Za-z0-9_-]{22}$/);
    expect(botB.webhook!.url).not.toBe(botA.webhook!.url);
    expect(botA.webhook!.secretToken).not.toBe(botB.webhook!.secretToken);
    expect(botA.webhook!.secretToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Each org's own bot only ever hears its own token.
    expect(botA.calls.every((c) => c.token === TOKEN_A)).toBe(true);
    expect(botB.calls.every((c) => c.token === TOKEN_B)).toBe(true);
    // Encrypted at rest: neither the token nor the secret is in the row's bytes.
    const rows = await storedRows();
    expect(rows.map((r) => r.kind)).toEqual(['telegram', 'telegram']);
    for (const r of rows) {
      const bytes = Buffer.from(r.config_enc).toString('latin1');
      for (const s of [TOKEN_A, TOKEN_B, botA.webhook!.secretToken!, botB.webhook!.secretToken!])
        expect(bytes).not.toContain(s);
    }
    const written = await everythingWritten();
    for (const s of [TOKEN_A, TOKEN_B, botA.webhook!.secretToken!, botB.webhook!.secretToken!])
      expect(written).not.toContain(s);
    const audit = await sql<{ meta: unknown }>`
      select meta from audit_events where action = 'channel.credentials_set' order by seq`.execute(
      t.database.db,
    );
    expect(audit.rows.map((r) => r.meta)).toEqual([
      { kind: 'telegram', provider: 'telegram', created: true },
      { kind: 'telegram', provider: 'telegram', created: true },
    ]);
  });

  it("refuses another org's bot (409) before anything reaches Telegram", async () => {
    const before = botA.calls.length;
    const webhook = botA.webhook;
    const res = await as(t, adminC, 'PUT', '/v1/admin/channels/own/telegram', { bot_token: TOKEN_A });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.body).not.toContain(TOKEN_A);
    expect(botA.calls.length).toBe(before);
    expect(botA.webhook).toEqual(webhook);
    expect((await storedRows()).some((r) => r.org_id === adminC.orgId)).toBe(false);
  });
});

describe('two orgs escalating at the same time', () => {
  beforeAll(async () => {
    await link(alice, botA, ALICE);
    await link(bob, botB, BOB);
    await link(carol, fake, CAROL);
  });

  it('each message goes out through its own org bot only, and each tap decides in its own org', async () => {
    const [hA, hB, hC] = await Promise.all([
      createHandoff(t, devices[adminA.orgId]!, deploy('Deploy A')),
      createHandoff(t, devices[adminB.orgId]!, deploy('Deploy B')),
      createHandoff(t, devices[adminC.orgId]!, deploy('Deploy C')),
    ]);
    const [mA, mB, mC] = await Promise.all([
      (await telegramMessages(t, botA, hA.id))[0]!,
      (await telegramMessages(t, botB, hB.id))[0]!,
      (await telegramMessages(t, fake, hC.id))[0]!,
    ]);
    expect(mA.chatId).toBe(ALICE.id);
    expect(mB.chatId).toBe(BOB.id);
    // The org without its own bot: the server's bot (the fallback).
    expect(mC.chatId).toBe(CAROL.id);
    const sent = (f: FakeTelegram, code: string) =>
      f.callsOf('sendMessage').filter((c) => c.raw.includes(code)).length;
    expect([sent(botA, hA.short_code), sent(botB, hA.short_code), sent(fake, hA.short_code)]).toEqual([
      1, 0, 0,
    ]);
    expect([sent(botA, hB.short_code), sent(botB, hB.short_code), sent(fake, hB.short_code)]).toEqual([
      0, 1, 0,
    ]);
    expect([sent(botA, hC.short_code), sent(botB, hC.short_code), sent(fake, hC.short_code)]).toEqual([
      0, 0, 1,
    ]);

    const tapA = await botA.tap(ALICE, mA, botA.buttonData(mA, /Approve/));
    const tapB = await botB.tap(BOB, mB, botB.buttonData(mB, /Deny/));
    expect([tapA.delivery?.status, tapB.delivery?.status]).toEqual([200, 200]);
    expect(await statusOf(t, hA.id)).toBe('approved');
    expect(await statusOf(t, hB.id)).toBe('denied');
    // Each message is updated in place through the bot that sent it.
    await eventually(() => (mA.edits > 0 && mB.edits > 0 ? true : undefined));
    expect(botA.callsOf('editMessageText').every((c) => c.token === TOKEN_A)).toBe(true);
    expect(botB.callsOf('editMessageText')).toHaveLength(1);
    await fake.tap(CAROL, mC, fake.buttonData(mC, /Approve/));
    expect(await statusOf(t, hC.id)).toBe('approved');
  });

  it("a tap through the other org's bot decides nothing, whoever taps", async () => {
    const hA = await createHandoff(t, devices[adminA.orgId]!, deploy('Deploy A again'));
    const mA = (await telegramMessages(t, botA, hA.id))[0]!;
    const audit = await auditCount(t);
    // Bob (linked only in B) through B's bot, with A's handoff in the button.
    const viaB = await botB.tap(BOB, mA, encodeDecision(hA.id, 'approve'));
    expect(viaB.delivery?.status).toBe(200);
    expect(botB.callbackAnswers.get(viaB.queryId)?.text).toBe(REFUSAL_TEXT.not_found);
    // Alice (linked in A) through B's bot: B's bot knows only B's people.
    const aliceViaB = await botB.tap(ALICE, mA, encodeDecision(hA.id, 'approve'));
    expect(botB.callbackAnswers.get(aliceViaB.queryId)?.text).toBe(REFUSAL_TEXT.not_linked);
    // And through the server's bot: Alice is not linked there for A's decisions either way.
    expect(await statusOf(t, hA.id)).toBe('pending');
    expect(await auditCount(t)).toBe(audit);
  });

  it("the other org's webhook URL with this bot's secret, or an unknown path: 403, nothing handled", async () => {
    const hA = await createHandoff(t, devices[adminA.orgId]!, deploy('Deploy A, forged'));
    const mA = (await telegramMessages(t, botA, hA.id))[0]!;
    const audit = await auditCount(t);
    const update = {
      update_id: 990001,
      callback_query: {
        id: '99000100',
        from: { ...ALICE, is_bot: false },
        chat_instance: 'x',
        data: encodeDecision(hA.id, 'approve'),
        message: { message_id: mA.messageId, date: 0, chat: { id: ALICE.id, type: 'private' }, text: 'x' },
      },
    };
    const post = (url: string, secret: string | undefined) =>
      fetch(url.replace('https://ony.test', base), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(secret !== undefined && { 'x-telegram-bot-api-secret-token': secret }),
        },
        body: JSON.stringify(update),
      });
    // A's path with B's secret, B's path with A's secret, the server's path with A's secret.
    expect((await post(botA.webhook!.url, botB.webhook!.secretToken)).status).toBe(403);
    expect((await post(botB.webhook!.url, botA.webhook!.secretToken)).status).toBe(403);
    expect((await post('https://ony.test/webhooks/telegram', botA.webhook!.secretToken)).status).toBe(403);
    expect(
      (await post('https://ony.test/webhooks/telegram/o/AAAAAAAAAAAAAAAAAAAAAA', botA.webhook!.secretToken))
        .status,
    ).toBe(403);
    expect((await post(botA.webhook!.url, undefined)).status).toBe(401);
    expect(await statusOf(t, hA.id)).toBe('pending');
    expect(await auditCount(t)).toBe(audit);
    expect(botA.callsOf('answerCallbackQuery').some((c) => c.params.callback_query_id === '99000100')).toBe(
      false,
    );
    // The real one, through A's path with A's secret, decides.
    expect((await post(botA.webhook!.url, botA.webhook!.secretToken)).status).toBe(200);
    expect(await statusOf(t, hA.id)).toBe('approved');
  });

  it("a link code of org A sent to org B's bot links nothing, and stays usable with A's bot", async () => {
    const dave = await addMember(t, adminA, 'dave@orga.test', 'member');
    const res = await as(t, dave, 'POST', '/v1/me/channel-links/codes', { channel: 'telegram' });
    const code = res.json<{ code: string }>().code;
    const DAVE: FakeUser = { id: 2004, first_name: 'Dave' };
    await botB.say(DAVE, `/start ${code}`);
    expect(botB.botMessages(DAVE.id).at(-1)?.text).toBe(REFUSAL_TEXT.invalid_code);
    await botA.say(DAVE, `/start ${code}`);
    expect(botA.botMessages(DAVE.id).at(-1)?.text).toMatch(/^Linked: .* in orga/);
  });
});

describe('keys and removal', () => {
  it('`ony keys rotate --data` re-encrypts the credentials, and the bot still works after', async () => {
    const before = await storedRows();
    const report = await t.container.keys.rotate({ data: true });
    expect(report.reencrypted).toBeGreaterThanOrEqual(2);
    const after = await storedRows();
    for (const [i, r] of after.entries())
      expect(Buffer.compare(r.config_enc, before[i]!.config_enc)).not.toBe(0);
    const h = await createHandoff(t, devices[adminA.orgId]!, deploy('Deploy A after rotation'));
    const m = (await telegramMessages(t, botA, h.id))[0]!;
    await botA.tap(ALICE, m, botA.buttonData(m, /Approve/));
    expect(await statusOf(t, h.id)).toBe('approved');
  });

  it('removing the org bot goes back to the server bot; its old webhook path is refused', async () => {
    const oldUrl = botB.webhook!.url;
    const oldSecret = botB.webhook!.secretToken!;
    const del = await as(t, adminB, 'DELETE', '/v1/admin/channels/own/telegram');
    expect(del.statusCode, del.body).toBe(204);
    expect((await as(t, adminB, 'DELETE', '/v1/admin/channels/own/telegram')).statusCode).toBe(404);
    const view = await as(t, adminB, 'GET', '/v1/admin/channels/own');
    expect(view.json()).toMatchObject({ telegram: { source: 'server' } });
    const res = await fetch(oldUrl.replace('https://ony.test', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': oldSecret },
      body: JSON.stringify({
        update_id: 1,
        message: { message_id: 1, date: 0, chat: { id: 1, type: 'private' } },
      }),
    });
    expect(res.status).toBe(403);
    const audit = await sql<{ meta: unknown }>`
      select meta from audit_events where action = 'channel.credentials_removed'`.execute(t.database.db);
    expect(audit.rows.map((r) => r.meta)).toEqual([{ kind: 'telegram' }]);
  });

  it('org erasure destroys the credentials with the data key', async () => {
    await t.container.erasure.eraseNow(adminA.orgId);
    const rows = await sql<{ n: number }>`
      select count(*)::int as n from org_channel_credentials where org_id = ${adminA.orgId}`.execute(
      t.database.db,
    );
    expect(rows.rows[0]!.n).toBe(0);
    const keys = await sql<{ n: number }>`
      select count(*)::int as n from org_keys where org_id = ${adminA.orgId}`.execute(t.database.db);
    expect(keys.rows[0]!.n).toBe(0);
    const res = await fetch(botA.webhook!.url.replace('https://ony.test', base), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-telegram-bot-api-secret-token': botA.webhook!.secretToken!,
      },
      body: JSON.stringify({
        update_id: 2,
        message: { message_id: 1, date: 0, chat: { id: 1, type: 'private' } },
      }),
    });
    expect(res.status).toBe(403);
  });
});

describe('saves at the same moment', () => {
  it('two orgs saving the same new bot at once: one keeps it, the other gets 409, never a 500', async () => {
    const token = '7400004:AAHorgDbotTokenForTestsOnly_qrstuvwx';
    fake.addBot(token, 'race_bot').resolve('ony.test', base);
    const d = await createOrgWithAdmin(t, 'orgd');
    const e = await createOrgWithAdmin(t, 'orge');
    const answers = await Promise.all(
      [d, e].map((a) => as(t, a, 'PUT', '/v1/admin/channels/own/telegram', { bot_token: token })),
    );
    const statuses = answers.map((r) => r.statusCode).sort();
    expect(statuses, answers.map((r) => r.body).join('\n')).toEqual([200, 409]);
    const owners = (await storedRows()).filter((r) => r.org_id === d.orgId || r.org_id === e.orgId);
    expect(owners).toHaveLength(1);
  });
});
