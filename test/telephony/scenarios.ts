/**
 * Phone calls and SMS end to end, run once per provider (one test file each): the real server
 * (container, jobs, database, store) talks to the provider's HTTP fake through ony's real client,
 * and the fake plays the phone network: it requests ony's voice URLs, posts keys, speech, silence,
 * status callbacks and inbound SMS, signed with the provider's real scheme, and reports what the
 * caller would hear from the markup ony answered.
 */
import { sql } from 'kysely';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAY } from '../../src/core/telephony/call-flow.js';
import { SMS_REPLIES } from '../../src/core/telephony/sms.js';
import { maskPhone } from '../../src/lib/phone.js';
import type { FakeOptions, RecordedRequest, TelephonyFake } from '../fakes/telephony.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

export type StartFake = (opts: FakeOptions) => Promise<TelephonyFake>;

const PUBLIC_URL = 'https://ony.test';
const ALICE_PHONE = '+14155550101';
const BOB_PHONE = '+14155550102';
const STRANGER = '+14155550199';
/** Secrets the agent puts where only the dashboard may show them. */
const PAYLOAD_SECRET = 'AKIAIOSFODNN7EXAMPLE';
const RAW_COMMAND = 'psql -c "DROP TABLE customers" --password=hunter2hunter2';

export function telephonyScenarios(name: string, startFake: StartFake): void {
  let fake: TelephonyFake;
  let t: TestServer;
  let admin: Actor;
  let alice: Actor;
  let bob: Actor;
  let device: string;
  let aliceTotp: string;

  /**
   * A fresh TOTP code: the server accepts one step either side and never the same step twice, so
   * each code uses the step after the last one (waiting for the clock only if two steps ahead). The
   * test clock stays on the wall clock: the job queue schedules against it.
   */
  let lastStep = 0;
  const stepNow = () => Math.floor(t.clock.now().getTime() / 30_000);
  const codeAt = (step: number) => generateSync({ secret: aliceTotp, epoch: step * 30 });
  async function totpNext(): Promise<string> {
    const step = Math.max(stepNow() - 1, lastStep + 1);
    while (step > stepNow() + 1) await new Promise((r) => setTimeout(r, 1000));
    lastStep = step;
    return codeAt(step);
  }
  /** A code no step in the window accepts. */
  function totpWrong(n = 0): string {
    const valid = new Set([-1, 0, 1].map((d) => codeAt(stepNow() + d)));
    return ['918273', '546372', '192837', '283746', '650194', '731845'].filter((c) => !valid.has(c))[n]!;
  }

  /** Every level that asks a human goes to this channel. */
  async function policy(channel: 'phone' | 'sms', extra: Record<string, unknown> = {}) {
    const level = { rule: 'approve', steps: [{ after_s: 0, channel, targets: 'all' }], ...extra };
    const res = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { medium: level, high: level, critical: level } },
    });
    expect(res.statusCode, res.body).toBe(200);
  }

  /** A medium-risk deploy by default; `payload` adds a raw command with a secret (and raises the risk). */
  async function handoff(title: string, extra: Record<string, unknown> = {}, payload = false) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/handoffs',
      headers: { authorization: `Bearer ${device}` },
      payload: {
        action: { type: 'deploy', target: 'staging' },
        title,
        ...(payload && { payload: { kind: 'command', content: `${RAW_COMMAND} ${PAYLOAD_SECRET}` } }),
        ...extra,
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string; risk: { level: string } }>();
  }

  const statusOf = async (id: string) =>
    (
      await sql<{ status: string; decision_channel: string | null }>`
      select status, decision_channel from handoffs where id = ${id}`.execute(t.database.db)
    ).rows[0]!;

  /** Waits until the handoff's first escalation step ran (its attempt is recorded). */
  async function stepRan(id: string) {
    const attempts = async () =>
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from escalation_attempts where handoff_id = ${id}`.execute(t.database.db)
      ).rows[0]!.n;
    await expect.poll(attempts, { timeout: 15_000 }).toBeGreaterThan(0);
  }

  async function verify(actor: Actor, phone: string) {
    expect((await as(t, actor, 'PATCH', '/v1/me', { phone })).statusCode).toBe(200);
    const sent = fake.waitForSms(phone);
    const req = await as(t, actor, 'POST', '/v1/me/phone/verification', { via: 'sms' });
    expect(req.statusCode, req.body).toBe(202);
    const code = /\b(\d{6})\b/.exec((await sent).text)![1]!;
    const ok = await as(t, actor, 'POST', '/v1/me/phone/verification/confirm', { code });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ phone, phone_verified: true });
  }

  /** Every recording-like field of a provider request is off. */
  function assertNoRecording(req: RecordedRequest) {
    for (const [k, v] of Object.entries(req.params))
      if (/record|transcri/i.test(k)) expect(String(v), `${k} in ${req.path}`).toMatch(/^(false|0|)$/i);
    expect(req.raw).not.toMatch(/<Record|<Transcri/i);
  }

  beforeAll(async () => {
    fake = await startFake({ publicUrl: PUBLIC_URL });
    t = await startTestServer({
      ...fake.env,
      ONY_PUBLIC_URL: PUBLIC_URL,
      // The per-number limits have their own test; these scenarios call the same numbers often.
      ONY_TELEPHONY_CALLS_PER_15MIN: '100',
      ONY_TELEPHONY_SMS_PER_15MIN: '100',
    });
    fake.setTarget(await t.app.listen({ port: 0, host: '127.0.0.1' }));
    admin = await createOrgWithAdmin(t, `tel${name}`);
    alice = await addMember(t, admin, `alice@tel${name}.test`, 'member');
    bob = await addMember(t, admin, `bob@tel${name}.test`, 'member');
    device = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>()
      .token;
    const enrol = await as(t, alice, 'POST', '/v1/me/totp');
    aliceTotp = enrol.json<{ secret: string }>().secret;
    lastStep = stepNow() - 2;
    const enrolled = await as(t, alice, 'POST', '/v1/me/totp/confirm', { code: await totpNext() });
    expect(enrolled.statusCode, enrolled.body).toBeLessThan(300);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  describe(`${name}: phone ownership`, () => {
    it('does not call or text a number until it is verified; bad codes change nothing', async () => {
      expect((await as(t, bob, 'PATCH', '/v1/me', { phone: BOB_PHONE })).statusCode).toBe(200);
      await policy('phone');
      const h = await handoff('Deploy before anyone verified');
      // The step ran (an attempt is recorded) without a call: nobody has a verified number yet.
      await stepRan(h.id);
      expect(fake.calls.filter((c) => c.to === BOB_PHONE)).toHaveLength(0);

      // Bad input: an unknown channel, a malformed code, no pending code.
      expect((await as(t, bob, 'POST', '/v1/me/phone/verification', { via: 'fax' })).statusCode).toBe(400);
      expect(
        (await as(t, bob, 'POST', '/v1/me/phone/verification/confirm', { code: '12345' })).statusCode,
      ).toBe(400);
      expect(
        (await as(t, bob, 'POST', '/v1/me/phone/verification/confirm', { code: '123456' })).statusCode,
      ).toBe(410);

      const sent = fake.waitForSms(BOB_PHONE);
      expect((await as(t, bob, 'POST', '/v1/me/phone/verification', { via: 'sms' })).statusCode).toBe(202);
      const code = /\b(\d{6})\b/.exec((await sent).text)![1]!;
      // At most one send per minute.
      const again = await as(t, bob, 'POST', '/v1/me/phone/verification', { via: 'call' });
      expect(again.statusCode).toBe(429);
      const wrong = code === '000000' ? '000001' : '000000';
      const bad = await as(t, bob, 'POST', '/v1/me/phone/verification/confirm', { code: wrong });
      expect(bad.statusCode).toBe(422);
      expect((await as(t, bob, 'GET', '/v1/me')).json()).toMatchObject({ phone_verified: false });
      const ok = await as(t, bob, 'POST', '/v1/me/phone/verification/confirm', { code });
      expect(ok.statusCode, ok.body).toBe(200);
      // The code is single use.
      expect((await as(t, bob, 'POST', '/v1/me/phone/verification/confirm', { code })).statusCode).toBe(410);
      // The team view masks the number and says it is verified.
      const team = (await as(t, admin, 'GET', '/v1/admin/members')).json<
        { id: string; phone: string; phone_verified: boolean }[]
      >();
      expect(team.find((m) => m.id === bob.memberId)).toMatchObject({
        phone: maskPhone(BOB_PHONE),
        phone_verified: true,
      });
      // A new number must be proved again.
      await as(t, bob, 'PATCH', '/v1/me', { phone: '+14155550103' });
      expect((await as(t, bob, 'GET', '/v1/me')).json()).toMatchObject({ phone_verified: false });
      await as(t, bob, 'PATCH', '/v1/me', { phone: BOB_PHONE });
      // A verification by call reads the code out, then hangs up.
      const carol = await addMember(t, admin, `carol@tel${name}.test`, 'member');
      await as(t, carol, 'PATCH', '/v1/me', { phone: '+14155550103' });
      const callReq = await as(t, carol, 'POST', '/v1/me/phone/verification', { via: 'call' });
      expect(callReq.statusCode, callReq.body).toBe(202);
      const call = await fake.waitForCall('+14155550103');
      const heard = await fake.answer(call.id, { answeredBy: 'human' });
      const digits = heard.said
        .join(' ')
        .match(/code is ([\d, ]+)\./)![1]!
        .replace(/\D/g, '');
      expect(heard.hungUp).toBe(true);
      expect(
        (await as(t, carol, 'POST', '/v1/me/phone/verification/confirm', { code: digits })).statusCode,
      ).toBe(200);
      await fake.end(call.id, 'completed', 12);
      await as(t, carol, 'PATCH', '/v1/me', { phone: null });
      await verify(alice, ALICE_PHONE);
    });
  });

  describe(`${name}: keypad call`, () => {
    it('speaks the gist slowly, takes 1, asks for TOTP, refuses a wrong code, approves, and records the call', async () => {
      await policy('phone', { require_totp: true });
      const h = await handoff('Deploy api to staging', {}, true);
      const call = await fake.waitForCall(ALICE_PHONE);
      assertNoRecording(call.request);
      const hello = await fake.answer(call.id, { answeredBy: 'human' });
      expect(hello.status).toBe(200);
      expect(hello.said[0]).toBe(SAY.hello);
      expect(hello.said.join(' ')).toMatch(/deploy/i);
      expect(hello.said.join(' ')).toContain('Press 1 to approve, 2 to deny, or star to repeat.');
      expect(hello.gather?.digits).toBe(1);

      const totp = await fake.press(call.id, '1');
      expect(totp.said).toContain(SAY.totpPrompt);
      expect(totp.gather?.digits).toBe(6);
      expect((await statusOf(h.id)).status).toBe('pending');
      const wrongCode = totpWrong();
      const wrong = await fake.press(call.id, wrongCode);
      expect(wrong.said[0]).toBe(SAY.totpWrong);
      expect((await statusOf(h.id)).status).toBe('pending');

      const done = await fake.press(call.id, await totpNext());
      expect(done.said).toEqual([SAY.approved]);
      expect(done.hungUp).toBe(true);
      expect(await statusOf(h.id)).toEqual({ status: 'approved', decision_channel: 'phone' });
      expect((await fake.end(call.id, 'completed', 42)).status).toBe(200);

      const calls = await as(t, alice, 'GET', `/v1/handoffs/${h.id}/calls`);
      expect(calls.json()).toEqual([
        expect.objectContaining({
          provider: name,
          provider_call_id: call.id,
          phone: maskPhone(ALICE_PHONE),
          status: 'completed',
          duration_s: 42,
          outcome: 'approved',
        }),
      ]);
    });

    it('repeats on * and on a wrong key, repeats once on silence, then hangs up and leaves it pending', async () => {
      await policy('phone');
      const h = await handoff('Deploy web to staging');
      const call = await fake.waitForCall(ALICE_PHONE);
      const first = await fake.answer(call.id, { answeredBy: 'human' });
      const star = await fake.press(call.id, '*');
      expect(star.said.join(' ')).toContain(first.said[1]!);
      const wrongKey = await fake.press(call.id, '7');
      expect(wrongKey.said[0]).toBe(SAY.wrongKey);
      expect(wrongKey.gather?.digits).toBe(1);
      const quiet = await fake.silence(call.id);
      expect(quiet.gather?.digits).toBe(1);
      const gone = await fake.silence(call.id);
      expect(gone.said).toEqual([SAY.noInput]);
      expect(gone.hungUp).toBe(true);
      await fake.end(call.id, 'completed', 30);
      expect((await statusOf(h.id)).status).toBe('pending');
      const calls = (await as(t, alice, 'GET', `/v1/handoffs/${h.id}/calls`)).json<{ outcome: string }[]>();
      expect(calls.map((c) => c.outcome)).toEqual(['no_input']);
    });

    it('losing the call state mid-call (a Redis restart) loses the call, not the handoff', async () => {
      await policy('phone');
      const h = await handoff('Deploy queue to staging');
      const call = await fake.waitForCall(ALICE_PHONE);
      await fake.answer(call.id, { answeredBy: 'human' });
      const token = new URL(call.answerUrl).searchParams.get('s')!;
      await t.container.store.del(`tel-call:${token}`);
      const lost = await fake.press(call.id, '1');
      expect(lost.said).toEqual([SAY.ended]);
      expect(lost.hungUp).toBe(true);
      expect((await statusOf(h.id)).status).toBe('pending');
      await fake.end(call.id, 'completed', 8);
      // The handoff is still decidable in the dashboard.
      const decided = await as(t, alice, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'approve' });
      expect(decided.statusCode, decided.body).toBe(200);
    });

    it('a replayed keypad callback moves nothing, even against a lost or restored call state (#18 2.1)', async () => {
      await policy('phone');
      const h = await handoff('Deploy cache to staging');
      const call = await fake.waitForCall(ALICE_PHONE);
      await fake.answer(call.id, { answeredBy: 'human' });
      const token = new URL(call.answerUrl).searchParams.get('s')!;
      const snapshot = await t.container.store.get(`tel-call:${token}`);
      expect(snapshot).not.toBeNull();
      const denied = await fake.press(call.id, '2');
      expect(denied.said).toEqual([SAY.denied]);
      const audited = async () =>
        (
          await sql<{ n: number }>`
            select count(*)::int as n from audit_events where subject_id = ${h.id}`.execute(t.database.db)
        ).rows[0]!.n;
      const before = await audited();
      const refusedReplay = name === 'telnyx' || name === 'plivo';
      // The same signed callback again (the fakes resend the last signed request whatever the
      // method): once after Redis was lost, once after it was restored from an older snapshot (the
      // call is back at its menu).
      await t.wipeStore();
      const afterLoss = await fake.receiveSms(ALICE_PHONE, '', { replay: true });
      await t.container.store.set(`tel-call:${token}`, snapshot!, 60_000);
      const afterRestore = await fake.receiveSms(ALICE_PHONE, '', { replay: true });
      for (const heard of [afterLoss, afterRestore]) {
        // Telnyx and Plivo: the signature / nonce is claimed (403). Twilio and SignalWire sign no
        // nonce: the step number in the signed URL is claimed, and the replay hears goodbye (200).
        if (refusedReplay) expect(heard.status).toBe(403);
        else {
          expect(heard.status).toBe(200);
          expect(heard.body).toContain(SAY.ended);
          expect(heard.body).not.toContain('already decided');
        }
      }
      expect(await audited()).toBe(before);
      expect(await statusOf(h.id)).toEqual({ status: 'denied', decision_channel: 'phone' });
      await fake.end(call.id, 'completed', 9);
    });

    it('records a call nobody picked up, and leaves the handoff pending', async () => {
      await policy('phone');
      const h = await handoff('Deploy docs to staging');
      const call = await fake.waitForCall(ALICE_PHONE);
      expect((await fake.end(call.id, 'no_answer', 0)).status).toBe(200);
      const calls = (await as(t, alice, 'GET', `/v1/handoffs/${h.id}/calls`)).json<
        { status: string; outcome: string }[]
      >();
      expect(calls).toEqual([expect.objectContaining({ status: 'no_answer', outcome: 'not_answered' })]);
      expect((await statusOf(h.id)).status).toBe('pending');
    });

    it('denies with 2 (no TOTP needed to deny)', async () => {
      await policy('phone', { require_totp: true });
      const h = await handoff('Deploy worker to staging', {}, true);
      const call = await fake.waitForCall(ALICE_PHONE);
      await fake.answer(call.id, { answeredBy: 'human' });
      const denied = await fake.press(call.id, '2');
      expect(denied.said).toEqual([SAY.denied]);
      expect(await statusOf(h.id)).toEqual({ status: 'denied', decision_channel: 'phone' });
      await fake.end(call.id, 'completed', 9);
    });

    it('tells a voicemail only that an approval waits: no gist, no menu', async () => {
      await policy('phone');
      const h = await handoff('Deploy cron to staging');
      const call = await fake.waitForCall(ALICE_PHONE);
      const heard = await fake.answer(call.id, { answeredBy: 'machine' });
      if (heard.status === 200 && heard.said.length > 0) {
        expect(heard.said).toEqual([SAY.voicemail]);
        expect(heard.gather).toBeUndefined();
      }
      expect(heard.raw).not.toMatch(/deploy/i);
      await fake.end(call.id, 'completed', 5);
      expect((await statusOf(h.id)).status).toBe('pending');
      const calls = (await as(t, alice, 'GET', `/v1/handoffs/${h.id}/calls`)).json<{ outcome: string }[]>();
      expect(calls.map((c) => c.outcome)).toEqual(['voicemail']);
    });

    it('ends the call after three wrong TOTP codes, audits it, and decides nothing', async () => {
      await policy('phone', { require_totp: true });
      const h = await handoff('Deploy db to staging');
      const call = await fake.waitForCall(ALICE_PHONE);
      await fake.answer(call.id, { answeredBy: 'human' });
      await fake.press(call.id, '1');
      const wrongs = [totpWrong(0), totpWrong(1), totpWrong(2)];
      await fake.press(call.id, wrongs[0]!);
      await fake.press(call.id, wrongs[1]!);
      const last = await fake.press(call.id, wrongs[2]!);
      expect(last.said).toEqual([SAY.totpFailed]);
      expect(last.hungUp).toBe(true);
      expect((await statusOf(h.id)).status).toBe('pending');
      const audit = await sql<{ n: number }>`
        select count(*)::int as n from audit_events where action = 'handoff.step_up_failed' and subject_id = ${h.id}`.execute(
        t.database.db,
      );
      expect(audit.rows[0]!.n).toBe(1);
      await fake.end(call.id, 'completed', 50);
      const calls = (await as(t, alice, 'GET', `/v1/handoffs/${h.id}/calls`)).json<{ outcome: string }[]>();
      expect(calls.map((c) => c.outcome)).toEqual(['totp_failed']);
      // TOTP codes never reach the logs.
      for (const c of wrongs.slice(0, 3)) expect(JSON.stringify(t.logs)).not.toContain(c);
    });

    it('refuses keys for an expired handoff and changes nothing', async () => {
      await policy('phone');
      const h = await handoff('Deploy search to staging', { timeout_s: 30 });
      const call = await fake.waitForCall(ALICE_PHONE);
      await fake.answer(call.id, { answeredBy: 'human' });
      t.clock.advance(31_000);
      const late = await fake.press(call.id, '1');
      // Back to the wall clock: the job queue schedules the next handoffs' steps against it.
      t.clock.sync();
      expect(late.said.join(' ')).toMatch(/expired/);
      expect(late.hungUp).toBe(true);
      expect((await statusOf(h.id)).status).toBe('expired');
      await fake.end(call.id, 'completed', 20);
    });

    it('refuses forged, unsigned and replayed provider requests with nothing changed', async () => {
      await policy('phone');
      const h = await handoff('Deploy mail to staging');
      const call = await fake.waitForCall(ALICE_PHONE);
      const unsigned = await fake.answer(call.id, { answeredBy: 'human', unsigned: true });
      expect(unsigned.status).toBe(401);
      const forged = await fake.answer(call.id, { answeredBy: 'human', badSignature: true });
      expect(forged.status).toBe(403);
      await fake.answer(call.id, { answeredBy: 'human' });
      const forgedKey = await fake.press(call.id, '1', { badSignature: true });
      expect(forgedKey.status).toBe(403);
      expect((await statusOf(h.id)).status).toBe('pending');
      if (name === 'telnyx') {
        const stale = await fake.press(call.id, '2', { ageSeconds: 600 });
        expect(stale.status).toBe(403);
      }
      const denied = await fake.press(call.id, '2');
      expect(denied.said).toEqual([SAY.denied]);
      if (name === 'telnyx' || name === 'plivo') {
        // The same signed request again (the fakes resend the last one whatever the method).
        const replay = await fake.receiveSms(ALICE_PHONE, '', { replay: true });
        expect(replay.status).toBe(403);
      }
      const forgedEnd = await fake.end(call.id, 'completed', 1, { badSignature: true });
      expect(forgedEnd.status).toBe(403);
      await fake.end(call.id, 'completed', 11);
      expect(await statusOf(h.id)).toEqual({ status: 'denied', decision_channel: 'phone' });
    });
  });

  describe(`${name}: SMS`, () => {
    it('texts the gist with a reply code; 1A approves once; a reused code changes nothing', async () => {
      await policy('sms');
      const sent = fake.waitForSms(ALICE_PHONE);
      const h = await handoff('Deploy api to staging by SMS');
      const sms = await sent;
      const code = /Reply (\d+)A to approve, \1D to deny\./.exec(sms.text)?.[1];
      expect(code, sms.text).toBeDefined();
      const reply = fake.waitForSms(ALICE_PHONE);
      expect((await fake.receiveSms(ALICE_PHONE, `${code}a`)).status).toBe(200);
      expect((await reply).text).toBe(SMS_REPLIES.approved);
      expect(await statusOf(h.id)).toEqual({ status: 'approved', decision_channel: 'sms' });
      const again = fake.waitForSms(ALICE_PHONE);
      await fake.receiveSms(ALICE_PHONE, `${code}D`);
      expect((await again).text).toMatch(/already decided/);
      expect((await statusOf(h.id)).status).toBe('approved');
    });

    it('needs the TOTP code in the reply for high risk (caller id can be forged)', async () => {
      await policy('sms');
      const sent = fake.waitForSms(ALICE_PHONE);
      const h = await handoff('Deploy api to production', {
        action: { type: 'deploy', target: 'production' },
      });
      expect(['high', 'critical']).toContain(h.risk.level);
      const sms = await sent;
      const code = /Reply (\d+)A and your 6-digit code/.exec(sms.text)?.[1];
      expect(code, sms.text).toBeDefined();
      const noTotp = fake.waitForSms(ALICE_PHONE);
      await fake.receiveSms(ALICE_PHONE, `${code}A`);
      expect((await noTotp).text).toBe(SMS_REPLIES.totpRequired);
      expect((await statusOf(h.id)).status).toBe('pending');
      const ok = fake.waitForSms(ALICE_PHONE);
      await fake.receiveSms(ALICE_PHONE, `${code}A ${await totpNext()}`);
      expect((await ok).text).toBe(SMS_REPLIES.approved);
      expect((await statusOf(h.id)).status).toBe('approved');
    });

    it('a captured reply re-posted after the ephemeral store was lost decides nothing (#18 2.1)', async () => {
      await policy('sms');
      // Start from an empty store, so the old scheme (lowest free code) would give A and B one code.
      await t.wipeStore();
      const sentA = fake.waitForSms(ALICE_PHONE);
      const a = await handoff('Deploy billing to staging by SMS');
      const codeA = /Reply (\d+)A to approve/.exec((await sentA).text)?.[1];
      expect(codeA).toBeDefined();
      const approved = fake.waitForSms(ALICE_PHONE);
      expect((await fake.receiveSms(ALICE_PHONE, `${codeA}A`)).status).toBe(200);
      expect((await approved).text).toBe(SMS_REPLIES.approved);
      expect((await statusOf(a.id)).status).toBe('approved');

      // Redis is lost (a restart, FLUSHDB): message ids, nonces and reply codes held there are gone.
      await t.wipeStore();
      const sentB = fake.waitForSms(ALICE_PHONE);
      const b = await handoff('Deploy search to staging by SMS');
      const codeB = /Reply (\d+)A to approve/.exec((await sentB).text)?.[1];

      // The captured signed request (same message id, same signature, same nonce) is posted again.
      const smsBefore = fake.sms.length;
      const replayed = await fake.receiveSms(ALICE_PHONE, '', { replay: true });
      // Twilio and SignalWire sign no nonce: the message id is the replay key, and a repeat is
      // acknowledged (200, empty answer) and ignored, as a redelivery is. Telnyx and Plivo: the
      // signature / nonce is claimed and a repeat is refused with 403.
      expect((await statusOf(b.id)).status).toBe('pending');
      expect((await statusOf(a.id)).status).toBe('approved');
      expect(replayed.status).toBe(name === 'telnyx' || name === 'plivo' ? 403 : 200);
      // Nothing answered either: a replay learns nothing.
      expect(fake.sms.length).toBe(smsBefore);
      // The number's next code: never A's again, whatever the store lost.
      expect(Number(codeB)).toBe(Number(codeA) + 1);
      // B is still decided by its own code.
      const ok = fake.waitForSms(ALICE_PHONE);
      await fake.receiveSms(ALICE_PHONE, `${codeB}D`);
      expect((await ok).text).toBe(SMS_REPLIES.denied);
      expect((await statusOf(b.id)).status).toBe('denied');
    });

    it('never answers an unknown number, handles STOP / START / HELP, and dedupes a forged or unsigned SMS', async () => {
      const before = fake.sms.length;
      expect((await fake.receiveSms(STRANGER, '1A')).status).toBe(200);
      expect((await fake.receiveSms(STRANGER, 'HELP')).status).toBe(200);
      expect((await fake.receiveSms(ALICE_PHONE, '1A', { badSignature: true })).status).toBe(403);
      expect((await fake.receiveSms(ALICE_PHONE, '1A', { unsigned: true })).status).toBe(401);
      expect(fake.sms.length).toBe(before);

      const help = fake.waitForSms(ALICE_PHONE);
      await fake.receiveSms(ALICE_PHONE, 'help');
      expect((await help).text).toBe(SMS_REPLIES.help);
      const stop = fake.waitForSms(ALICE_PHONE);
      await fake.receiveSms(ALICE_PHONE, 'STOP');
      expect((await stop).text).toBe(SMS_REPLIES.stopped);
      // Opted out: the next SMS step texts nobody.
      await policy('sms');
      const count = fake.sms.length;
      const h = await handoff('Deploy nothing by SMS', {}, true);
      await stepRan(h.id);
      expect(fake.sms.length).toBe(count);
      const start = fake.waitForSms(ALICE_PHONE);
      await fake.receiveSms(ALICE_PHONE, 'start');
      expect((await start).text).toBe(SMS_REPLIES.started);
      const unknown = fake.waitForSms(ALICE_PHONE);
      await fake.receiveSms(ALICE_PHONE, '98A');
      expect((await unknown).text).toBe(SMS_REPLIES.unknownCode);
    });
  });

  describe(`${name}: an admin's channel test`, () => {
    it('reads the gist and hangs up (nothing to decide), and texts it without a reply code', async () => {
      const ADMIN_PHONE = '+14155550104';
      await verify(admin, ADMIN_PHONE);
      const calling = await as(t, admin, 'POST', '/v1/admin/channels/phone/test');
      expect(calling.statusCode, calling.body).toBe(200);
      const call = await fake.waitForCall(ADMIN_PHONE);
      const heard = await fake.answer(call.id, { answeredBy: 'human' });
      expect(heard.said[0]).toBe(SAY.hello);
      expect(heard.said.join(' ')).toContain('TEST from ony');
      expect(heard.gather).toBeUndefined();
      expect(heard.hungUp).toBe(true);
      await fake.end(call.id, 'completed', 7);
      const rows = await sql<{ outcome: string; handoff_id: string | null }>`
        select outcome, handoff_id from phone_calls where provider_call_id = ${call.id}`.execute(
        t.database.db,
      );
      expect(rows.rows).toEqual([{ outcome: 'notice', handoff_id: null }]);
      const texted = fake.waitForSms(ADMIN_PHONE);
      expect((await as(t, admin, 'POST', '/v1/admin/channels/sms/test')).statusCode).toBe(200);
      const sms = await texted;
      expect(sms.text).toContain('TEST from ony');
      expect(sms.text).not.toMatch(/Reply/);
    });
  });

  describe(`${name}: what leaves`, () => {
    it('no provider request carries the payload, the raw command or the target, and none records', () => {
      expect(fake.requests.length).toBeGreaterThan(10);
      for (const r of fake.requests) {
        expect(r.raw).not.toContain(PAYLOAD_SECRET);
        expect(r.raw).not.toContain('DROP TABLE');
        expect(r.raw).not.toContain('hunter2');
        assertNoRecording(r);
      }
      for (const c of fake.calls)
        expect(c.answerUrl).toMatch(/^https:\/\/ony\.test\/webhooks\/telephony\/voice\?s=[\w-]{32}$/);
      // Phone numbers never reach the logs unmasked.
      const logs = JSON.stringify(t.logs);
      for (const n of [ALICE_PHONE, BOB_PHONE, STRANGER]) expect(logs).not.toContain(n);
    });
  });
}
