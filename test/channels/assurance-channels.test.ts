/**
 * Assurance levels on Telegram, SMS and the phone (docs/assurance.md), end to end: the real server
 * talks to the fake Telegram Bot API (telegraf's real client) and to the Twilio fake (signed
 * webhooks, TwiML), and each fake plays the person. A critical handoff needs A2 by default:
 *
 * - an approval below it is refused, says how to step up, and decides nothing;
 * - with the channel's TOTP step-up it is approved, and `decision.assurance` and the audit entry
 *   record A2 on that channel with `step_up: 'totp'`;
 * - a deny below the minimum decides at once.
 */
import { sql } from 'kysely';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUSAL_TEXT, REPLIES } from '../../src/channels/telegram/render.js';
import { SAY } from '../../src/core/telephony/call-flow.js';
import { SMS_REPLIES } from '../../src/core/telephony/sms.js';
import { startFakeTelegram, type FakeMessage, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';
import type { TelephonyFake } from '../fakes/telephony.js';
import { startTwilioFake } from '../fakes/twilio.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

const PUBLIC_URL = 'https://ony.test';
const TOKEN = '7000002:AAHfakeTokenForAssuranceTests_012345';
const SECRET = 'assurance-webhook-secret_0123456789';
const TG_TOTP: FakeUser = { id: 2001, first_name: 'Tess', username: 'tess_tg' };
const TG_PLAIN: FakeUser = { id: 2002, first_name: 'Paul' };
const TOTP_PHONE = '+14155550111';
const PLAIN_PHONE = '+14155550112';

let tg: FakeTelegram;
let tel: TelephonyFake;
let t: TestServer;
let admin: Actor;
let device: string;
/** Members with TOTP enrolled (one per channel kind), and members without. */
let tgTotp: Member;
let tgPlain: Actor;
let phTotp: Member;
let phPlain: Actor;

interface Member {
  actor: Actor;
  secret: string;
  lastStep: number;
}

const stepNow = () => Math.floor(t.clock.now().getTime() / 30_000);

/**
 * A fresh TOTP code for `m`: the server accepts one step either side and never the same step twice,
 * so each code takes the step after the member's last one (waiting for the clock only if two steps
 * ahead). The clock stays on the wall clock: the job queue schedules against it.
 */
async function totpNext(m: Member): Promise<string> {
  const step = Math.max(stepNow() - 1, m.lastStep + 1);
  while (step > stepNow() + 1) await new Promise((r) => setTimeout(r, 1000));
  m.lastStep = step;
  return generateSync({ secret: m.secret, epoch: step * 30 });
}

async function enrolTotp(actor: Actor): Promise<Member> {
  const secret = (await as(t, actor, 'POST', '/v1/me/totp')).json<{ secret: string }>().secret;
  const m: Member = { actor, secret, lastStep: stepNow() - 2 };
  const ok = await as(t, actor, 'POST', '/v1/me/totp/confirm', { code: await totpNext(m) });
  expect(ok.statusCode, ok.body).toBeLessThan(300);
  return m;
}

async function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every critical handoff is asked on this one channel (the minimum stays the default, A2). */
async function criticalOn(channel: 'telegram' | 'phone' | 'sms') {
  const res = await as(t, admin, 'PUT', '/v1/admin/policies', {
    escalation_policy: {
      levels: { critical: { rule: 'approve', steps: [{ after_s: 0, channel, targets: 'all' }] } },
    },
  });
  expect(res.statusCode, res.body).toBe(200);
}

async function critical(title: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${device}` },
    payload: {
      action: { type: 'db.query' },
      title,
      payload: { kind: 'sql', content: 'DROP DATABASE prod;' },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  const h = res.json<{ id: string; risk: { level: string }; min_assurance: string }>();
  expect(h.risk.level).toBe('critical');
  expect(h.min_assurance).toBe('A2');
  return h;
}

/** The handoff as the agent reads it (GET /v1/handoffs/{id}). */
const view = async (id: string) =>
  (await t.app.inject({ url: `/v1/handoffs/${id}`, headers: { authorization: `Bearer ${device}` } })).json<{
    status: string;
    decision: { channel: string; assurance: Record<string, unknown> | null } | null;
  }>();

async function auditOf(id: string, action: string) {
  const r = await as(t, admin, 'GET', `/v1/admin/audit?subject_id=${id}&action=${action}`);
  expect(r.statusCode, r.body).toBe(200);
  return r.json<{ entries: { meta: Record<string, unknown> }[] }>().entries;
}

const approvalRows = async (id: string) =>
  (
    await sql<{
      n: number;
    }>`select count(*)::int as n from handoff_approvals where handoff_id = ${id}`.execute(t.database.db)
  ).rows[0]!.n;

/** Refused and nothing decided: still pending, no approval row, no decision in the audit chain. */
async function nothingDecided(id: string) {
  expect((await view(id)).status).toBe('pending');
  expect(await approvalRows(id)).toBe(0);
  expect(await auditOf(id, 'handoff.decided')).toEqual([]);
}

/** Approved at A2 on `channel` with a TOTP step-up: in the agent's view and in the audit chain. */
async function approvedAtA2(id: string, channel: string, identity: string) {
  const expected = {
    level: 'A2',
    channel,
    step_up: 'totp',
    identity,
    session_age_s: null,
    amr: null,
    acr: null,
  };
  const v = await view(id);
  expect(v.status).toBe('approved');
  expect(v.decision!.channel).toBe(channel);
  expect(v.decision!.assurance).toEqual(expected);
  const [entry] = await auditOf(id, 'handoff.decided');
  expect(entry!.meta).toMatchObject({ channel, assurance: expected });
  // The step-up kind is recorded, never the code.
  expect(JSON.stringify(entry!.meta)).not.toMatch(/\d{6}/);
}

/** Denied at once at A1 on `channel` (a deny never needs a step-up). */
async function deniedAtA1(id: string, channel: string, identity: string) {
  const v = await view(id);
  expect(v.status).toBe('denied');
  expect(v.decision!.assurance).toMatchObject({ level: 'A1', channel, step_up: 'none', identity });
  const [entry] = await auditOf(id, 'handoff.decided');
  expect(entry!.meta).toMatchObject({ channel, assurance: { level: 'A1', step_up: 'none' } });
}

/** The Telegram message the escalation sent `user` for a handoff. */
async function tgMessage(handoffId: string, user: FakeUser): Promise<FakeMessage> {
  const ref = await eventually(async () => {
    const rows = (
      await sql<{ ref: string }>`
        select ref from channel_messages where handoff_id = ${handoffId} and channel = 'telegram'`.execute(
        t.database.db,
      )
    ).rows;
    return rows.find((r) => r.ref.startsWith(`${user.id}:`))?.ref;
  });
  const [chat, id] = ref.split(':');
  return tg.message(Number(chat), Number(id))!;
}

const lastBotText = (chatId: number) => tg.botMessages(chatId).at(-1)?.text;

async function linkTelegram(actor: Actor, user: FakeUser) {
  const res = await as(t, actor, 'POST', '/v1/me/channel-links/codes', { channel: 'telegram' });
  expect(res.statusCode, res.body).toBe(201);
  await tg.say(user, `/start ${res.json<{ code: string }>().code}`);
  expect(lastBotText(user.id)).toMatch(/^Linked/);
}

async function verifyPhone(actor: Actor, phone: string) {
  expect((await as(t, actor, 'PATCH', '/v1/me', { phone })).statusCode).toBe(200);
  const sent = tel.waitForSms(phone);
  const req = await as(t, actor, 'POST', '/v1/me/phone/verification', { via: 'sms' });
  expect(req.statusCode, req.body).toBe(202);
  const code = /\b(\d{6})\b/.exec((await sent).text)![1]!;
  const ok = await as(t, actor, 'POST', '/v1/me/phone/verification/confirm', { code });
  expect(ok.statusCode, ok.body).toBe(200);
}

beforeAll(async () => {
  tg = await startFakeTelegram(TOKEN);
  tel = await startTwilioFake({ publicUrl: PUBLIC_URL });
  t = await startTestServer({
    ...tel.env,
    ONY_PUBLIC_URL: PUBLIC_URL,
    ONY_TELEPHONY_CALLS_PER_15MIN: '100',
    ONY_TELEPHONY_SMS_PER_15MIN: '100',
    ONY_TELEGRAM_BOT_TOKEN: TOKEN,
    ONY_TELEGRAM_API_ROOT: tg.url,
    ONY_TELEGRAM_MODE: 'webhook',
    ONY_TELEGRAM_WEBHOOK_SECRET: SECRET,
  });
  const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  tg.resolve('ony.test', base);
  tel.setTarget(base);
  admin = await createOrgWithAdmin(t, 'assurech');
  device = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>()
    .token;
  tgTotp = await enrolTotp(await addMember(t, admin, 'tess@assurech.test', 'member'));
  tgPlain = await addMember(t, admin, 'paul@assurech.test', 'member');
  await linkTelegram(tgTotp.actor, TG_TOTP);
  await linkTelegram(tgPlain, TG_PLAIN);
  phTotp = await enrolTotp(await addMember(t, admin, 'tina@assurech.test', 'member'));
  phPlain = await addMember(t, admin, 'pete@assurech.test', 'member');
  await verifyPhone(phTotp.actor, TOTP_PHONE);
  await verifyPhone(phPlain, PLAIN_PHONE);
}, 60_000);

afterAll(async () => {
  await t?.close();
  await tg?.close();
  await tel?.close();
});

describe('Telegram', () => {
  it('below A2 without TOTP: refused with the dashboard link in the private chat; nothing decided', async () => {
    await criticalOn('telegram');
    const h = await critical('drop prod from Telegram');
    const msg = await tgMessage(h.id, TG_PLAIN);
    const { queryId, delivery } = await tg.tap(TG_PLAIN, msg, tg.buttonData(msg, /Approve/));
    expect(delivery?.status).toBe(200);
    expect(tg.callbackAnswers.get(queryId)).toEqual({
      text: REFUSAL_TEXT.assurance_required,
      show_alert: true,
    });
    const advice = lastBotText(TG_PLAIN.id)!;
    expect(advice).toMatch(/needs assurance A2; this answer was A1 \(A1 · telegram · linked account\)/);
    expect(advice).toMatch(/Enrol TOTP in ony to approve from here, or decide in the ony dashboard/);
    expect(advice).toContain(`${PUBLIC_URL}/handoffs/${h.id}`);
    await nothingDecided(h.id);
    expect(msg.edits).toBe(0);
  });

  it('with TOTP: asked for the code, then approved at A2 (telegram, totp), recorded in the audit chain', async () => {
    await criticalOn('telegram');
    const h = await critical('drop prod with a second factor');
    const msg = await tgMessage(h.id, TG_TOTP);
    const { queryId } = await tg.tap(TG_TOTP, msg, tg.buttonData(msg, /Approve/));
    expect(tg.callbackAnswers.get(queryId)).toEqual({
      text: REFUSAL_TEXT.totp_required,
      show_alert: false,
    });
    expect(lastBotText(TG_TOTP.id)).toBe(REPLIES.stepUpPrompt);
    await nothingDecided(h.id);

    const reply = await tg.say(TG_TOTP, await totpNext(tgTotp));
    expect(lastBotText(TG_TOTP.id)).toBe('Approved. The agent is told now.');
    await eventually(() => (reply.message.deleted ? true : undefined));
    await approvedAtA2(h.id, 'telegram', 'chat_link');
  });

  it('a deny below the minimum decides at once', async () => {
    await criticalOn('telegram');
    const h = await critical('drop prod, denied');
    const msg = await tgMessage(h.id, TG_PLAIN);
    const { queryId } = await tg.tap(TG_PLAIN, msg, tg.buttonData(msg, /Deny/));
    expect(tg.callbackAnswers.get(queryId)).toEqual({
      text: 'Denied. The agent is told now.',
      show_alert: false,
    });
    await deniedAtA1(h.id, 'telegram', 'chat_link');
  });
});

describe('SMS', () => {
  /** The reply code of the approval text sent to `phone` for a critical handoff. */
  async function replyCode(sent: Promise<{ text: string }>): Promise<string> {
    const sms = await sent;
    const code = /Reply (\d+)A and your 6-digit code to approve/.exec(sms.text)?.[1];
    expect(code, sms.text).toBeDefined();
    return code!;
  }

  it('below A2 with TOTP enrolled: the reply asks for code + TOTP; nothing decided; then code + TOTP approves at A2', async () => {
    await criticalOn('sms');
    const sent = tel.waitForSms(TOTP_PHONE);
    const h = await critical('drop prod by SMS');
    const code = await replyCode(sent);

    const refused = tel.waitForSms(TOTP_PHONE);
    expect((await tel.receiveSms(TOTP_PHONE, `${code}A`)).status).toBe(200);
    expect((await refused).text).toBe(SMS_REPLIES.totpRequired);
    expect(SMS_REPLIES.totpRequired).toMatch(/6-digit code, e\.g\. 1A 123456/);
    await nothingDecided(h.id);

    const ok = tel.waitForSms(TOTP_PHONE);
    await tel.receiveSms(TOTP_PHONE, `${code}A ${await totpNext(phTotp)}`);
    expect((await ok).text).toBe(SMS_REPLIES.approved);
    await approvedAtA2(h.id, 'sms', 'phone_number');
  });

  it('below A2 without TOTP: the reply says to decide in the dashboard, with the link; nothing decided', async () => {
    await criticalOn('sms');
    const sent = tel.waitForSms(PLAIN_PHONE);
    const h = await critical('drop prod by SMS, no TOTP');
    const code = await replyCode(sent);
    const refused = tel.waitForSms(PLAIN_PHONE);
    await tel.receiveSms(PLAIN_PHONE, `${code}A`);
    const text = (await refused).text;
    expect(text).toMatch(/dashboard/);
    expect(text).toContain(`${PUBLIC_URL}/handoffs/${h.id}`);
    await nothingDecided(h.id);
  });

  it('SMS alone never approves critical, even when the policy asks only A1', async () => {
    const res = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: {
        levels: {
          critical: {
            rule: 'approve',
            min_assurance: 'A1',
            steps: [{ after_s: 0, channel: 'sms', targets: 'all' }],
          },
        },
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    const sent = tel.waitForSms(PLAIN_PHONE);
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/handoffs',
      headers: { authorization: `Bearer ${device}` },
      payload: {
        action: { type: 'db.query' },
        title: 'A1 policy',
        payload: { kind: 'sql', content: 'DROP DATABASE prod;' },
      },
    });
    const h = created.json<{ id: string; min_assurance: string }>();
    expect(h.min_assurance).toBe('A1');
    const code = await replyCode(sent);
    const refused = tel.waitForSms(PLAIN_PHONE);
    await tel.receiveSms(PLAIN_PHONE, `${code}A`);
    // The SMS answer needs A2 whatever the handoff's minimum says.
    expect((await refused).text).toMatch(
      /needs assurance A2; this answer was A1 \(A1 · sms · verified number\)/,
    );
    await nothingDecided(h.id);
  });

  it('a deny below the minimum decides at once', async () => {
    await criticalOn('sms');
    const sent = tel.waitForSms(PLAIN_PHONE);
    const h = await critical('drop prod by SMS, denied');
    const code = await replyCode(sent);
    const denied = tel.waitForSms(PLAIN_PHONE);
    await tel.receiveSms(PLAIN_PHONE, `${code}D`);
    expect((await denied).text).toBe(SMS_REPLIES.denied);
    await deniedAtA1(h.id, 'sms', 'phone_number');
  });
});

describe('phone', () => {
  /** The call to `phone` for this handoff; the other approver's call goes unanswered. */
  async function callTo(phone: string) {
    const [mine, other] = await Promise.all([
      tel.waitForCall(phone),
      tel.waitForCall(phone === TOTP_PHONE ? PLAIN_PHONE : TOTP_PHONE),
    ]);
    expect((await tel.end(other.id, 'no_answer', 0)).status).toBe(200);
    return mine;
  }

  it('below A2 with TOTP enrolled: the call asks for the code on the keypad; nothing decided; the code approves at A2', async () => {
    await criticalOn('phone');
    const h = await critical('drop prod by phone');
    const call = await callTo(TOTP_PHONE);
    const hello = await tel.answer(call.id, { answeredBy: 'human' });
    expect(hello.said.join(' ')).toContain('Press 1 to approve');
    const ask = await tel.press(call.id, '1');
    expect(ask.said).toContain(SAY.totpPrompt);
    expect(ask.gather?.digits).toBe(6);
    await nothingDecided(h.id);

    const done = await tel.press(call.id, await totpNext(phTotp));
    expect(done.said).toEqual([SAY.approved]);
    expect(done.hungUp).toBe(true);
    await tel.end(call.id, 'completed', 30);
    await approvedAtA2(h.id, 'phone', 'phone_number');
  });

  it('below A2 without TOTP: the call says to decide in the dashboard and hangs up; nothing decided', async () => {
    await criticalOn('phone');
    const h = await critical('drop prod by phone, no TOTP');
    const call = await callTo(PLAIN_PHONE);
    await tel.answer(call.id, { answeredBy: 'human' });
    const refused = await tel.press(call.id, '1');
    expect(refused.said.join(' ')).toMatch(/Decide in the ony dashboard/);
    expect(refused.hungUp).toBe(true);
    await tel.end(call.id, 'completed', 12);
    await nothingDecided(h.id);
  });

  it('a deny below the minimum decides at once', async () => {
    await criticalOn('phone');
    const h = await critical('drop prod by phone, denied');
    const call = await callTo(PLAIN_PHONE);
    await tel.answer(call.id, { answeredBy: 'human' });
    const denied = await tel.press(call.id, '2');
    expect(denied.said).toEqual([SAY.denied]);
    await tel.end(call.id, 'completed', 9);
    await deniedAtA1(h.id, 'phone', 'phone_number');
  });
});
