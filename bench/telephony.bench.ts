/**
 * Phone calls and SMS (docs/telephony.md), measured side by side in one run:
 *  (a) webhook signature verification per provider, in µs: each provider's own `verify` (Twilio and
 *      SignalWire through the twilio SDK's validateRequest, Telnyx Ed25519 with node:crypto, Plivo
 *      V3 HMAC-SHA256) on a keypress request signed by the test fakes' independent signers, against
 *      a bare HMAC-SHA256 of the same body (the floor of any MAC check);
 *  (b) a keypress round trip through the real server over HTTP on loopback, per provider: the fake
 *      signs the provider's request, ony verifies it, moves the call state, decides through the one
 *      decision path (key 1: approve) or repeats the menu (key *), renders the markup, and the fake
 *      parses it; against two floors timed in the same rounds: a bare `GET /healthz` on the same
 *      server with the same client, and the approval of another handoff in the dashboard API
 *      (`POST /v1/handoffs/:id/decision`: the same decision path without a phone);
 *  (c) an inbound SMS reply `1A` to decision, per provider: signed delivery -> verify -> dedupe ->
 *      number and reply-code look-up -> decision committed -> ony's reply SMS sent to the fake's REST
 *      API -> 200; against the same two floors.
 * Each provider gets its own fake and its own ony server (database, store, job workers); the rounds
 * of (b) and (c) are interleaved across the four, so machine load falls on all of them alike.
 * Medians and p95 (nearest rank) after warm-up rounds. Servers, fakes and client share this one
 * process (and its event loop). The database is the one the test helpers pick: PGlite, or Postgres
 * when DATABASE_URL is set. The keypress and SMS timings include the fake's own share (signing the
 * request; for keypresses, parsing ony's markup with fast-xml-parser): tens of µs, next to ms.
 */
