/**
 * The Telegram channel end to end: the real server (container, jobs, database) talks to a fake Bot
 * API through telegraf's real client, and the fake delivers updates back the way Telegram does: to
 * the webhook registered with setWebhook, with the secret token header, over real HTTP; or, in
 * polling mode, as answers to the bot's getUpdates long polls.
 */
import { sql } from 'kysely';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDecision, encodeDecision } from '../../src/channels/telegram/callback-data.js';
import { REFUSAL_TEXT, REPLIES } from '../../src/channels/telegram/render.js';
import { deriveWebhookSecret } from '../../src/channels/telegram/secret.js';
import { startFakeTelegram, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';
import { SecretGenerator } from '../fixtures/redact-corpus.js';
import { realRedisUrl } from '../helpers/db.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { auditCount, createHandoff, eventually, statusOf, telegramMessages } from '../helpers/chat.js';

const TOKEN = '7000001:AAHfakeTokenForTestsOnly_0123456789';
const SECRET = 'webhook-secret_for-tests-0123456789';
const ALICE: FakeUser = { id: 1001, first_name: 'Alice', username: 'alice_tg' };
const VIC: FakeUser = { id: 1002, first_name: 'Vic' };
const EVE: FakeUser = { id: 1003, first_name: 'Eve', username: 'eve_tg' };
const STRANGER: FakeUser = { id: 1099, first_name: 'Stranger' };

const telegramSteps = { rule: 'approve', steps: [{ after_s: 0, channel: 'telegram', targets: 'all' }] };

let fake: FakeTelegram;
let t: TestServer;
let base: string;
let admin: Actor;
let alice: Actor;
let deviceToken: string;

const medium = (title: string, extra: Record<string, unknown> = {}) => ({
  action: { type: 'deploy', target: 'staging' },
  title,
  ...extra,
});

async function linkCode(server: TestServer, actor: Actor): Promise<string> {
  const res = await as(server, actor, 'POST', '/v1/me/channel-links/codes', { channel: 'telegram' });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ code: string }>().code;
}

const lastBotText = (f: FakeTelegram, chatId: number) => f.botMessages(chatId).at(-1)?.text;

beforeAll(async () => {
  fake = await startFakeTelegram(TOKEN);
  t = await startTestServer({
    ONY_TELEGRAM_BOT_TOKEN: TOKEN,
    ONY_TELEGRAM_API_ROOT: fake.url,
    ONY_TELEGRAM_MODE: 'webhook',
    ONY_TELEGRAM_WEBHOOK_SECRET: SECRET,
  });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  // "DNS" for the fake: the public URL's host is this test server.
  fake.resolve('ony.test', base);
  admin = await createOrgWithAdmin(t, 'tgorg');
  alice = await addMember(t, admin, 'alice@tgorg.test', 'member');
  deviceToken = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>()
    .token;
  const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
    escalation_policy: { levels: { medium: telegramSteps } },
  });
  expect(put.statusCode, put.body).toBe(200);
}, 60_000);

afterAll(async () => {
  await t?.close();
  await fake?.close();
});

describe('webhook registration', () => {
  it('registers the webhook with the secret token at start', () => {
    expect(fake.webhook).toEqual({
      url: 'https://ony.test/webhooks/telegram',
      secretToken: SECRET,
      allowedUpdates: ['message', 'callback_query'],
    });
    expect(fake.callsOf('setWebhook').every((c) => c.token === TOKEN)).toBe(true);
  });
});

