/**
 * The durable replay check (issue #18 item 2.1, docs/telephony.md), measured side by side in one run:
 *  (a) the claim alone, in ms: the replay guard (ephemeral fast check + `ony_claim_replay` in its own
 *      transaction) against the ephemeral store's claim alone (what guarded replays before);
 *  (b) a whole signed Twilio SMS webhook, in ms, through the real app (`inject`: the full HTTP
 *      pipeline without a socket): signature check -> replay claim of the message id -> number
 *      look-up -> 200. The sender is a number no member verified, the cheapest path ony has, so the
 *      claim's share is the largest it can be. Two apps over one container, database and store: one
 *      as built (durable claim), one whose SMS service claims in the ephemeral store only.
 * Rounds interleave the two sides so machine load falls on both alike; medians and p95 after warm-up.
 * The database is the one the test helpers pick: PGlite, or Postgres when DATABASE_URL is set
 * (REDIS_URL for the store).
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import type { ReplayGuard } from '../src/features/replay/replay-guard.js';
import { createSmsService } from '../src/features/telephony/sms.service.js';
import { buildApp } from '../src/http/app.js';
import { startTwilioFake, twilioSignature } from '../test/fakes/twilio.js';
import { startTestServer } from '../test/helpers/app.js';
import { median, percentile } from './stats.js';

const ROUNDS = 300;
const WARMUP = 30;
const PUBLIC_URL = 'https://ony.bench';

const fmt = (v: number) => v.toFixed(3);

export async function run(): Promise<void> {
  const fake = await startTwilioFake({ publicUrl: PUBLIC_URL });
  const t = await startTestServer({ ...fake.env, ONY_PUBLIC_URL: PUBLIC_URL });
  try {
    const c = t.container;
    if (c.telephony === undefined) throw new Error('telephony is not configured');
    const store = c.store;
    // What guarded replays before #18 2.1: the ephemeral store alone.
    const ephemeralOnly: ReplayGuard = {
      claim: (key, ttlMs) => store.claim(`bench-replay:${key}`, '1', ttlMs),
      release: (key) => store.del(`bench-replay:${key}`),
    };
    const durableApp = await buildApp(c);
    const ephemeralApp = await buildApp({
      ...c,
      telephony: {
        ...c.telephony,
        sms: createSmsService({
          db: c.database.db,
          store,
          replay: ephemeralOnly,
          clock: c.clock,
          provider: c.telephony.provider,
          actions: c.channelActions,
          logger: c.logger,
          config: { from: fake.env.ONY_TELEPHONY_FROM! },
        }),
      },
    });
    await Promise.all([durableApp.ready(), ephemeralApp.ready()]);

    const authToken = fake.env.ONY_TWILIO_AUTH_TOKEN!;
    const url = `${PUBLIC_URL}/webhooks/telephony/sms`;
    async function sms(app: typeof durableApp): Promise<void> {
      const fields = {
        MessageSid: `SM${randomBytes(16).toString('hex')}`,
        AccountSid: fake.env.ONY_TWILIO_ACCOUNT_SID!,
        From: '+14155550999',
        To: fake.env.ONY_TELEPHONY_FROM!,
        Body: '1A',
        NumMedia: '0',
        ApiVersion: '2010-04-01',
      };
      const res = await app.inject({
        method: 'POST',
        url: '/webhooks/telephony/sms',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilioSignature(authToken, url, fields),
        },
        payload: new URLSearchParams(fields).toString(),
      });
      if (res.statusCode !== 200) throw new Error(`sms webhook answered ${res.statusCode}: ${res.body}`);
    }

    const claimDurable: number[] = [];
    const claimEphemeral: number[] = [];
    const hookDurable: number[] = [];
    const hookEphemeral: number[] = [];
    const time = async (into: number[], counted: boolean, fn: () => Promise<unknown>) => {
      const start = process.hrtime.bigint();
      await fn();
      if (counted) into.push(Number(process.hrtime.bigint() - start) / 1e6);
    };
    for (let r = 0; r < ROUNDS + WARMUP; r++) {
      const counted = r >= WARMUP;
      const key = () => `bench:${randomBytes(12).toString('hex')}`;
      const steps = [
        () =>
          time(claimDurable, counted, async () => {
            if (!(await c.replay.claim(key(), 60_000))) throw new Error('a fresh key was refused');
          }),
        () =>
          time(claimEphemeral, counted, async () => {
            if (!(await ephemeralOnly.claim(key(), 60_000))) throw new Error('a fresh key was refused');
          }),
        () => time(hookDurable, counted, () => sms(durableApp)),
        () => time(hookEphemeral, counted, () => sms(ephemeralApp)),
      ];
      // Rotate the order every round so no side always runs first.
      for (let k = 0; k < steps.length; k++) await steps[(k + r) % steps.length]!();
    }
    await Promise.all([durableApp.close(), ephemeralApp.close()]);

    const line = (label: string, v: number[]) =>
      `  ${label.padEnd(58)} median ${fmt(median(v)).padStart(7)} ms  p95 ${fmt(percentile(v, 0.95)).padStart(7)} ms`;
    console.log(
      `database ${t.database.kind}, store ${store.kind}; ${ROUNDS} interleaved rounds after ${WARMUP} warm-up; ` +
        `${cpus().length} CPUs, load ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
    console.log('(a) one replay claim');
    console.log(line('durable (fast check + ony_claim_replay)', claimDurable));
    console.log(line('ephemeral store only (before)', claimEphemeral));
    console.log(line('difference of medians', [median(claimDurable) - median(claimEphemeral)]));
    console.log('(b) one signed Twilio SMS webhook, sender not a member (cheapest path)');
    console.log(line('with the durable claim', hookDurable));
    console.log(line('ephemeral claim only (before)', hookEphemeral));
    console.log(line('difference of medians', [median(hookDurable) - median(hookEphemeral)]));
  } finally {
    await t.close();
    await fake.close();
  }
}
