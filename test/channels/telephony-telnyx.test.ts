/**
 * The Telnyx provider against the fake Telnyx over real HTTP: REST requests land with exactly the
 * expected fields (recording off), credentials are checked, and a small webhook server here does what
 * ony's telephony routes do with any provider: verify the raw request, refuse a replayed signature,
 * parse, and answer with a rendered script. The fake plays the network: it answers, presses keys,
 * speaks, stays silent, hangs up and texts, each request signed like Telnyx (Ed25519).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type {
  CallStatusEvent,
  InboundRequest,
  InboundSms,
  TelephonyProvider,
  VoiceRequest,
  WebhookKind,
} from '../../src/channels/telephony/provider.js';
import { createTelnyxProvider, TelnyxApiError } from '../../src/channels/telephony/telnyx.js';
import { parseTelephonyConfig, type TelephonyProviderConfig } from '../../src/config/telephony.js';
import type { CallScript } from '../../src/core/telephony/script.js';
import { startTelnyxFake, type TelnyxFake } from '../fakes/telnyx.js';

const PUBLIC = 'https://ony.test';
const ALICE = '+15005550101';

type TelnyxConfig = Extract<TelephonyProviderConfig, { name: 'telnyx' }>;

let fake: TelnyxFake;
let cfg: TelnyxConfig;
let from: string;
let provider: TelephonyProvider;
let hooks: Server;

/** What the webhook server saw and changed; a refused request must leave all of it as it was. */
const seen = {
  voice: [] as VoiceRequest[],
  status: [] as CallStatusEvent[],
  sms: [] as InboundSms[],
  ignored: 0,
  refused: [] as string[],
};
const replayKeys = new Set<string>();
const amd = new Map<string, string>();

const url = (path: string, token: string, extra = '') =>
  `${PUBLIC}/webhooks/telephony/${path}?s=${token}${extra}`;
const menu = (token: string, speech: boolean): CallScript => ({
  say: ['ony approval request: deploy to staging.'],
  gather: {
    action: url('voice/action', token, speech ? '&speech=1' : ''),
    digits: 1,
    timeoutS: 8,
    finishOnKey: '',
    prompt: ['Press 1 to approve, 2 to deny.'],
    speech,
  },
  then: { kind: 'redirect', url: url('voice/action', token, '&noinput=1') },
});

/** The call flow of this test: a menu, then a six-key code, then a verdict. */
function scriptFor(path: string, query: URLSearchParams, v: VoiceRequest): CallScript {
  const token = query.get('s') ?? '';
  if (path === '/webhooks/telephony/voice/answer')
    return amd.get(v.callId) === 'machine' || v.answeredBy === 'machine'
      ? { say: ['A request waits for you in ony.'], then: { kind: 'hangup' } }
      : menu(token, query.get('speech') === '1');
  if (query.get('noinput') === '1')
    return { say: ['No answer was received. Goodbye.'], then: { kind: 'hangup' } };
  if (v.speech !== undefined) return { say: [`You said ${v.speech}.`], then: { kind: 'hangup' } };
  if (v.digits === '*') return menu(token, false);
  if (v.digits === '1')
    return {
      say: [],
      gather: {
        action: url('voice/action', token),
        digits: 6,
        timeoutS: 10,
        finishOnKey: '#',
        prompt: ['Enter your six digit code.'],
        speech: false,
      },
      then: { kind: 'redirect', url: url('voice/action', token, '&noinput=1') },
    };
  if (/^\d{6}$/.test(v.digits)) return { say: ['Approved. Goodbye.'], then: { kind: 'hangup' } };
  return { say: ['Denied. Goodbye.'], then: { kind: 'hangup' } };
}

