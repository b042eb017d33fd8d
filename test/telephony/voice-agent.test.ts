/**
 * The optional voice agent on a real call (Twilio's fake, a fake OpenAI-compatible model): the
 * approver says "approve" (then keys the TOTP code), asks a question answered from the gist only,
 * and a model outage falls back to the keypad menu. Speech never reaches the logs or the database.
 */
import { sql } from 'kysely';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAY } from '../../src/core/telephony/call-flow.js';
import { startFakeModel, type FakeModel } from '../fakes/openai.js';
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

const PHONE = '+14155550141';
let fake: TelephonyFake;
let model: FakeModel;
let t: TestServer;
let alice: Actor;
let device: string;
let secret: string;

async function handoff(title: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${device}` },
    payload: {
      action: { type: 'deploy', target: 'staging' },
      title,
      payload: { kind: 'log', content: 'SECRET-PAYLOAD-42' },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>();
}
const statusOf = async (id: string) =>
  (await sql<{ status: string }>`select status from handoffs where id = ${id}`.execute(t.database.db))
    .rows[0]!.status;

beforeAll(async () => {
  fake = await startTwilioFake({ publicUrl: 'https://ony.test' });
  model = await startFakeModel({ apiKey: 'sk-test-voice' });
  t = await startTestServer({
    ...fake.env,
    ONY_VOICE_AGENT_URL: model.url,
    ONY_VOICE_AGENT_API_KEY: 'sk-test-voice',
    ONY_TELEPHONY_CALLS_PER_15MIN: '100',
  });
  fake.setTarget(await t.app.listen({ port: 0, host: '127.0.0.1' }));
  const admin = await createOrgWithAdmin(t, 'voiceorg');
  alice = await addMember(t, admin, 'alice@voiceorg.test', 'member');
  device = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>()
    .token;
  const step = Math.floor(Date.now() / 30_000);
  secret = (await as(t, alice, 'POST', '/v1/me/totp')).json<{ secret: string }>().secret;
  await as(t, alice, 'POST', '/v1/me/totp/confirm', {
    code: generateSync({ secret, epoch: (step - 1) * 30 }),
  });
  await as(t, alice, 'PATCH', '/v1/me', { phone: PHONE });
  const sms = fake.waitForSms(PHONE);
  await as(t, alice, 'POST', '/v1/me/phone/verification', { via: 'sms' });
  const code = /(\d{6})/.exec((await sms).text)![1]!;
  expect((await as(t, alice, 'POST', '/v1/me/phone/verification/confirm', { code })).statusCode).toBe(200);
  const level = {
    rule: 'approve',
    steps: [{ after_s: 0, channel: 'phone', targets: 'all' }],
    require_totp: true,
  };
  await as(t, admin, 'PUT', '/v1/admin/policies', {
    escalation_policy: { levels: { medium: level, high: level } },
  });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await fake?.close();
  await model?.close();
});

describe('voice agent', () => {
  it('listens for speech; "approve" is like pressing 1 (the TOTP code is still keyed in); questions are answered from the gist', async () => {
    model.reply((req) =>
      req.body?.response_format !== undefined
        ? { content: '{"intent": "question"}' }
        : { content: 'It deploys the web app to staging.' },
    );
    const h = await handoff('Deploy web to staging');
    const call = await fake.waitForCall(PHONE);
    const hello = await fake.answer(call.id, { answeredBy: 'human' });
    expect(hello.gather).toEqual({ digits: 1, speech: true });

    const answered = await fake.speak(call.id, 'what does it touch?');
    expect(answered.said[0]).toBe('It deploys the web app to staging.');
    expect(answered.gather?.digits).toBe(1);
    // The answer prompt held the gist, never the payload; nothing of the handoff went to classify.
    const prompts = model.requests.map((r) => r.raw).join('\n');
    expect(prompts).not.toContain('SECRET-PAYLOAD-42');

    const totp = await fake.speak(call.id, 'approve');
    expect(totp.said).toContain(SAY.totpPrompt);
    const step = Math.floor(Date.now() / 30_000);
    const done = await fake.press(call.id, generateSync({ secret, epoch: step * 30 }));
    expect(done.said).toEqual([SAY.approved]);
    expect(await statusOf(h.id)).toBe('approved');
    await fake.end(call.id, 'completed', 30);
    // Speech is processed in memory only: not in the logs, not in the database.
    expect(JSON.stringify(t.logs)).not.toContain('what does it touch');
    const stored = await sql<{ n: number }>`
      select count(*)::int as n from audit_events where canonical like ${'%what does it touch%'}`.execute(
      t.database.db,
    );
    expect(stored.rows[0]!.n).toBe(0);
  });

  it('falls back to the keypad when the model fails', async () => {
    model.reply(() => ({ status: 500 }));
    const h = await handoff('Deploy api to staging');
    const call = await fake.waitForCall(PHONE);
    await fake.answer(call.id, { answeredBy: 'human' });
    const unclear = await fake.speak(call.id, 'hmm, maybe later then');
    expect(unclear.said[0]).toBe(SAY.notUnderstood);
    expect(unclear.gather?.digits).toBe(1);
    const denied = await fake.press(call.id, '2');
    expect(denied.said).toEqual([SAY.denied]);
    expect(await statusOf(h.id)).toBe('denied');
    await fake.end(call.id, 'completed', 20);
  });
});
