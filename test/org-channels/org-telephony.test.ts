/**
 * Each org's own telephony account (issue #24 part 2), end to end: org A on Twilio, org B on Plivo
 * (each provider's HTTP fake, driven through ony's real clients), no server-wide account. Each
 * account is checked on save against the provider's account endpoint; each org's SMS and calls go
 * out through its own account only, come back on its own signed webhook URLs (verified with its own
 * credentials), and a request signed with the other org's credentials changes nothing.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAY } from '../../src/core/telephony/call-flow.js';
import { SMS_REPLIES } from '../../src/core/telephony/sms.js';
import { startPlivoFake } from '../fakes/plivo.js';
import type { FakeOptions } from '../fakes/telephony.js';
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
const ALICE_PHONE = '+14155550101';
const BOB_PHONE = '+14155550102';

let t: TestServer;
let twilio: Awaited<ReturnType<typeof startTwilioFake>>;
let plivo: Awaited<ReturnType<typeof startPlivoFake>>;
const twilioOpts: FakeOptions = { publicUrl: PUBLIC_URL, from: '+15005550006' };
const plivoOpts: FakeOptions = { publicUrl: PUBLIC_URL, from: '+15005550007' };
let adminA: Actor;
let adminB: Actor;
let alice: Actor;
let bob: Actor;
const devices: Record<string, string> = {};

const stored = async () =>
  (
    await sql<{ org_id: string; config_enc: Buffer; route_id: string }>`
      select org_id, config_enc, route_id from org_channel_credentials where kind = 'telephony' order by org_id`.execute(
      t.database.db,
    )
  ).rows;

const routeOf = async (orgId: string) => (await stored()).find((r) => r.org_id === orgId)!.route_id;

const statusOf = async (id: string) =>
  (
    await sql<{ status: string; decision_channel: string | null }>`
      select status, decision_channel from handoffs where id = ${id}`.execute(t.database.db)
  ).rows[0]!;

const auditCount = async () =>
  (await sql<{ n: number }>`select count(*)::int as n from audit_events`.execute(t.database.db)).rows[0]!.n;

/** The escalation step's attempt (and its audit entry) is committed after the provider accepted it. */
async function stepRecorded(id: string): Promise<void> {
  const attempts = async () =>
    (
      await sql<{ n: number }>`
        select count(*)::int as n from escalation_attempts where handoff_id = ${id}`.execute(t.database.db)
    ).rows[0]!.n;
  await expect.poll(attempts, { timeout: 15_000 }).toBeGreaterThan(0);
}

async function policy(admin: Actor, channel: 'phone' | 'sms') {
  const level = { rule: 'approve', steps: [{ after_s: 0, channel, targets: 'all' }] };
  const res = await as(t, admin, 'PUT', '/v1/admin/policies', {
    escalation_policy: { levels: { medium: level } },
  });
  expect(res.statusCode, res.body).toBe(200);
}