describe('linking with /start <code>', () => {
  it('links the private chat user to the member who got the code, once', async () => {
    const code = await linkCode(t, alice);
    const { delivery } = await fake.say(ALICE, `/start ${code}`);
    expect(delivery?.status).toBe(200);
    expect(lastBotText(fake, ALICE.id)).toBe(
      'Linked: this Telegram account now answers as alice in tgorg. Approval requests will arrive here.',
    );
    const links = await as(t, alice, 'GET', '/v1/me/channel-links');
    expect(JSON.stringify(links.json())).toContain('@alice_tg');
    const rows = await sql<{ external_id: string }>`
      select external_id from channel_identities where channel = 'telegram'`.execute(t.database.db);
    expect(rows.rows).toEqual([{ external_id: '1001' }]);

    // The same code again (by someone else): refused, nothing linked.
    await fake.say(STRANGER, `/start ${code}`);
    expect(lastBotText(fake, STRANGER.id)).toBe(REFUSAL_TEXT.invalid_code);
    await fake.say(STRANGER, '/start NOTACODE');
    expect(lastBotText(fake, STRANGER.id)).toBe(REFUSAL_TEXT.invalid_code);
    await fake.say(STRANGER, '/start');
    expect(lastBotText(fake, STRANGER.id)).toBe(REPLIES.startHelp);
    const after = await sql<{ n: number }>`
      select count(*)::int as n from channel_identities where channel = 'telegram'`.execute(t.database.db);
    expect(after.rows[0]!.n).toBe(1);
  });

  it('refuses to link from a group chat, and keeps the code usable', async () => {
    const vic = await addMember(t, admin, 'vic@tgorg.test', 'viewer');
    const code = await linkCode(t, vic);
    await fake.say(VIC, `/start ${code}`, { id: -100777, type: 'supergroup' });
    expect(lastBotText(fake, -100777)).toBe(REPLIES.startInGroup);
    const rows = await sql<{ n: number }>`
      select count(*)::int as n from channel_identities where external_id = '1002'`.execute(t.database.db);
    expect(rows.rows[0]!.n).toBe(0);
    // In the private chat the same code still works.
    await fake.say(VIC, `/start ${code}`);
    expect(lastBotText(fake, VIC.id)).toMatch(/^Linked: this Telegram account now answers as vic/);
  });

  // Codes live in the ephemeral store with a TTL; Redis expires them on its own clock, not the test's.
  it.skipIf(realRedisUrl !== undefined)('refuses an expired code', async () => {
    const code = await linkCode(t, admin);
    t.clock.advance(16 * 60_000);
    await fake.say({ id: 1050, first_name: 'Late' }, `/start ${code}`);
    t.clock.sync(); // escalation jobs start at the database's time
    expect(lastBotText(fake, 1050)).toBe(REFUSAL_TEXT.invalid_code);
  });
});