import { createHmac, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { createPlivoProvider } from '../src/channels/telephony/plivo.js';
import type { InboundRequest, TelephonyProvider } from '../src/channels/telephony/provider.js';
import { createTelnyxProvider } from '../src/channels/telephony/telnyx.js';
import { createSignalWireProvider, createTwilioProvider } from '../src/channels/telephony/twilio.js';
import { SAY } from '../src/core/telephony/call-flow.js';
import { SMS_REPLIES } from '../src/core/telephony/sms.js';
import { startPlivoFake, plivoSignatureV3 } from '../test/fakes/plivo.js';
import type { FakeOptions, TelephonyFake } from '../test/fakes/telephony.js';
import { startTelnyxFake, telnyxSignature } from '../test/fakes/telnyx.js';
import { startTwilioFake, twilioSignature } from '../test/fakes/twilio.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../test/helpers/app.js';
import { median } from './stats.js';

type ProviderName = 'twilio' | 'signalwire' | 'telnyx' | 'plivo';
const PROVIDERS: readonly ProviderName[] = ['twilio', 'signalwire', 'telnyx', 'plivo'];

/** (a): rounds x batch individually timed verifications per provider, interleaved. */
const SIG_ROUNDS = 20;
const SIG_BATCH = 250;
/** (b): calls per provider, of which the first WARMUP are not counted. */
const CALLS = 40;
/** (c): SMS replies per provider; ony answers at most 10 automatic replies per number in 15 min, so the
 * replies rotate over this many approvers' numbers (each replies at most 10 times). */
const SMS_REPLIERS = 4;
const SMS_PER_REPLIER = 10;
const WARMUP = 5;

const PUBLIC_URL = 'https://ony.bench';

/** Nearest-rank percentile. */
function pct(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

const fmt = (v: number, digits = 1) => v.toFixed(digits);

// ---------------------------------------------------------------------------------------------
// (a) signature verification
// ---------------------------------------------------------------------------------------------

interface SigCase {
  readonly label: string;
  readonly run: () => boolean;
}

/** A keypress as each provider posts it to ony's gather action URL, signed, and ony's verifier. */
function signatureCases(): SigCase[] {
  const url = `${PUBLIC_URL}/webhooks/telephony/voice?s=${randomBytes(24).toString('base64url')}`;
  const now = new Date();
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const req = (body: string, headers: Record<string, string>): InboundRequest => ({
    url,
    method: 'POST',
    headers: { ...form, ...headers },
    rawBody: body,
  });
  const twilioFields = (accountSid: string): Record<string, string> => ({
    CallSid: `CA${randomBytes(16).toString('hex')}`,
    AccountSid: accountSid,
    From: '+15005550006',
    To: '+14155550101',
    CallStatus: 'in-progress',
    Direction: 'outbound-api',
    ApiVersion: '2010-04-01',
    Digits: '1',
    FinishedOnKey: '',
  });
  const cases: { label: string; provider: TelephonyProvider; req: InboundRequest }[] = [];

  const accountSid = `AC${randomBytes(16).toString('hex')}`;
  const authToken = randomBytes(16).toString('hex');
  const tf = twilioFields(accountSid);
  cases.push({
    label: 'twilio (SDK validateRequest, HMAC-SHA1)',
    provider: createTwilioProvider({
      name: 'twilio',
      accountSid,
      authToken,
      apiUrl: 'https://api.twilio.com',
    }),
    req: req(new URLSearchParams(tf).toString(), {
      'x-twilio-signature': twilioSignature(authToken, url, tf),
    }),
  });

  const projectId = randomUUID();
  const signingKey = `PSK_${randomBytes(12).toString('hex')}`;
  const sf = twilioFields(projectId);
  cases.push({
    label: 'signalwire (same scheme, signing key)',
    provider: createSignalWireProvider({
      name: 'signalwire',
      projectId,
      apiToken: randomBytes(16).toString('hex'),
      spaceUrl: 'https://bench.signalwire.com',
      signingKey,
    }),
    req: req(new URLSearchParams(sf).toString(), {
      'x-signalwire-signature': twilioSignature(signingKey, url, sf),
    }),
  });

  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const rawPublic = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('base64');
  const telnyxBody = new URLSearchParams({
    ...twilioFields(randomUUID()),
    CallSid: `v3:${randomBytes(16).toString('base64url')}`,
  }).toString();
  const ts = Math.floor(now.getTime() / 1000);
  cases.push({
    label: 'telnyx (Ed25519 over timestamp|body)',
    provider: createTelnyxProvider({
      name: 'telnyx',
      apiKey: `KEY${randomBytes(16).toString('hex')}`,
      publicKey: rawPublic,
      texmlAppId: '1234567890',
      messagingProfileId: undefined,
      apiUrl: 'https://api.telnyx.com',
    }),
    req: req(telnyxBody, {
      'telnyx-timestamp': String(ts),
      'telnyx-signature-ed25519': telnyxSignature(privateKey, ts, telnyxBody),
    }),
  });

  const plivoToken = randomBytes(20).toString('hex');
  const requestUuid = randomUUID();
  const pf: Record<string, string> = {
    CallUUID: randomUUID(),
    ALegUUID: randomUUID(),
    ALegRequestUUID: requestUuid,
    RequestUUID: requestUuid,
    From: '15005550006',
    To: '14155550101',
    CallStatus: 'in-progress',
    Direction: 'outbound',
    Event: 'GetInput',
    InputType: 'dtmf',
    Digits: '1',
  };
  const nonce = String(randomBytes(8).readBigUInt64BE());
  cases.push({
    label: 'plivo (V3 HMAC-SHA256 + nonce)',
    provider: createPlivoProvider({
      name: 'plivo',
      authId: `MA${randomBytes(9).toString('hex').toUpperCase()}`,
      authToken: plivoToken,
      apiUrl: 'https://api.plivo.com',
    }),
    req: req(new URLSearchParams(pf).toString(), {
      'x-plivo-signature-v3': plivoSignatureV3(plivoToken, url, pf, nonce),
      'x-plivo-signature-v3-nonce': nonce,
    }),
  });

  const out: SigCase[] = cases.map((c) => {
    if (!c.provider.verify(c.req, now).ok) throw new Error(`${c.label}: the signed request does not verify`);
    if (c.provider.verify({ ...c.req, rawBody: `${c.req.rawBody}&x=1` }, now).ok)
      throw new Error(`${c.label}: a changed body still verifies`);
    return { label: c.label, run: () => c.provider.verify(c.req, now).ok };
  });
  const floorKey = randomBytes(20);
  const floorBody = cases[0]!.req.rawBody;
  out.push({
    label: 'floor: HMAC-SHA256 of the body alone',
    run: () => createHmac('sha256', floorKey).update(floorBody, 'utf8').digest('base64').length === 44,
  });
  return out;
}

function signatureBench(): void {
  const cases = signatureCases();
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < SIG_ROUNDS + 2; r++) {
    // Rotate the order every round so no case always runs first (or right after a GC-heavy one).
    for (let k = 0; k < cases.length; k++) {
      const i = (k + r) % cases.length;
      const c = cases[i]!;
      for (let n = 0; n < SIG_BATCH; n++) {
        const start = process.hrtime.bigint();
        const ok = c.run();
        const us = Number(process.hrtime.bigint() - start) / 1000;
        if (!ok) throw new Error(`${c.label}: verification failed`);
        if (r >= 2) samples[i]!.push(us);
      }
    }
  }
  const floor = median(samples[cases.length - 1]!);
  console.log(
    `(a) webhook signature verification, one keypress request (${SIG_ROUNDS} interleaved rounds x ${SIG_BATCH}, after 2 warm-up rounds):`,
  );
  cases.forEach((c, i) => {
    const m = median(samples[i]!);
    console.log(
      `  ${c.label.padEnd(42)} median ${fmt(m, 2).padStart(6)} µs  p95 ${fmt(pct(samples[i]!, 0.95), 2).padStart(6)} µs` +
        (i < cases.length - 1 ? `  ${fmt(m / floor, 1).padStart(5)}x the floor` : ''),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// (b) and (c): the real server over HTTP, driven by each provider's fake
// ---------------------------------------------------------------------------------------------

const START_FAKE: Record<ProviderName, (o: FakeOptions) => Promise<TelephonyFake>> = {
  twilio: (o) => startTwilioFake(o),
  signalwire: (o) => startTwilioFake({ ...o, flavour: 'signalwire' }),
  telnyx: (o) => startTelnyxFake(o),
  plivo: (o) => startPlivoFake(o),
};

interface ProviderResult {
  readonly name: ProviderName;
  readonly database: string;
  readonly star: number[];
  readonly approve: number[];
  /** Each keypress round's GET /healthz (two per round) and dashboard approval of another handoff. */
  readonly callFloor: number[];
  readonly callDashboard: number[];
  readonly sms: number[];
  readonly smsFloor: number[];
  readonly smsDashboard: number[];
}

interface Rig {
  readonly t: TestServer;
  readonly fake: TelephonyFake;
  readonly admin: Actor;
  readonly device: string;
  readonly base: string;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/** The floor: the same server, the same client (global fetch, keep-alive), the cheapest route. */
async function healthz(base: string): Promise<void> {
  const res = await fetch(`${base}/healthz`);
  await res.text();
  if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
}

async function verifyPhone(r: Rig, actor: Actor, phone: string): Promise<void> {
  const patch = await as(r.t, actor, 'PATCH', '/v1/me', { phone });
  if (patch.statusCode !== 200) throw new Error(`PATCH /v1/me: ${patch.statusCode} ${patch.body}`);
  const sent = r.fake.waitForSms(phone);
  const req = await as(r.t, actor, 'POST', '/v1/me/phone/verification', { via: 'sms' });
  if (req.statusCode !== 202) throw new Error(`verification: ${req.statusCode} ${req.body}`);
  const code = /\b(\d{6})\b/.exec((await sent).text)?.[1];
  const ok = await as(r.t, actor, 'POST', '/v1/me/phone/verification/confirm', { code });
  if (ok.statusCode !== 200) throw new Error(`confirm: ${ok.statusCode} ${ok.body}`);
}

/**
 * Medium risk goes to `channel` for `targets`; high risk to the console only, so the floor's
 * handoffs (decided in the dashboard) place no call and send no SMS.
 */
async function policy(r: Rig, channel: 'phone' | 'sms', targets: string[]): Promise<void> {
  const level = { rule: 'approve', steps: [{ after_s: 0, channel, targets }] };
  const quiet = { rule: 'approve', steps: [{ after_s: 0, channel: 'console', targets: 'all' }] };
  const res = await as(r.t, r.admin, 'PUT', '/v1/admin/policies', {
    escalation_policy: { levels: { medium: level, high: quiet, critical: quiet } },
  });
  if (res.statusCode !== 200) throw new Error(`policy: ${res.statusCode} ${res.body}`);
}

/**
 * A deploy: to staging, medium risk (no TOTP step-up by phone or SMS at this level); to production,
 * high risk (the dashboard-decision floor's handoffs, which the policy sends to the console only).
 */
async function handoff(r: Rig, n: number, target: 'staging' | 'production' = 'staging'): Promise<string> {
  const res = await r.t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${r.device}` },
    payload: { action: { type: 'deploy', target }, title: `Deploy api build ${n} to ${target}` },
  });
  if (res.statusCode !== 201) throw new Error(`handoff: ${res.statusCode} ${res.body}`);
  const h = res.json<{ id: string; risk: { level: string } }>();
  const want = target === 'staging' ? ['medium'] : ['high', 'critical'];
  if (!want.includes(h.risk.level)) throw new Error(`deploy to ${target} is ${h.risk.level} risk`);
  return h.id;
}

/** The same decision path without a phone: an approval in the dashboard API over HTTP. */
async function dashboardApprove(r: Rig, id: string): Promise<void> {
  const res = await fetch(`${r.base}/v1/handoffs/${id}/decision`, {
    method: 'POST',
    headers: { cookie: r.admin.cookie, 'x-csrf-token': r.admin.csrf, 'content-type': 'application/json' },
    body: '{"decision":"approve"}',
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`dashboard decision: ${res.status} ${text}`);
}

async function waitUntil(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

async function statusOf(r: Rig, id: string): Promise<string> {
  const res = await r.t.app.inject({
    method: 'GET',
    url: `/v1/handoffs/${id}`,
    headers: { authorization: `Bearer ${r.device}` },
  });
  return res.json<{ status: string }>().status;
}

interface ProviderRig extends Rig {
  readonly name: ProviderName;
  readonly approvers: readonly { readonly actor: Actor; readonly phone: string }[];
  readonly result: ProviderResult;
}

/** One provider's fake and its own ony server (database, store, jobs), with verified approvers. */
async function startRig(name: ProviderName): Promise<ProviderRig> {
  const fake = await START_FAKE[name]({ publicUrl: PUBLIC_URL });
  const t = await startTestServer({
    ...fake.env,
    ONY_PUBLIC_URL: PUBLIC_URL,
    ONY_LOG_LEVEL: 'warn',
    // The bench calls and texts the same numbers far more often than an operator would.
    ONY_TELEPHONY_CALLS_PER_15MIN: '100',
    ONY_TELEPHONY_SMS_PER_15MIN: '100',
  });
  const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  fake.setTarget(base);
  const admin = await createOrgWithAdmin(t, `benchtel${name}`);
  const device = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{
    token: string;
  }>().token;
  const rig = { t, fake, admin, device, base };
  const approvers: { actor: Actor; phone: string }[] = [];
  for (let i = 0; i < SMS_REPLIERS; i++) {
    const actor = await addMember(t, admin, `approver${i}@benchtel${name}.test`, 'member');
    const phone = `+1415555${String(1000 + i)}`;
    await verifyPhone(rig, actor, phone);
    approvers.push({ actor, phone });
  }
  const result: ProviderResult = {
    name,
    database: t.database.kind,
    star: [],
    approve: [],
    callFloor: [],
    callDashboard: [],
    sms: [],
    smsFloor: [],
    smsDashboard: [],
  };
  return { ...rig, name, approvers, result };
}

/**
 * (b) One keypress round: the call is answered (not timed), then `*` (verify, state, render the
 * menu again) and `1` (verify, state, decide, render) are timed, next to two GET /healthz and the
 * dashboard approval of another handoff.
 */
async function keypressRound(r: ProviderRig, callId: string, floorId: string, counted: boolean) {
  const { fake, name } = r;
  const hello = await fake.answer(callId, { answeredBy: 'human' });
  if (hello.status !== 200 || hello.said[0] !== SAY.hello)
    throw new Error(`${name}: answer heard ${hello.status} ${hello.said.join(' | ')}`);
  const f1 = await timed(() => healthz(r.base));
  const s = await timed(() => fake.press(callId, '*'));
  if (s.value.status !== 200 || s.value.gather?.digits !== 1)
    throw new Error(`${name}: * heard ${s.value.status} ${s.value.raw}`);
  const a = await timed(() => fake.press(callId, '1'));
  if (a.value.status !== 200 || a.value.said[0] !== SAY.approved)
    throw new Error(`${name}: 1 heard ${a.value.status} ${a.value.raw}`);
  const d = await timed(() => dashboardApprove(r, floorId));
  const f2 = await timed(() => healthz(r.base));
  const end = await fake.end(callId, 'completed', 12);
  if (end.status !== 200) throw new Error(`${name}: final status answered ${end.status}`);
  if (counted) {
    r.result.star.push(s.ms);
    r.result.approve.push(a.ms);
    r.result.callFloor.push(f1.ms, f2.ms);
    r.result.callDashboard.push(d.ms);
  }
}

/** (c) One SMS round: `<code>A` from the approver's number, next to GET /healthz and a dashboard approval. */
async function smsRound(r: ProviderRig, phone: string, code: string, floorId: string, counted: boolean) {
  const { fake, name } = r;
  const replies = fake.sms.length;
  const f = await timed(() => healthz(r.base));
  const s = await timed(() => fake.receiveSms(phone, `${code}A`));
  if (s.value.status !== 200) throw new Error(`${name}: SMS answered ${s.value.status} ${s.value.body}`);
  // ony answers the provider only after it decided and sent its own reply.
  const reply = fake.sms.slice(replies).find((m) => m.to === phone);
  if (reply?.text !== SMS_REPLIES.approved) throw new Error(`${name}: the reply was "${reply?.text}"`);
  const d = await timed(() => dashboardApprove(r, floorId));
  if (counted) {
    r.result.sms.push(s.ms);
    r.result.smsFloor.push(f.ms);
    r.result.smsDashboard.push(d.ms);
  }
}

async function expectApproved(r: ProviderRig, ids: readonly string[], how: string): Promise<void> {
  for (const id of ids)
    if ((await statusOf(r, id)) !== 'approved') throw new Error(`${r.name}: ${id} was not approved ${how}`);
  r.t.logs.length = 0;
}

/** (b) and (c) for every provider, the rounds interleaved across providers. */
async function httpBench(rigs: readonly ProviderRig[]): Promise<void> {
  const rotate = <T>(xs: readonly T[], k: number) => xs.map((_, i) => xs[(i + k) % xs.length]!);

  const calls = new Map<ProviderRig, { ids: string[]; floorIds: string[] }>();
  for (const r of rigs) {
    const alice = r.approvers[0]!;
    await policy(r, 'phone', [alice.actor.memberId]);
    const ids: string[] = [];
    const floorIds: string[] = [];
    for (let i = 0; i < CALLS; i++) {
      ids.push(await handoff(r, i));
      floorIds.push(await handoff(r, i, 'production'));
    }
    calls.set(r, { ids, floorIds });
  }
  for (const r of rigs)
    await waitUntil(
      `${CALLS} ${r.name} calls`,
      () => r.fake.calls.filter((c) => c.to === r.approvers[0]!.phone).length >= CALLS,
    );
  for (let i = 0; i < CALLS; i++)
    for (const r of rotate(rigs, i)) {
      const call = r.fake.calls.filter((c) => c.to === r.approvers[0]!.phone)[i]!;
      await keypressRound(r, call.id, calls.get(r)!.floorIds[i]!, i >= WARMUP);
    }
  for (const r of rigs) await expectApproved(r, calls.get(r)!.ids, 'by phone');

  // Per approver: a batch of handoffs texted to that number only (reply codes 1..10), then replies.
  let round = 0;
  for (let k = 0; k < SMS_REPLIERS; k++) {
    const batches = new Map<ProviderRig, { ids: string[]; floorIds: string[]; before: number }>();
    for (const r of rigs) {
      const a = r.approvers[k]!;
      await policy(r, 'sms', [a.actor.memberId]);
      const before = r.fake.sms.filter((m) => m.to === a.phone).length;
      const ids: string[] = [];
      const floorIds: string[] = [];
      for (let i = 0; i < SMS_PER_REPLIER; i++) {
        ids.push(await handoff(r, 1000 + i));
        floorIds.push(await handoff(r, 1000 + i, 'production'));
      }
      batches.set(r, { ids, floorIds, before });
    }
    for (const r of rigs) {
      const { phone } = r.approvers[k]!;
      const { before } = batches.get(r)!;
      await waitUntil(
        `${SMS_PER_REPLIER} ${r.name} SMS`,
        () => r.fake.sms.filter((m) => m.to === phone).length >= before + SMS_PER_REPLIER,
      );
    }
    for (let i = 0; i < SMS_PER_REPLIER; i++, round++)
      for (const r of rotate(rigs, round)) {
        const { phone } = r.approvers[k]!;
        const b = batches.get(r)!;
        const text = r.fake.sms.filter((m) => m.to === phone)[b.before + i]!.text;
        const code = /Reply (\d+)A to approve/.exec(text)?.[1];
        if (code === undefined) throw new Error(`${r.name}: no reply code in "${text}"`);
        await smsRound(r, phone, code, b.floorIds[i]!, round >= WARMUP);
      }
    for (const r of rigs) await expectApproved(r, batches.get(r)!.ids, 'by SMS');
  }
}

export async function run(): Promise<void> {
  const load0 = loadavg();
  console.log(`${cpus().length} CPUs, Node ${process.version}`);
  signatureBench();

  const rigs: ProviderRig[] = [];
  try {
    for (const name of PROVIDERS) rigs.push(await startRig(name));
    await httpBench(rigs);
  } finally {
    for (const r of rigs) {
      await r.t.close();
      await r.fake.close();
    }
  }
  const results = rigs.map((r) => r.result);

  const ms = (v: number[]) =>
    `median ${fmt(median(v), 2).padStart(6)} ms  p95 ${fmt(pct(v, 0.95), 2).padStart(6)} ms`;
  const ratio = (v: number[], floor: number[]) => `${fmt(median(v) / median(floor), 1)}x`;
  console.log(
    `(b) keypress round trip over HTTP on loopback (fake signs -> ony verifies, moves the call state, ` +
      `decides or repeats, renders -> fake parses), ${CALLS - WARMUP} calls per provider after ${WARMUP} ` +
      `warm-up calls; database: ${results[0]!.database}. Floors in the same rounds: GET /healthz, and the ` +
      `approval of another handoff in the dashboard API (the same decision path without a phone):`,
  );
  for (const r of results) {
    console.log(
      `  ${r.name.padEnd(10)} key * (menu again)  ${ms(r.star)}   ${ratio(r.star, r.callFloor).padStart(5)} /healthz`,
    );
    console.log(
      `  ${''.padEnd(10)} key 1 (approve)     ${ms(r.approve)}   ${ratio(r.approve, r.callFloor).padStart(5)} /healthz` +
        `   ${ratio(r.approve, r.callDashboard).padStart(5)} the dashboard approval`,
    );
    console.log(`  ${''.padEnd(10)} GET /healthz        ${ms(r.callFloor)}`);
    console.log(`  ${''.padEnd(10)} dashboard approval  ${ms(r.callDashboard)}`);
  }
  console.log(
    `(c) inbound SMS "1A" to decision over HTTP (verify, dedupe, number and code look-up, decide and ` +
      `commit, ony's reply SMS sent to the fake's REST API, then 200), ${SMS_REPLIERS * SMS_PER_REPLIER - WARMUP} ` +
      `replies per provider after ${WARMUP} warm-up replies, with the same two floors:`,
  );
  for (const r of results) {
    console.log(
      `  ${r.name.padEnd(10)} SMS 1A              ${ms(r.sms)}   ${ratio(r.sms, r.smsFloor).padStart(5)} /healthz` +
        `   ${ratio(r.sms, r.smsDashboard).padStart(5)} the dashboard approval`,
    );
    console.log(`  ${''.padEnd(10)} GET /healthz        ${ms(r.smsFloor)}`);
    console.log(`  ${''.padEnd(10)} dashboard approval  ${ms(r.smsDashboard)}`);
  }
  const load1 = loadavg();
  console.log(
    `  load average at the start ${load0.map((l) => l.toFixed(1)).join(' ')}, at the end ${load1
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}