async function handoff(admin: Actor, title: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${devices[admin.orgId]}` },
    payload: { action: { type: 'deploy', target: 'staging' }, title },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>();
}

async function verify(actor: Actor, phone: string, fake: typeof twilio | typeof plivo) {
  expect((await as(t, actor, 'PATCH', '/v1/me', { phone })).statusCode).toBe(200);
  const sent = fake.waitForSms(phone);
  const req = await as(t, actor, 'POST', '/v1/me/phone/verification', { via: 'sms' });
  expect(req.statusCode, req.body).toBe(202);
  const code = /\b(\d{6})\b/.exec((await sent).text)![1]!;
  const ok = await as(t, actor, 'POST', '/v1/me/phone/verification/confirm', { code });
  expect(ok.statusCode, ok.body).toBe(200);
}

const twilioBody = () => ({
  provider: 'twilio',
  from: '+15005550006',
  account_sid: twilio.accountSid,
  auth_token: twilio.authToken,
});
const plivoBody = () => ({
  provider: 'plivo',
  from: '+15005550007',
  auth_id: plivo.authId,
  auth_token: plivo.authToken,
});

beforeAll(async () => {
  twilio = await startTwilioFake(twilioOpts);
  plivo = await startPlivoFake(plivoOpts);
  t = await startTestServer({
    ONY_PUBLIC_URL: PUBLIC_URL,
    ONY_TWILIO_API_URL: twilio.url,
    ONY_PLIVO_API_URL: plivo.url,
  });
  const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  twilio.setTarget(base);
  plivo.setTarget(base);
  adminA = await createOrgWithAdmin(t, 'tela');
  adminB = await createOrgWithAdmin(t, 'telb');
  alice = await addMember(t, adminA, 'alice@tela.test', 'member');
  bob = await addMember(t, adminB, 'bob@telb.test', 'member');
  for (const a of [adminA, adminB])
    devices[a.orgId] = (await as(t, a, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{
      token: string;
    }>().token;
}, 60_000);

afterAll(async () => {
  await t?.close();
  await twilio?.close();
  await plivo?.close();
});

describe('saving an org account', () => {
  it('without one, the org has no telephony (no server account configured)', async () => {
    const res = await as(t, adminA, 'GET', '/v1/admin/channels/own');
    expect(res.json()).toMatchObject({ telephony: { source: 'none', provider: null } });
    const req = await as(t, alice, 'POST', '/v1/me/phone/verification', { via: 'sms' });
    expect(req.statusCode).toBe(422);
  });

  it('credentials the provider rejects: 422 naming the check, nothing echoed or stored', async () => {
    const audit = await auditCount();
    const wrongTwilio = { ...twilioBody(), auth_token: 'f'.repeat(32) };
    const a = await as(t, adminA, 'PUT', '/v1/admin/channels/own/telephony', wrongTwilio);
    expect(a.statusCode, a.body).toBe(422);
    expect(a.json()).toMatchObject({ check: 'twilio_account' });
    expect(a.body).not.toContain('f'.repeat(32));
    const wrongPlivo = { ...plivoBody(), auth_token: 'e'.repeat(40) };
    const b = await as(t, adminB, 'PUT', '/v1/admin/channels/own/telephony', wrongPlivo);
    expect(b.statusCode, b.body).toBe(422);
    expect(b.json()).toMatchObject({ check: 'plivo_account' });
    expect(b.body).not.toContain('e'.repeat(40));
    // Malformed input: 400 before any request leaves.
    const before = twilio.requests.length;
    for (const bad of [
      { ...twilioBody(), from: '0155 555' },
      { ...twilioBody(), account_sid: 'nope' },
      { provider: 'twilio', from: '+15005550006' },
      { ...twilioBody(), provider: 'fax' },
      { ...twilioBody(), api_url: 'http://169.254.169.254' },
    ]) {
      const res = await as(t, adminA, 'PUT', '/v1/admin/channels/own/telephony', bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.body).not.toContain(twilio.authToken);
    }
    expect(twilio.requests.length).toBe(before);
    expect(await stored()).toEqual([]);
    expect(await auditCount()).toBe(audit);
    // Members cannot.
    expect((await as(t, alice, 'PUT', '/v1/admin/channels/own/telephony', twilioBody())).statusCode).toBe(
      403,
    );
    expect(await stored()).toEqual([]);
  });

  it('stores each account encrypted after the account check; answers and logs carry no credential', async () => {
    const a = await as(t, adminA, 'PUT', '/v1/admin/channels/own/telephony', twilioBody());
    expect(a.statusCode, a.body).toBe(200);
    expect(a.json()).toMatchObject({
      telephony: { source: 'own', provider: 'twilio', from_masked: expect.stringMatching(/•/) },
    });
    const b = await as(t, adminB, 'PUT', '/v1/admin/channels/own/telephony', plivoBody());
    expect(b.statusCode, b.body).toBe(200);
    // The account check was an authenticated read of each org's own account.
    expect(
      twilio.requests.some((r) => r.method === 'GET' && r.path.endsWith(`${twilio.accountSid}.json`)),
    ).toBe(true);
    expect(
      plivo.requests.some((r) => r.method === 'GET' && r.path.includes(`/Account/${plivo.authId}/`)),
    ).toBe(true);
    const secrets = [twilio.authToken, plivo.authToken];
    for (const body of [a.body, b.body]) for (const s of secrets) expect(body).not.toContain(s);
    for (const r of await stored())
      for (const s of secrets) expect(Buffer.from(r.config_enc).toString('latin1')).not.toContain(s);
    const audit = await sql<{ meta: unknown }>`select meta from audit_events`.execute(t.database.db);
    const written = JSON.stringify(t.logs) + JSON.stringify(audit.rows);
    for (const s of secrets) expect(written).not.toContain(s);
    // The other org cannot connect the same account.
    const dup = await as(t, adminB, 'PUT', '/v1/admin/channels/own/telephony', twilioBody());
    expect(dup.statusCode).toBe(409);
    expect(dup.body).not.toContain(twilio.authToken);
  });
});

describe('two orgs on their own accounts', () => {
  beforeAll(async () => {
    twilioOpts.smsPath = `/webhooks/telephony/o/${await routeOf(adminA.orgId)}/sms`;
    plivoOpts.smsPath = `/webhooks/telephony/o/${await routeOf(adminB.orgId)}/sms`;
    // Number verification goes through the org's own account.
    await verify(alice, ALICE_PHONE, twilio);
    await verify(bob, BOB_PHONE, plivo);
  });

  it('SMS: each org texts through its own account only, and each reply decides in its own org', async () => {
    await policy(adminA, 'sms');
    await policy(adminB, 'sms');
    const sentA = twilio.waitForSms(ALICE_PHONE);
    const sentB = plivo.waitForSms(BOB_PHONE);
    const [hA, hB] = await Promise.all([
      handoff(adminA, 'Deploy A by SMS'),
      handoff(adminB, 'Deploy B by SMS'),
    ]);
    const [smsA, smsB] = await Promise.all([sentA, sentB]);
    expect(smsA.from).toBe('+15005550006');
    expect(twilio.sms.some((m) => m.to === BOB_PHONE)).toBe(false);
    expect(plivo.sms.some((m) => m.to === ALICE_PHONE)).toBe(false);
    const codeA = /Reply (\d+)A to approve/.exec(smsA.text)![1];
    const codeB = /Reply (\d+)A to approve/.exec(smsB.text)![1];
    const replyA = twilio.waitForSms(ALICE_PHONE);
    expect((await twilio.receiveSms(ALICE_PHONE, `${codeA}A`)).status).toBe(200);
    expect((await replyA).text).toBe(SMS_REPLIES.approved);
    const replyB = plivo.waitForSms(BOB_PHONE);
    expect((await plivo.receiveSms(BOB_PHONE, `${codeB}D`)).status).toBe(200);
    expect((await replyB).text).toBe(SMS_REPLIES.denied);
    expect(await statusOf(hA.id)).toEqual({ status: 'approved', decision_channel: 'sms' });
    expect(await statusOf(hB.id)).toEqual({ status: 'denied', decision_channel: 'sms' });
  });

  it("a request signed with the other org's credentials, or to an unknown path, changes nothing", async () => {
    await policy(adminA, 'sms');
    const sent = twilio.waitForSms(ALICE_PHONE);
    const h = await handoff(adminA, 'Deploy A, forged reply');
    const code = /Reply (\d+)A to approve/.exec((await sent).text)![1];
    await stepRecorded(h.id);
    const audit = await auditCount();
    const own = plivoOpts.smsPath;
    try {
      // Plivo (org B's account, B's key) delivers to org A's URL: A verifies with A's Twilio token.
      plivoOpts.smsPath = twilioOpts.smsPath;
      expect((await plivo.receiveSms(ALICE_PHONE, `${code}A`)).status).toBe(401);
      // Twilio signs with A's token, but to B's URL: B verifies with B's Plivo credentials.
      const ownA = twilioOpts.smsPath;
      twilioOpts.smsPath = own;
      expect((await twilio.receiveSms(ALICE_PHONE, `${code}A`)).status).toBe(401);
      twilioOpts.smsPath = '/webhooks/telephony/o/AAAAAAAAAAAAAAAAAAAAAA/sms';
      expect((await twilio.receiveSms(ALICE_PHONE, `${code}A`)).status).toBe(403);
      // The server-wide path does not exist without a server account.
      twilioOpts.smsPath = '/webhooks/telephony/sms';
      expect((await twilio.receiveSms(ALICE_PHONE, `${code}A`)).status).toBe(404);
      twilioOpts.smsPath = ownA;
      // A forged signature on A's own URL.
      expect((await twilio.receiveSms(ALICE_PHONE, `${code}A`, { badSignature: true })).status).toBe(403);
    } finally {
      plivoOpts.smsPath = own;
    }
    expect((await statusOf(h.id)).status).toBe('pending');
    expect(await auditCount()).toBe(audit);
    const ok = twilio.waitForSms(ALICE_PHONE);
    expect((await twilio.receiveSms(ALICE_PHONE, `${code}A`)).status).toBe(200);
    expect((await ok).text).toBe(SMS_REPLIES.approved);
  });

  it("calls: placed through the org's account, with its own signed URLs; a keypress decides there", async () => {
    await policy(adminA, 'phone');
    const h = await handoff(adminA, 'Deploy A by phone');
    const call = await twilio.waitForCall(ALICE_PHONE);
    const route = await routeOf(adminA.orgId);
    expect(call.answerUrl.startsWith(`${PUBLIC_URL}/webhooks/telephony/o/${route}/voice?`)).toBe(true);
    expect(call.statusUrl?.startsWith(`${PUBLIC_URL}/webhooks/telephony/o/${route}/status?`)).toBe(true);
    await twilio.answer(call.id, { answeredBy: 'human' });
    const approved = await twilio.press(call.id, '1');
    expect(approved.said).toEqual([SAY.approved]);
    expect(await statusOf(h.id)).toEqual({ status: 'approved', decision_channel: 'phone' });
    expect((await twilio.end(call.id, 'completed', 12)).status).toBe(200);
    expect(plivo.calls).toHaveLength(0);
  });

  it('keys rotate re-encrypts the account, still usable after; removal and erasure take it away', async () => {
    await t.container.keys.rotate({ data: true });
    await policy(adminB, 'sms');
    const sent = plivo.waitForSms(BOB_PHONE);
    await handoff(adminB, 'Deploy B after rotation');
    expect((await sent).from).toBe('+15005550007');

    const del = await as(t, adminB, 'DELETE', '/v1/admin/channels/own/telephony');
    expect(del.statusCode).toBe(204);
    expect((await as(t, adminB, 'GET', '/v1/admin/channels/own')).json()).toMatchObject({
      telephony: { source: 'none' },
    });
    expect((await plivo.receiveSms(BOB_PHONE, '1A')).status).toBe(403);

    await t.container.erasure.eraseNow(adminA.orgId);
    expect((await stored()).some((r) => r.org_id === adminA.orgId)).toBe(false);
    expect((await twilio.receiveSms(ALICE_PHONE, '1A')).status).toBe(403);
  });
});