describe('sending and deciding', () => {
  it('sends the gist with one button per option to each linked approver, then edits it in place after a tap', async () => {
    const h = await createHandoff(t, deviceToken, medium('Deploy api to staging'));
    const [msg] = await telegramMessages(t, fake, h.id);
    // Alice only: the admin has not linked Telegram, and the viewer is not an approver.
    expect(msg!.chatId).toBe(ALICE.id);
    expect(fake.botMessages(VIC.id).some((m) => m.text.includes(h.short_code))).toBe(false);
    expect(msg!.text).toContain('Approval needed');
    expect(msg!.text).toContain(h.short_code);
    expect(msg!.text).toContain('Deploy api to staging');
    expect(msg!.text).toContain(`https://ony.test/handoffs/${h.id}`);
    const send = fake
      .callsOf('sendMessage')
      .find((c) => c.params.chat_id === '1001' && c.raw.includes(h.short_code))!;
    expect(send.params.parse_mode).toBe('HTML');
    const rows = (msg!.replyMarkup!.inline_keyboard as { text: string; callback_data: string }[][]).flat();
    expect(rows.map((b) => b.text)).toEqual(['✅ Approve', '❌ Deny']);
    expect(rows.map((b) => decodeDecision(b.callback_data))).toEqual([
      { handoffId: h.id, option: 'approve' },
      { handoffId: h.id, option: 'deny' },
    ]);

    const { queryId, delivery } = await fake.tap(ALICE, msg!, fake.buttonData(msg!, /Approve/));
    expect(delivery?.status).toBe(200);
    expect(fake.callbackAnswers.get(queryId)).toEqual({
      text: 'Approved. The agent is told now.',
      show_alert: false,
    });
    expect(await statusOf(t, h.id)).toBe('approved');
    const edited = await eventually(() => (msg!.edits > 0 ? msg : undefined));
    expect(edited!.text).toMatch(/^✅ Approved by alice via telegram at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(edited!.replyMarkup).toBeUndefined();
  });

  it('a redelivered update and a second tap change nothing', async () => {
    const h = await createHandoff(t, deviceToken, medium('Deploy once'));
    const [msg] = await telegramMessages(t, fake, h.id);
    await fake.tap(ALICE, msg!, fake.buttonData(msg!, /Deny/));
    expect(await statusOf(t, h.id)).toBe('denied');
    const audit = await auditCount(t);
    const answers = fake.callsOf('answerCallbackQuery').length;
    // Telegram delivers the same update again (our answer was lost): handled once.
    const again = await fake.deliver(fake.deliveries.at(-1)!.update);
    expect(again?.status).toBe(200);
    expect(fake.callsOf('answerCallbackQuery')).toHaveLength(answers);
    // A new tap on the old button (approve this time): refused, nothing changes.
    const { queryId } = await fake.tap(ALICE, msg!, encodeDecision(h.id, 'approve'));
    expect(fake.callbackAnswers.get(queryId)).toEqual({
      text: REFUSAL_TEXT.already_decided,
      show_alert: true,
    });
    expect(await statusOf(t, h.id)).toBe('denied');
    expect(await auditCount(t)).toBe(audit);
  });

  it('a replayed update is ignored even after the ephemeral store was wiped (#18 2.1)', async () => {
    const h = await createHandoff(t, deviceToken, medium('Deploy once, even after a Redis restart'));
    const [msg] = await telegramMessages(t, fake, h.id);
    await fake.tap(ALICE, msg!, fake.buttonData(msg!, /Deny/));
    expect(await statusOf(t, h.id)).toBe('denied');
    const captured = fake.deliveries.at(-1)!.update;
    await t.wipeStore();
    const audit = await auditCount(t);
    const answers = fake.callsOf('answerCallbackQuery').length;
    // The same signed (secret-token) request, re-posted: acknowledged, not handled again.
    const again = await fake.deliver(captured);
    expect(again?.status).toBe(200);
    expect(fake.callsOf('answerCallbackQuery')).toHaveLength(answers);
    expect(await statusOf(t, h.id)).toBe('denied');
    expect(await auditCount(t)).toBe(audit);
  });

  it('refuses the unlinked, a viewer, another org, an unknown option, a foreign button and an expired handoff', async () => {
    const other = await createOrgWithAdmin(t, 'otherorg');
    const code = await linkCode(t, other);
    await fake.say(EVE, `/start ${code}`);
    expect(lastBotText(fake, EVE.id)).toMatch(/^Linked/);

    const h = await createHandoff(t, deviceToken, medium('Refuse them all', { timeout_s: 60 }));
    const [msg] = await telegramMessages(t, fake, h.id);
    const audit = await auditCount(t);
    const cases: [FakeUser, string, string][] = [
      [STRANGER, encodeDecision(h.id, 'approve'), REFUSAL_TEXT.not_linked],
      [VIC, encodeDecision(h.id, 'approve'), REFUSAL_TEXT.not_allowed],
      [EVE, encodeDecision(h.id, 'approve'), REFUSAL_TEXT.not_found],
      [ALICE, encodeDecision(h.id, 'ship-it'), REFUSAL_TEXT.unknown_option],
      [ALICE, 'something-else', REPLIES.unknownButton],
    ];
    for (const [user, data, text] of cases) {
      const { queryId, delivery } = await fake.tap(user, msg!, data);
      expect(delivery?.status).toBe(200);
      expect(fake.callbackAnswers.get(queryId), `${user.first_name} ${data}`).toEqual({
        text,
        show_alert: true,
      });
    }
    expect(await statusOf(t, h.id)).toBe('pending');
    expect(await auditCount(t)).toBe(audit);
    expect(msg!.edits).toBe(0);

    t.clock.advance(61_000);
    const { queryId } = await fake.tap(ALICE, msg!, encodeDecision(h.id, 'approve'));
    t.clock.sync();
    expect(fake.callbackAnswers.get(queryId)).toEqual({ text: REFUSAL_TEXT.expired, show_alert: true });
    expect(await statusOf(t, h.id)).toBe('expired');
    const edited = await eventually(() => (msg!.edits > 0 ? msg : undefined));
    expect(edited!.text).toMatch(/^⌛ Expired without a decision/);
    expect(edited!.replyMarkup).toBeUndefined();
  });
});

describe('the webhook refuses what Telegram did not send', () => {
  const post = (headers: Record<string, string>, body: string) =>
    fetch(`${base}/webhooks/telegram`, { method: 'POST', headers, body });

  it('missing or wrong secret: 401/403 and nothing happens; malformed bodies: 400', async () => {
    const h = await createHandoff(t, deviceToken, medium('Forged taps'));
    const [msg] = await telegramMessages(t, fake, h.id);
    const forged = JSON.stringify({
      update_id: 999_999_001,
      callback_query: {
        id: 'forged-1',
        from: { id: ALICE.id, is_bot: false, first_name: 'Alice' },
        data: encodeDecision(h.id, 'approve'),
        message: { message_id: msg!.messageId, chat: { id: ALICE.id, type: 'private' }, date: 1 },
      },
    });
    const json = { 'content-type': 'application/json' };
    const calls = fake.calls.length;
    const audit = await auditCount(t);

    const missing = await post(json, forged);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    for (const wrong of [`${SECRET}x`, SECRET.slice(0, -1), deriveWebhookSecret(TOKEN), 'x']) {
      const res = await post({ ...json, 'x-telegram-bot-api-secret-token': wrong }, forged);
      expect(res.status, wrong).toBe(403);
    }
    // Checked before the body is read: a wrong secret with a broken body is still 403, not 400.
    expect((await post({ ...json, 'x-telegram-bot-api-secret-token': 'nope' }, '{not json')).status).toBe(
      403,
    );
    expect(await statusOf(t, h.id)).toBe('pending');
    expect(await auditCount(t)).toBe(audit);
    expect(fake.calls.length).toBe(calls);

    const good = { ...json, 'x-telegram-bot-api-secret-token': SECRET };
    expect((await post(good, '{not json')).status).toBe(400);
    expect((await post(good, JSON.stringify({ hello: 'world' }))).status).toBe(400);
    expect((await post(good, '[]')).status).toBe(400);
    expect(
      (await post({ 'content-type': 'text/plain', 'x-telegram-bot-api-secret-token': SECRET }, forged))
        .status,
    ).toBe(415);
    // An update kind the bot does not act on: accepted (so Telegram does not retry), ignored.
    expect((await post(good, JSON.stringify({ update_id: 999_999_002, edited_message: {} }))).status).toBe(
      200,
    );
    expect(await statusOf(t, h.id)).toBe('pending');
    expect(fake.calls.length).toBe(calls);

    // The same forged update with the right secret is what Telegram would send: it decides.
    expect((await post(good, forged)).status).toBe(200);
    expect(await statusOf(t, h.id)).toBe('approved');
  });
});

describe('TOTP step-up', () => {
  it('asks for the code with force_reply, takes the reply (3 tries), deletes it, then decides', async () => {
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { medium: { ...telegramSteps, require_totp: true } } },
    });
    expect(put.statusCode, put.body).toBe(200);
    const secret = (await as(t, alice, 'POST', '/v1/me/totp')).json<{ secret: string }>().secret;
    const confirm = await as(t, alice, 'POST', '/v1/me/totp/confirm', {
      code: generateSync({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) }),
    });
    expect(confirm.statusCode, confirm.body).toBeLessThan(300);

    // A code with nothing pending is answered, not used.
    await fake.say(ALICE, '123456');
    expect(lastBotText(fake, ALICE.id)).toBe(REPLIES.stepUpNothingPending);

    const h = await createHandoff(t, deviceToken, medium('Deploy with a second factor'));
    const [msg] = await telegramMessages(t, fake, h.id);
    t.clock.advance(31_000); // past the enrolment code's time step
    const { queryId } = await fake.tap(ALICE, msg!, fake.buttonData(msg!, /Approve/));
    expect(fake.callbackAnswers.get(queryId)).toEqual({
      text: REFUSAL_TEXT.totp_required,
      show_alert: false,
    });
    const prompt = fake.callsOf('sendMessage').at(-1)!;
    expect(prompt.params.reply_markup).toMatchObject({ force_reply: true });
    expect(lastBotText(fake, ALICE.id)).toBe(REPLIES.stepUpPrompt);
    expect(await statusOf(t, h.id)).toBe('pending');

    const wrong = await fake.say(ALICE, '000000');
    expect(lastBotText(fake, ALICE.id)).toBe(REPLIES.stepUpRetry(2));
    expect(await statusOf(t, h.id)).toBe('pending');
    await eventually(() => (wrong.message.deleted ? true : undefined));

    const right = await fake.say(
      ALICE,
      generateSync({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) }),
    );
    expect(lastBotText(fake, ALICE.id)).toBe('Approved. The agent is told now.');
    expect(await statusOf(t, h.id)).toBe('approved');
    await eventually(() => (right.message.deleted ? true : undefined));
    await eventually(() => (msg!.edits > 0 ? true : undefined));

    // Three wrong codes use up the prompt.
    t.clock.sync();
    const h2 = await createHandoff(t, deviceToken, medium('Deploy again'));
    const [msg2] = await telegramMessages(t, fake, h2.id);
    t.clock.advance(62_000);
    await fake.tap(ALICE, msg2!, fake.buttonData(msg2!, /Approve/));
    await fake.say(ALICE, '918273');
    await fake.say(ALICE, '546372');
    expect(lastBotText(fake, ALICE.id)).toBe(REPLIES.stepUpRetry(1));
    await fake.say(ALICE, '192837');
    expect(lastBotText(fake, ALICE.id)).toBe(REFUSAL_TEXT.totp_invalid);
    await fake.say(ALICE, '283746');
    expect(lastBotText(fake, ALICE.id)).toBe(REPLIES.stepUpNothingPending);
    expect(await statusOf(t, h2.id)).toBe('pending');
    // TOTP codes never reach the logs.
    for (const code of ['918273', '546372', '192837']) expect(JSON.stringify(t.logs)).not.toContain(code);

    t.clock.sync();
    await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { medium: telegramSteps } },
    });
  }, 30_000);
});

