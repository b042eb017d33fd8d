/**
 * The phone and SMS channels against the Twilio fake through the real provider: per-number limits,
 * reply codes scoped per number (counting up, never reused), retries only where a retry cannot call twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboundMessage } from '../../src/channels/channel.js';
import { createPhoneChannel, createSmsChannel } from '../../src/channels/telephony/adapter.js';
import { keys } from '../../src/channels/telephony/state.js';
import { createTwilioProvider } from '../../src/channels/telephony/twilio.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/lib/logger.js';
import { createMemoryStore } from '../../src/state/store.js';
import { startTwilioFake } from '../fakes/twilio.js';
import type { TelephonyFake } from '../fakes/telephony.js';

let fake: TelephonyFake;
const store = createMemoryStore();
const A = '+14155550111';
const B = '+14155550112';

const message = (id: string, riskLevel = 'medium'): OutboundMessage => ({
  handoffId: id,
  shortCode: 'K7QX2P',
  summary: null,
  actionType: 'deploy',
  riskLevel,
  title: 'Deploy api',
  gist: { speech: 'Deploy api.', sms: 'ony MEDIUM deploy: Deploy api', chat: 'Deploy api' },
  options: [
    { id: 'approve', label: 'Approve' },
    { id: 'deny', label: 'Deny' },
  ],
  link: 'https://ony.test/handoffs/x',
});

/** The durable per-number code counter, in memory (its SQL is tested through the server). */
const counters: Record<string, number> = {};

function channels() {
  const cfg = loadConfig({ ONY_MASTER_KEY: Buffer.alloc(32).toString('base64'), ...fake.env });
  const provider = cfg.telephony!.provider;
  if (provider.name !== 'twilio') throw new Error('the fake is Twilio');
  const deps = {
    provider: createTwilioProvider(provider),
    store,
    replyCodes: { next: async (phone: string) => (counters[phone] = (counters[phone] ?? 0) + 1) },
    logger: createLogger('silent'),
    config: {
      publicUrl: 'https://ony.test',
      from: '+15005550006',
      callsPer15Min: 3,
      smsPer15Min: 5,
      machineDetection: true,
      listen: false,
    },
  };
  return { phone: createPhoneChannel(deps), sms: createSmsChannel(deps) };
}

beforeAll(async () => {
  fake = await startTwilioFake({ publicUrl: 'https://ony.test' });
});
afterAll(async () => {
  await fake.close();
  await store.close();
});

describe('per-number limits', () => {
  it('places at most 3 calls and 5 SMS per number in 15 minutes; other numbers are not held back', async () => {
    const { phone, sms } = channels();
    const recipients = [{ memberId: 'm-a', name: 'A', address: A }];
    const placed = [];
    for (let i = 0; i < 4; i++) placed.push((await phone.send(message(`h${i}`), recipients)).messages.length);
    expect(placed).toEqual([1, 1, 1, 0]);
    expect(fake.calls.filter((c) => c.to === A)).toHaveLength(3);
    const texted = [];
    for (let i = 0; i < 6; i++) texted.push((await sms.send(message(`s${i}`), recipients)).messages.length);
    expect(texted).toEqual([1, 1, 1, 1, 1, 0]);
    expect(fake.sms.filter((m) => m.to === A)).toHaveLength(5);
    const other = await phone.send(message('hb'), [{ memberId: 'm-b', name: 'B', address: B }]);
    expect(other.messages).toHaveLength(1);
    // A recipient without a verified number is skipped, not an error.
    expect(
      (await phone.send(message('hn'), [{ memberId: 'm-n', name: 'N', address: null }])).messages,
    ).toEqual([]);
  });
});

describe('reply codes', () => {
  it('are numbered per phone number, counting up, and say whether TOTP is needed', async () => {
    const { sms } = channels();
    const to = '+14155550121';
    const other = '+14155550122';
    await sms.send(message('c1'), [{ memberId: 'm', name: 'M', address: to }]);
    await sms.send(message('c2', 'critical'), [{ memberId: 'm', name: 'M', address: to }]);
    await sms.send(message('c3'), [{ memberId: 'n', name: 'N', address: other }]);
    const texts = fake.sms.filter((m) => m.to === to || m.to === other).map((m) => m.text);
    expect(texts[0]).toMatch(/Reply 1A to approve, 1D to deny\.$/);
    expect(texts[1]).toMatch(/Reply 2A and your 6-digit code to approve \(2A 123456\), 2D to deny\.$/);
    expect(texts[2]).toMatch(/Reply 1A to approve, 1D to deny\.$/);
    expect(JSON.parse((await store.get(keys.replyCode(to, 2)))!)).toMatchObject({
      handoffId: 'c2',
      riskLevel: 'critical',
      approve: 'approve',
      deny: 'deny',
    });
    // A freed code is never reused (a captured reply to it must not decide a newer handoff).
    await store.del(keys.replyCode(to, 1));
    await sms.send(message('c4'), [{ memberId: 'm', name: 'M', address: to }]);
    expect(fake.sms.at(-1)!.text).toMatch(/Reply 3A/);
    // A code still held in the store (given before this scheme) is passed over.
    await store.set(keys.replyCode(to, 4), '{}', 60_000);
    await sms.send(message('c5'), [{ memberId: 'm', name: 'M', address: to }]);
    expect(fake.sms.at(-1)!.text).toMatch(/Reply 5A/);
  });
});

describe('provider errors', () => {
  it('retries a 429 but not a 5xx (which may have placed the call)', async () => {
    const { phone } = channels();
    const r = [{ memberId: 'm', name: 'M', address: '+14155550131' }];
    fake.failNext(1, 429);
    expect((await phone.send(message('r1'), r)).messages).toHaveLength(1);
    fake.failNext(1, 503);
    const before = fake.requests.length;
    await expect(
      phone.send(message('r2'), [{ memberId: 'm', name: 'M', address: '+14155550132' }]),
    ).rejects.toThrow(/every phone send failed/);
    expect(fake.requests.length - before).toBe(1);
  });
});