function kindOf(path: string): WebhookKind | undefined {
  if (path === '/webhooks/telephony/sms') return 'sms';
  if (path === '/webhooks/telephony/voice/status') return 'status';
  if (path === '/webhooks/telephony/voice/answer' || path === '/webhooks/telephony/voice/action')
    return 'voice';
  return undefined;
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  const inbound: InboundRequest = {
    url: PUBLIC + (req.url ?? ''),
    method: req.method === 'GET' ? 'GET' : 'POST',
    headers,
    rawBody: Buffer.concat(chunks).toString('utf8'),
  };
  const send = (status: number, contentType: string, body: string) => {
    res.writeHead(status, { 'content-type': contentType });
    res.end(body);
  };
  const target = new URL(inbound.url);
  const kind = kindOf(target.pathname);
  if (kind === undefined) return send(404, 'text/plain', 'not found');
  // 1. The signature, on the raw request, before anything is parsed.
  const verdict = provider.verify(inbound, new Date());
  if (!verdict.ok) {
    seen.refused.push(verdict.reason);
    return send(verdict.reason === 'missing' ? 401 : 403, 'text/plain', verdict.reason);
  }
  if (verdict.replayKey !== undefined) {
    if (replayKeys.has(verdict.replayKey)) {
      seen.refused.push('replay');
      return send(403, 'text/plain', 'replayed');
    }
    replayKeys.add(verdict.replayKey);
  }
  // 2. The event.
  const event = provider.parse(kind, inbound);
  if (event === undefined) return send(400, 'text/plain', 'not an event');
  if (event.kind === 'ignored') {
    seen.ignored += 1;
    const ack = provider.acknowledge('sms');
    return send(200, ack.contentType, ack.body);
  }
  if (event.kind === 'sms' || event.kind === 'status') {
    if (event.kind === 'sms') seen.sms.push(event);
    else {
      seen.status.push(event);
      if (event.answeredBy !== undefined) amd.set(event.callId, event.answeredBy);
    }
    const ack = provider.acknowledge(event.kind);
    return send(200, ack.contentType, ack.body);
  }
  seen.voice.push(event);
  const reply = provider.render(scriptFor(target.pathname, target.searchParams, event));
  return send(200, reply.contentType, reply.body);
}

beforeAll(async () => {
  fake = await startTelnyxFake({ publicUrl: PUBLIC });
  // The fake's env is what ony reads: it must parse to a complete Telnyx configuration.
  const problems: string[] = [];
  const parsed = parseTelephonyConfig(
    fake.env,
    problems,
    (_n, fallback) => fallback,
    (_n, fallback) => fallback,
  );
  expect(problems).toEqual([]);
  if (parsed?.provider.name !== 'telnyx') throw new Error('the fake env did not select telnyx');
  cfg = parsed.provider;
  from = parsed.from;
  provider = createTelnyxProvider(cfg);
  hooks = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  hooks.listen(0, '127.0.0.1');
  await once(hooks, 'listening');
  fake.setTarget(`http://127.0.0.1:${(hooks.address() as AddressInfo).port}`);
});

afterAll(async () => {
  hooks.closeAllConnections();
  hooks.close();
  await fake.close();
});

beforeEach(() => {
  seen.voice.length = 0;
  seen.status.length = 0;
  seen.sms.length = 0;
  seen.ignored = 0;
  seen.refused.length = 0;
});

const place = (
  token: string,
  o: { machineDetection?: boolean; ringTimeoutS?: number; speech?: boolean } = {},
) =>
  provider.placeCall({
    to: ALICE,
    from,
    answerUrl: url('voice/answer', token, o.speech === true ? '&speech=1' : ''),
    statusUrl: url('voice/status', token),
    machineDetection: o.machineDetection ?? true,
    ringTimeoutS: o.ringTimeoutS ?? 25,
  });