describe('provider trouble', () => {
  it('retries a 429 after its retry_after and a 502, then sends', async () => {
    fake.failNext('sendMessage', { status: 429, retryAfter: 1 });
    fake.failNext('sendMessage', { status: 502 });
    const before = fake.callsOf('sendMessage').length;
    const started = Date.now();
    const h = await createHandoff(t, deviceToken, medium('Deploy after a rate limit'));
    await telegramMessages(t, fake, h.id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    const statuses = fake
      .callsOf('sendMessage')
      .slice(before)
      .map((c) => c.status);
    expect(statuses).toEqual([429, 502, 200]);
  });

  it('an outage fails the escalation step, never the decision; the update gives up after bounded retries', async () => {
    fake.setOutage(true);
    try {
      const failed = await createHandoff(t, deviceToken, medium('Nowhere to send'));
      const outcome = await eventually(async () => {
        const r = await sql<{ outcome: string }>`
          select outcome from escalation_attempts where handoff_id = ${failed.id}`.execute(t.database.db);
        return r.rows[0]?.outcome;
      }, 40_000);
      expect(outcome).toBe('failed');
    } finally {
      fake.setOutage(false);
    }
    const h = await createHandoff(t, deviceToken, medium('Decide while Telegram is down'));
    const [msg] = await telegramMessages(t, fake, h.id);
    fake.setOutage(true);
    try {
      const started = Date.now();
      const res = await as(t, alice, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'deny' });
      expect(res.statusCode, res.body).toBe(200);
      expect(Date.now() - started).toBeLessThan(2_000);
      await eventually(
        () =>
          t.logs.some((l) => l.msg === 'could not update a channel message' && l.handoff_id === h.id)
            ? true
            : undefined,
        40_000,
      );
    } finally {
      fake.setOutage(false);
    }
    expect(msg!.edits).toBe(0);
    // The health check says so without the token.
    const health = await t.container.channels.telegram!.health();
    expect(health.ok).toBe(true);
    expect(health.detail).toBe('bot @ony_test_bot answers');
    fake.setOutage(true);
    const down = await t.container.channels.telegram!.health();
    fake.setOutage(false);
    expect(down.ok).toBe(false);
    expect(down.detail).not.toContain(TOKEN.split(':')[1]!);
  }, 90_000);

  it('a blocked chat does not stop the others', async () => {
    const bob = await addMember(t, admin, 'bob@tgorg.test', 'member');
    const code = await linkCode(t, bob);
    const BOB: FakeUser = { id: 1004, first_name: 'Bob' };
    await fake.say(BOB, `/start ${code}`);
    fake.blocked.add(ALICE.id);
    try {
      const h = await createHandoff(t, deviceToken, medium('One of two'));
      const msgs = await telegramMessages(t, fake, h.id);
      expect(msgs.map((m) => m.chatId)).toEqual([BOB.id]);
      expect(fake.callsOf('sendMessage').some((c) => c.status === 403)).toBe(true);
    } finally {
      fake.blocked.delete(ALICE.id);
    }
  });
});

