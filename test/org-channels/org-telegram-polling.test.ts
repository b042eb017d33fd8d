/**
 * An org's own Telegram bot in polling mode (issue #24 part 2: "one poller runs per bot"): saving
 * the bot starts a getUpdates poller for it beside the server bot's; updates to the org bot are
 * fetched, linked and decided in that org; removing the bot stops its poller while the server
 * bot's keeps running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTelegram, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';
import { as, createOrgWithAdmin, startTestServer, type Actor, type TestServer } from '../helpers/app.js';
import { eventually, telegramMessages } from '../helpers/chat.js';

const SERVER_TOKEN = '7000011:AAHserverBotTokenForPollTests_0123456';
const TOKEN_A = '7100011:AAHorgAbotTokenForPollTestsOnly_abcdef';
const ALICE: FakeUser = { id: 3001, first_name: 'Alice', username: 'alice_poll' };
const SERVER_USER: FakeUser = { id: 3002, first_name: 'Sam' };

/** A poller's first getUpdates can wait for its next reload: generous, as the old local helper was. */
const POLL_MS = 30_000;

let fake: FakeTelegram;
let botA: FakeTelegram;
let t: TestServer;
let admin: Actor;

beforeAll(async () => {
  fake = await startFakeTelegram(SERVER_TOKEN);
  botA = fake.addBot(TOKEN_A, 'org_a_poll_bot');
  t = await startTestServer({
    ONY_TELEGRAM_BOT_TOKEN: SERVER_TOKEN,
    ONY_TELEGRAM_API_ROOT: fake.url,
    ONY_TELEGRAM_MODE: 'polling',
  });
  admin = await createOrgWithAdmin(t, 'pollown');
}, 90_000);

afterAll(async () => {
  await t?.close();
  await fake?.close();
});

describe("an org's own bot in polling mode", () => {
  it('polls its own getUpdates, links and decides in its org; removing the bot stops its poller only', async () => {
    const saved = await as(t, admin, 'PUT', '/v1/admin/channels/own/telegram', { bot_token: TOKEN_A });
    expect(saved.statusCode, saved.body).toBe(200);
    // Its poller runs: getUpdates calls arrive with the org bot's token.
    await eventually(() => (botA.callsOf('getUpdates').length > 0 ? true : undefined), POLL_MS);
    expect(botA.callsOf('getUpdates').every((c) => c.token === TOKEN_A)).toBe(true);

    const code = (await as(t, admin, 'POST', '/v1/me/channel-links/codes', { channel: 'telegram' })).json<{
      code: string;
    }>().code;
    await botA.say(ALICE, `/start ${code}`);
    await eventually(
      () => (botA.botMessages(ALICE.id).at(-1)?.text.startsWith('Linked') ? true : undefined),
      POLL_MS,
    );

    const device = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{
      token: string;
    }>().token;
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: {
        levels: { medium: { rule: 'approve', steps: [{ after_s: 0, channel: 'telegram', targets: 'all' }] } },
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/handoffs',
      headers: { authorization: `Bearer ${device}` },
      payload: { action: { type: 'deploy', target: 'staging' }, title: 'Deploy via polling' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    const msg = (await telegramMessages(t, botA, id, 1, POLL_MS))[0]!;
    const { queryId } = await botA.tap(ALICE, msg, botA.buttonData(msg, /Approve/));
    await eventually(() => (botA.callbackAnswers.has(queryId) ? true : undefined), POLL_MS);
    const view = await as(t, admin, 'GET', `/v1/handoffs/${id}`);
    expect(view.json()).toMatchObject({ status: 'approved', decision: { channel: 'telegram' } });
    await eventually(() => (botA.pendingUpdates() === 0 ? true : undefined), POLL_MS);

    // Removed: the org bot's updates stay unfetched while the server bot's poller still answers.
    const removed = await as(t, admin, 'DELETE', '/v1/admin/channels/own/telegram');
    expect(removed.statusCode, removed.body).toBe(204);
    await botA.say(ALICE, '/help');
    await fake.say(SERVER_USER, '/help');
    await eventually(() => (fake.botMessages(SERVER_USER.id).length > 0 ? true : undefined), POLL_MS);
    expect(botA.pendingUpdates()).toBe(1);
  }, 120_000);
});