describe('REST: what ony sends to Telnyx', () => {
  it('sets every ONY_* variable ony needs, pointing at the fake', () => {
    expect(fake.env).toEqual({
      ONY_TELEPHONY_PROVIDER: 'telnyx',
      ONY_TELNYX_API_KEY: fake.apiKey,
      ONY_TELNYX_PUBLIC_KEY: fake.publicKey,
      ONY_TELNYX_TEXML_APP_ID: fake.texmlAppId,
      ONY_TELNYX_MESSAGING_PROFILE_ID: fake.messagingProfileId,
      ONY_TELNYX_API_URL: fake.url,
      ONY_TELEPHONY_FROM: '+15005550006',
    });
  });

  it('places a TeXML call on the application with the exact fields: recording off, AMD on, URLs as given', async () => {
    const { callId } = await place('tok-place');
    const call = fake.calls.at(-1)!;
    expect(call.id).toBe(callId);
    expect(call.request.method).toBe('POST');
    expect(call.request.path).toBe(`/v2/texml/calls/${fake.texmlAppId}`);
    expect(call.request.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(call.request.headers['content-type']).toBe('application/json');
    expect(call.request.params).toEqual({
      From: '+15005550006',
      To: ALICE,
      Url: `${PUBLIC}/webhooks/telephony/voice/answer?s=tok-place`,
      Method: 'POST',
      StatusCallback: `${PUBLIC}/webhooks/telephony/voice/status?s=tok-place`,
      StatusCallbackMethod: 'POST',
      StatusCallbackEvent: 'answered completed',
      Timeout: 25,
      Record: false,
      MachineDetection: 'Enable',
    });
    expect(call.request.raw).not.toMatch(/Transcri|Recording/);
  });

  it('asks for no AMD when told not to, and keeps the ring time within 5–120 s', async () => {
    await place('tok-noamd', { machineDetection: false, ringTimeoutS: 400 });
    expect(fake.calls.at(-1)!.request.params).not.toHaveProperty('MachineDetection');
    expect(fake.calls.at(-1)!.request.params).toMatchObject({ Timeout: 120, Record: false });
    await place('tok-short', { ringTimeoutS: 1 });
    expect(fake.calls.at(-1)!.request.params).toMatchObject({ Timeout: 5 });
  });

  it('sends an SMS through the messaging profile with only from, to and text', async () => {
    const waiting = fake.waitForSms(ALICE, 5000);
    const { messageId } = await provider.sendSms({
      to: ALICE,
      from,
      text: 'ony: deploy to staging. Reply 1a or 1d',
    });
    const sent = await waiting;
    expect(sent.id).toBe(messageId);
    expect(sent.request.path).toBe('/v2/messages');
    expect(sent.request.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(sent.request.params).toEqual({
      from: '+15005550006',
      to: ALICE,
      text: 'ony: deploy to staging. Reply 1a or 1d',
      messaging_profile_id: fake.messagingProfileId,
    });
  });

  it('leaves the messaging profile out when none is configured (the number’s own profile sends)', async () => {
    const own = createTelnyxProvider({ ...cfg, messagingProfileId: undefined });
    await own.sendSms({ to: ALICE, from, text: 'x' });
    expect(fake.sms.at(-1)!.request.params).toEqual({ from: '+15005550006', to: ALICE, text: 'x' });
  });

  it('reports health with one authenticated read of the balance', async () => {
    const before = fake.requests.length;
    await expect(provider.health()).resolves.toEqual({ ok: true, detail: 'telnyx account reachable (USD)' });
    expect(fake.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v2/balance']);
  });

  it('gives a clear error for a wrong API key, never echoing it, and health says so without throwing', async () => {
    const wrong = createTelnyxProvider({ ...cfg, apiKey: 'KEY_wrong_secret_value' });
    const err = await wrong
      .placeCall({
        to: ALICE,
        from,
        answerUrl: url('voice/answer', 't'),
        statusUrl: url('voice/status', 't'),
        machineDetection: true,
        ringTimeoutS: 25,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TelnyxApiError);
    expect(err).toMatchObject({ status: 401, code: '10009' });
    expect((err as Error).message).toContain('HTTP 401 [10009] Authentication failed');
    expect((err as Error).message).toContain('ONY_TELNYX_API_KEY');
    expect((err as Error).message).not.toContain('KEY_wrong_secret_value');
    await expect(wrong.health()).resolves.toEqual({ ok: false, detail: 'telnyx API: HTTP 401' });
  });

  it('surfaces an outage as the HTTP status, then works again', async () => {
    fake.failNext(1, 503);
    await expect(provider.sendSms({ to: ALICE, from, text: 'x' })).rejects.toMatchObject({ status: 503 });
    await expect(provider.sendSms({ to: ALICE, from, text: 'x' })).resolves.toHaveProperty('messageId');
  });

  it('names a wrong TeXML application id', async () => {
    const other = createTelnyxProvider({ ...cfg, texmlAppId: '999' });
    await expect(
      other.placeCall({
        to: ALICE,
        from,
        answerUrl: url('voice/answer', 't'),
        statusUrl: url('voice/status', 't'),
        machineDetection: false,
        ringTimeoutS: 25,
      }),
    ).rejects.toMatchObject({ status: 404, code: '10005' });
  });
});

describe('webhooks: the network calls ony back, signed', () => {
  it('runs a keypad call: AMD verdict, menu, code, verdict, final status', async () => {
    const { callId } = await place('tok-keys');
    const heard = await fake.answer(callId, { answeredBy: 'human' });
    expect(seen.status).toEqual([
      { kind: 'status', callId, status: 'in_progress', durationS: undefined, answeredBy: 'human' },
    ]);
    expect(heard).toMatchObject({
      status: 200,
      said: ['ony approval request: deploy to staging.', 'Press 1 to approve, 2 to deny.'],
      gather: { digits: 1, speech: false },
      hungUp: false,
    });
    expect(heard.raw).toContain('voiceSpeed="0.8"');

    const code = await fake.press(callId, '1');
    expect(code).toMatchObject({
      said: ['Enter your six digit code.'],
      gather: { digits: 6, speech: false },
    });
    const done = await fake.press(callId, '123456');
    expect(done).toMatchObject({ said: ['Approved. Goodbye.'], gather: undefined, hungUp: true });
    expect(seen.voice.map((v) => [v.callId, v.digits])).toEqual([
      [callId, ''],
      [callId, '1'],
      [callId, '123456'],
    ]);

    await expect(fake.end(callId, 'completed', 42)).resolves.toEqual({ status: 200 });
    expect(seen.status.at(-1)).toEqual({
      kind: 'status',
      callId,
      status: 'completed',
      durationS: 42,
      answeredBy: undefined,
    });
    expect(seen.refused).toEqual([]);
  });

  it('repeats the menu on * as often as the caller asks (same key, same second: two deliveries)', async () => {
    const { callId } = await place('tok-repeat', { machineDetection: false });
    await fake.answer(callId);
    await expect(fake.press(callId, '*')).resolves.toMatchObject({ status: 200, gather: { digits: 1 } });
    await expect(fake.press(callId, '*')).resolves.toMatchObject({ status: 200, gather: { digits: 1 } });
    expect(seen.voice.map((v) => v.digits)).toEqual(['', '*', '*']);
    expect(seen.refused).toEqual([]);
  });

  it('follows the redirect when the caller presses nothing', async () => {
    const { callId } = await place('tok-silent', { machineDetection: false });
    await fake.answer(callId);
    const heard = await fake.silence(callId);
    expect(heard).toMatchObject({ said: ['No answer was received. Goodbye.'], hungUp: true });
    await expect(fake.end(callId, 'no_answer')).resolves.toEqual({ status: 200 });
    expect(seen.status.at(-1)).toMatchObject({ status: 'no_answer', durationS: 0 });
  });

  it('tells a voicemail only that something waits (the verdict came on the status callback)', async () => {
    const { callId } = await place('tok-machine');
    const heard = await fake.answer(callId, { answeredBy: 'machine' });
    expect(seen.status.at(-1)).toMatchObject({ callId, answeredBy: 'machine' });
    expect(heard).toMatchObject({
      said: ['A request waits for you in ony.'],
      gather: undefined,
      hungUp: true,
    });
  });

  it('listens for speech only when the script asks, and hands the words over', async () => {
    const { callId } = await place('tok-speech', { speech: true });
    const heard = await fake.answer(callId, { answeredBy: 'human' });
    expect(heard.gather).toEqual({ digits: 1, speech: true });
    const reply = await fake.speak(callId, 'approve it');
    expect(seen.voice.at(-1)).toMatchObject({ callId, speech: 'approve it', digits: '' });
    expect(reply.said).toEqual(['You said approve it.']);
  });

  it('refuses a bad signature (403), an unsigned request (401) and a stale one (403), changing nothing', async () => {
    const { callId } = await place('tok-bad', { machineDetection: false });
    await expect(fake.answer(callId, { badSignature: true })).resolves.toMatchObject({
      status: 403,
      said: [],
    });
    await expect(fake.answer(callId, { unsigned: true })).resolves.toMatchObject({ status: 401 });
    await expect(fake.answer(callId, { ageSeconds: 301 })).resolves.toMatchObject({ status: 403 });
    await expect(fake.end(callId, 'completed', 5, { badSignature: true })).resolves.toEqual({ status: 403 });
    expect(seen.refused).toEqual(['invalid', 'missing', 'stale', 'invalid']);
    expect(seen.voice).toEqual([]);
    expect(seen.status).toEqual([]);
    // A little late is fine: within Telnyx's five minutes.
    await expect(fake.answer(callId, { ageSeconds: 120 })).resolves.toMatchObject({ status: 200 });
  });

  it('refuses the same signed request a second time', async () => {
    const { callId } = await place('tok-replay', { machineDetection: false });
    await fake.answer(callId);
    await expect(fake.press(callId, '1')).resolves.toMatchObject({ status: 200 });
    await expect(fake.press(callId, '1', { replay: true })).resolves.toMatchObject({ status: 403 });
    expect(seen.refused).toEqual(['replay']);
    expect(seen.voice.map((v) => v.digits)).toEqual(['', '1']);
  });

  it('delivers an inbound SMS as the message.received event and ignores delivery receipts', async () => {
    const res = await fake.receiveSms(ALICE, '1a');
    expect(res).toEqual({ status: 200, body: '{}' });
    expect(seen.sms).toEqual([
      { kind: 'sms', messageId: expect.any(String) as string, from: ALICE, to: '+15005550006', text: '1a' },
    ]);
    const { messageId } = await provider.sendSms({ to: ALICE, from, text: 'code 123456' });
    await expect(fake.deliveryReceipt(messageId)).resolves.toEqual({ status: 200, body: '{}' });
    expect(seen.ignored).toBe(1);
    expect(seen.sms).toHaveLength(1);
  });

  it('refuses forged, unsigned, stale and replayed SMS webhooks', async () => {
    await expect(fake.receiveSms(ALICE, '1a', { badSignature: true })).resolves.toMatchObject({
      status: 403,
    });
    await expect(fake.receiveSms(ALICE, '1a', { unsigned: true })).resolves.toMatchObject({ status: 401 });
    await expect(fake.receiveSms(ALICE, '1a', { ageSeconds: 400 })).resolves.toMatchObject({ status: 403 });
    await expect(fake.receiveSms(ALICE, '1d')).resolves.toMatchObject({ status: 200 });
    await expect(fake.receiveSms(ALICE, '1d', { replay: true })).resolves.toMatchObject({ status: 403 });
    expect(seen.refused).toEqual(['invalid', 'missing', 'stale', 'replay']);
    expect(seen.sms.map((s) => s.text)).toEqual(['1d']);
  });
});