describe('what leaves', () => {
  it('only the declared gist fields: no payload, no target, no unredacted secret in any request', async () => {
    const g = new SecretGenerator(606);
    const aws = `AKIA${g.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`;
    const ghp = g.checksummed('ghp_');
    const pg = 'postgres://admin:hunter2pw@db.internal:5432/prod';
    const pem = g.pem('RSA PRIVATE KEY', 4);
    const payloadMarker = 'PAYLOAD-ONLY-MARKER-7f3a';
    // Whatever risk the secrets earn this handoff, it goes to Telegram.
    const all = { low: telegramSteps, medium: telegramSteps, high: telegramSteps, critical: telegramSteps };
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', { escalation_policy: { levels: all } });
    expect(put.statusCode, put.body).toBe(200);
    const before = fake.calls.length;
    const h = await createHandoff(t, deviceToken, {
      action: { type: 'shell.exec', target: `prod-host-target ${pg}` },
      title: `Rotate ${aws} now`,
      summary: `uses ${ghp} and ${pg}\n${pem}`,
      options: [
        { id: 'approve', label: `ok ${aws}` },
        { id: 'deny', label: `no ${ghp}` },
      ],
      payload: { kind: 'text', content: `${payloadMarker}\n${pem}\n${aws}` },
    });
    const msgs = await telegramMessages(t, fake, h.id);
    const [msg] = msgs;
    await fake.tap(ALICE, msg!, fake.buttonData(msg!, /no/));
    await eventually(() => (msg!.edits > 0 ? true : undefined));
    const mine = fake.calls.slice(before);
    expect(mine.map((c) => c.method)).toEqual(
      expect.arrayContaining(['sendMessage', 'answerCallbackQuery', 'editMessageText']),
    );
    const pemBody = pem.split('\n')[1]!;
    for (const c of mine) {
      for (const s of [aws, ghp, pg, 'hunter2pw', pemBody, payloadMarker, 'prod-host-target']) {
        expect(c.raw, `${c.method} leaked ${s.slice(0, 12)}`).not.toContain(s);
      }
      const allowed: Record<string, string[]> = {
        sendMessage: ['chat_id', 'text', 'parse_mode', 'reply_markup', 'link_preview_options'],
        editMessageText: [
          'chat_id',
          'message_id',
          'text',
          'parse_mode',
          'reply_markup',
          'link_preview_options',
        ],
        answerCallbackQuery: ['callback_query_id', 'text', 'show_alert'],
      };
      expect(allowed[c.method], c.method).toBeDefined();
      expect(
        Object.keys(c.params).every((k) => allowed[c.method]!.includes(k)),
        Object.keys(c.params).join(),
      ).toBe(true);
    }
    const sent = mine.find((c) => c.method === 'sendMessage')!;
    expect(sent.raw).toContain('[REDACTED:');
    // The buttons carry the option ids and the handoff id, nothing else.
    expect(
      JSON.parse(sent.raw)
        .reply_markup.inline_keyboard.flat()
        .map((b: { callback_data: string }) => decodeDecision(b.callback_data)),
    ).toEqual([
      { handoffId: h.id, option: 'approve' },
      { handoffId: h.id, option: 'deny' },
    ]);
  });
});

