/**
 * A step that sends nothing because every recipient was skipped (here: the per-number SMS limit) is
 * recorded as `skipped` with its closed-enum reason, never as `sent`: in escalation_attempts, in the
 * audit chain's handoff.escalated entry and in the handoff's timeline (the detail API the dashboard
 * reads). Issue #18 item 2.2.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwilioFake } from '../fakes/twilio.js';
import type { TelephonyFake } from '../fakes/telephony.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

const PUBLIC_URL = 'https://ony.test';
const ALICE_PHONE = '+14155550161';

let fake: TelephonyFake;
let t: TestServer;
let admin: Actor;
let alice: Actor;
let device: string;

beforeAll(async () => {
  fake = await startTwilioFake({ publicUrl: PUBLIC_URL });
  t = await startTestServer({
    ...fake.env,
    ONY_PUBLIC_URL: PUBLIC_URL,
    // The verification text takes one of the two; the first approval text the other.
    ONY_TELEPHONY_SMS_PER_15MIN: '2',
  });
  fake.setTarget(await t.app.listen({ port: 0, host: '127.0.0.1' }));
  admin = await createOrgWithAdmin(t, 'skipped');
  alice = await addMember(t, admin, 'alice@skipped.test', 'member');
  device = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>()
    .token;
  expect((await as(t, alice, 'PATCH', '/v1/me', { phone: ALICE_PHONE })).statusCode).toBe(200);
  const sent = fake.waitForSms(ALICE_PHONE);
  expect((await as(t, alice, 'POST', '/v1/me/phone/verification', { via: 'sms' })).statusCode).toBe(202);
  const code = /\b(\d{6})\b/.exec((await sent).text)![1]!;
  expect((await as(t, alice, 'POST', '/v1/me/phone/verification/confirm', { code })).statusCode).toBe(200);
  const level = { rule: 'approve', steps: [{ after_s: 0, channel: 'sms', targets: 'all' }] };
  const res = await as(t, admin, 'PUT', '/v1/admin/policies', {
    escalation_policy: { levels: { medium: level, high: level, critical: level } },
  });
  expect(res.statusCode, res.body).toBe(200);
}, 60_000);

afterAll(async () => {
  await t?.close();
  await fake?.close();
});

async function handoff(title: string): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${device}` },
    payload: { action: { type: 'deploy', target: 'staging' }, title },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

/** The step's attempt row, once the escalation job wrote it. */
async function attemptOf(id: string) {
  const row = async () =>
    (
      await sql<{ outcome: string; skip_reason: string | null }>`
        select outcome, skip_reason from escalation_attempts where handoff_id = ${id}`.execute(t.database.db)
    ).rows[0];
  await expect.poll(row, { timeout: 15_000 }).toBeDefined();
  return (await row())!;
}

const escalatedMeta = async (id: string) =>
  (
    await sql<{ meta: Record<string, unknown> }>`
      select meta from audit_events where action = 'handoff.escalated' and subject_id = ${id}`.execute(
      t.database.db,
    )
  ).rows.map((r) => r.meta);

describe('a skipped escalation step (#18 2.2)', () => {
  it('is recorded, audited and shown as skipped with its reason, not as sent', async () => {
    // Within the limit: Alice gets it; the admin, who has no verified number, is skipped.
    const texted = fake.waitForSms(ALICE_PHONE);
    const a = await handoff('Deploy web to staging');
    await texted;
    expect(await attemptOf(a)).toEqual({ outcome: 'sent', skip_reason: 'no_address' });
    expect(await escalatedMeta(a)).toEqual([
      { step: 0, channel: 'sms', targets: 2, outcome: 'sent', skipped: 1, skip_reason: 'no_address' },
    ]);

    // Over the per-number limit: nobody gets anything, and the step says so.
    const before = fake.sms.length;
    const b = await handoff('Deploy worker to staging');
    expect(await attemptOf(b)).toEqual({ outcome: 'skipped', skip_reason: 'rate_limited' });
    expect(fake.sms.length).toBe(before);
    expect(await escalatedMeta(b)).toEqual([
      { step: 0, channel: 'sms', targets: 2, outcome: 'skipped', skipped: 2, skip_reason: 'rate_limited' },
    ]);
    // The chain still verifies with the new fields.
    const verified = await as(t, admin, 'GET', '/v1/admin/audit/verify');
    expect(verified.statusCode, verified.body).toBe(200);
    expect(verified.json()).toMatchObject({ ok: true });

    // The timeline (what the dashboard reads).
    const detail = await as(t, alice, 'GET', `/v1/handoffs/${b}/detail`);
    expect(detail.statusCode, detail.body).toBe(200);
    expect(detail.json<{ attempts: unknown[] }>().attempts).toEqual([
      { step: 0, channel: 'sms', at: expect.any(String), outcome: 'skipped', skip_reason: 'rate_limited' },
    ]);
    const sent = await as(t, alice, 'GET', `/v1/handoffs/${a}/detail`);
    expect(sent.json<{ attempts: unknown[] }>().attempts).toEqual([
      { step: 0, channel: 'sms', at: expect.any(String), outcome: 'sent', skip_reason: 'no_address' },
    ]);
    // The handoff itself is untouched by the skip: still pending, decidable in the dashboard.
    const decided = await as(t, alice, 'POST', `/v1/handoffs/${b}/decision`, { decision: 'deny' });
    expect(decided.statusCode, decided.body).toBe(200);
  });

  it('a cross-tenant or unknown id answers 404 and reveals no attempts', async () => {
    const other = await createOrgWithAdmin(t, 'skipped-other');
    const b = await handoff('Deploy cron to staging');
    await attemptOf(b);
    expect((await as(t, other, 'GET', `/v1/handoffs/${b}/detail`)).statusCode).toBe(404);
    expect((await as(t, alice, 'GET', `/v1/handoffs/not-a-uuid/detail`)).statusCode).toBe(400);
  });
});