describe('long polling', () => {
  let p: TestServer | undefined;
  let pf: FakeTelegram;

  afterAll(async () => {
    await p?.close();
    await pf?.close();
  });

  it('removes any webhook, polls getUpdates, links and decides; stops promptly', async () => {
    pf = await startFakeTelegram(TOKEN);
    // A webhook left over from an earlier setup: polling mode removes it first.
    pf.webhook = { url: 'https://old.example/hook', secretToken: undefined, allowedUpdates: undefined };
    const server0 = await startTestServer({
      ONY_TELEGRAM_BOT_TOKEN: TOKEN,
      ONY_TELEGRAM_API_ROOT: pf.url,
      ONY_TELEGRAM_MODE: 'polling',
    });
    p = server0;
    const ps = server0;
    expect(pf.webhook).toBeNull();
    expect(pf.callsOf('deleteWebhook')).toHaveLength(1);
    // No webhook route in polling mode.
    const route = await ps.app.inject({ method: 'POST', url: '/webhooks/telegram', payload: {} });
    expect(route.statusCode).toBe(404);

    const pAdmin = await createOrgWithAdmin(ps, 'pollorg');
    const token = (await as(ps, pAdmin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{
      token: string;
    }>().token;
    await as(ps, pAdmin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { medium: telegramSteps } },
    });
    const code = await linkCode(ps, pAdmin);
    await pf.say(ALICE, `/start ${code}`);
    await eventually(() => (lastBotText(pf, ALICE.id)?.startsWith('Linked') ? true : undefined));

    const h = await createHandoff(ps, token, medium('Deploy from behind NAT'));
    const [msg] = await telegramMessages(ps, pf, h.id);
    const { queryId } = await pf.tap(ALICE, msg!, pf.buttonData(msg!, /Approve/));
    await eventually(() => (pf.callbackAnswers.has(queryId) ? true : undefined));
    expect(await statusOf(ps, h.id)).toBe('approved');
    await eventually(() => (msg!.edits > 0 ? true : undefined));
    // Every update was confirmed (offset moved past it).
    await eventually(() => (pf.pendingUpdates() === 0 ? true : undefined));
    expect(pf.callsOf('getUpdates').every((c) => c.status === 200)).toBe(true);

    const started = Date.now();
    p = undefined;
    await ps.close();
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 60_000);
});
