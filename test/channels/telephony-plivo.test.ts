/**
 * The Plivo provider against the Plivo fake over real HTTP: REST requests land with exactly the
 * expected fields (recording never asked for), credentials errors are clear, and a small webhook
 * server (verify -> parse -> render, as ony's route does) drives whole calls and SMS through the
 * fake's network side, refusing bad, unsigned and replayed signatures.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPlivoProvider, PlivoApiError } from '../../src/channels/telephony/plivo.js';
import type {
  CallStatusEvent,
  InboundRequest,
  InboundSms,
  TelephonyProvider,
  VoiceRequest,
  WebhookKind,
} from '../../src/channels/telephony/provider.js';
import type { CallScript } from '../../src/core/telephony/script.js';
import { plivoSignatureV3, startPlivoFake } from '../fakes/plivo.js';

const PUBLIC_URL = 'https://ony.test';
const FROM = '+15005550006';
const APPROVER = '+14155550123';
const GIST = 'Deploy api to production. Press 1 to approve, 2 to deny.';

type Event = VoiceRequest | CallStatusEvent | InboundSms;

let fake: Awaited<ReturnType<typeof startPlivoFake>>;
let provider: TelephonyProvider;
let webhooks: Server;
/** What the webhook server accepted (parsed), and what it refused, in order. */
let events: Event[] = [];
let refused: { path: string; reason: string }[] = [];
let voiceRequests = 0;
const seenReplayKeys = new Set<string>();

const cfgFor = (f: typeof fake, over: { authToken?: string; apiUrl?: string } = {}) => ({
  name: 'plivo' as const,
  authId: f.env.ONY_PLIVO_AUTH_ID!,
  authToken: over.authToken ?? f.env.ONY_PLIVO_AUTH_TOKEN!,
  apiUrl: over.apiUrl ?? f.env.ONY_PLIVO_API_URL!,
});

/** The call flow the webhook server plays: a stand-in for ony's, enough to drive every path. */
function scriptFor(ev: VoiceRequest, url: URL): CallScript {
  const token = url.searchParams.get('s') ?? '';
  const voice = `${PUBLIC_URL}/webhooks/telephony/voice?s=${token}`;
  const menu = (before: string[]): CallScript => ({
    say: before,
    gather: {
      action: voice,
      digits: 1,
      timeoutS: 8,
      finishOnKey: '',
      prompt: [GIST],
      speech: token.startsWith('speech'),
    },
    then: { kind: 'redirect', url: `${voice}&noinput=1` },
  });
  const bye = (text: string): CallScript => ({ say: [text], then: { kind: 'hangup' } });
  if (url.searchParams.get('noinput') === '1') return bye('No answer was received. Goodbye.');
  if (ev.digits === '1' || ev.speech?.includes('approve')) return bye('Approved. Thank you. Goodbye.');
  if (ev.digits === '2') return bye('Denied. Thank you. Goodbye.');
  if (ev.digits !== '') return menu(['That key is not an option.']);
  return menu(['This is ony.']);
}

const KINDS: Record<string, WebhookKind> = {
  '/webhooks/telephony/voice': 'voice',
  '/webhooks/telephony/status': 'status',
  '/webhooks/telephony/sms': 'sms',
};

async function handle(req: IncomingMessage): Promise<{ status: number; type?: string; body: string }> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const inbound: InboundRequest = {
    url: PUBLIC_URL + (req.url ?? ''),
    method: req.method === 'GET' ? 'GET' : 'POST',
    headers,
    rawBody: Buffer.concat(chunks).toString('utf8'),
  };
  const url = new URL(inbound.url);
  const kind = KINDS[url.pathname];
  if (kind === undefined) return { status: 404, body: '' };
  // 1. The signature, on the raw request, before anything is parsed.
  const check = provider.verify(inbound, new Date());
  if (!check.ok) {
    refused.push({ path: url.pathname, reason: check.reason });
    return { status: check.reason === 'missing' ? 401 : 403, body: '' };
  }
  if (check.replayKey !== undefined) {
    if (seenReplayKeys.has(check.replayKey)) {
      refused.push({ path: url.pathname, reason: 'replay' });
      return { status: 403, body: '' };
    }
    seenReplayKeys.add(check.replayKey);
  }
  // 2. Parse; 3. answer.
  const ev = provider.parse(kind, inbound);
  if (ev === undefined || ev.kind === 'ignored') return { status: ev === undefined ? 400 : 200, body: '' };
  events.push(ev);
  if (ev.kind === 'voice') {
    voiceRequests += 1;
    const reply = provider.render(scriptFor(ev, url));
    return { status: 200, type: reply.contentType, body: reply.body };
  }
  const ack = provider.acknowledge(ev.kind);
  return { status: 200, type: ack.contentType, body: ack.body };
}

beforeAll(async () => {
  fake = await startPlivoFake({ publicUrl: PUBLIC_URL, from: FROM });
  provider = createPlivoProvider(cfgFor(fake));
  webhooks = createServer((req, res) => {
    handle(req).then(
      (r) => {
        res.writeHead(r.status, r.type !== undefined ? { 'content-type': r.type } : {});
        res.end(r.body);
      },
      (err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      },
    );
  });
  webhooks.listen(0, '127.0.0.1');
  await once(webhooks, 'listening');
  fake.setTarget(`http://127.0.0.1:${(webhooks.address() as AddressInfo).port}`);
});

afterAll(async () => {
  await fake.close();
  webhooks.closeAllConnections();
  webhooks.close();
});

beforeEach(() => {
  events = [];
  refused = [];
  voiceRequests = 0;
});

let n = 0;
async function placeCall(o: { token?: string; machineDetection?: boolean; to?: string } = {}) {
  n += 1;
  const token = o.token ?? `tok${n}`;
  const to = o.to ?? `+1415555${String(1000 + n)}`;
  const { callId } = await provider.placeCall({
    to,
    from: FROM,
    answerUrl: `${PUBLIC_URL}/webhooks/telephony/voice?s=${token}`,
    statusUrl: `${PUBLIC_URL}/webhooks/telephony/status?s=${token}`,
    machineDetection: o.machineDetection ?? true,
    ringTimeoutS: 30,
  });
  const placed = await fake.waitForCall(to);
  return { callId, placed, token, to };
}

describe('the fake signs like Plivo', () => {
  it("reproduces the official SDK's V3 signatures (plivo@4.79.0 validateV3Signature vectors)", () => {
    const token = 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo';
    const nonce = '05429567804466091622';
    expect(
      plivoSignatureV3(
        token,
        'https://ony.test/webhooks/telephony/voice?s=tok_ABC-123&noinput=1',
        { CallUUID: 'c-1', Digits: '1', From: '15005550006', Text: 'a b&c=d' },
        nonce,
      ),
    ).toBe('TH9x60PjVJmiwI0sENsyFIKyb6oYr0VIlpAjgnVhkYM=');
    expect(
      plivoSignatureV3(
        token,
        'https://ony.test/webhooks/telephony/sms',
        { From: '14155550123', To: '15005550006', Text: 'YES 1a', MessageUUID: 'm-1', Type: 'sms' },
        nonce,
      ),
    ).toBe('AKcGsTqxgyuWAbHBgNjVQI2BV6rwUu1qMPA2/13qmVY=');
    expect(plivoSignatureV3(token, 'https://ony.test/webhooks/telephony/status?s=tok', {}, nonce)).toBe(
      'esF8SBRVdOeZj4r91Krnyiz2NOhgPpf3XO1ltldvtLE=',
    );
  });

  it('gives the env that points ony at it', () => {
    expect(fake.env).toEqual({
      ONY_TELEPHONY_PROVIDER: 'plivo',
      ONY_PLIVO_AUTH_ID: fake.authId,
      ONY_PLIVO_AUTH_TOKEN: fake.authToken,
      ONY_PLIVO_API_URL: fake.url,
      ONY_TELEPHONY_FROM: FROM,
    });
    expect(fake.authId).toMatch(/^MA[0-9A-F]{18}$/);
  });
});

describe('REST', () => {
  it('placeCall: exactly the expected fields, Basic auth, JSON; recording is never asked for', async () => {
    const { callId, placed, token, to } = await placeCall();
    expect(placed.id).toBe(callId);
    expect(placed.to).toBe(to);
    expect(placed.from).toBe(FROM);
    const req = placed.request;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/v1/Account/${fake.authId}/Call/`);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers.authorization).toBe(
      `Basic ${Buffer.from(`${fake.authId}:${fake.authToken}`).toString('base64')}`,
    );
    expect(req.params).toEqual({
      from: '15005550006',
      to: to.slice(1),
      answer_url: `${PUBLIC_URL}/webhooks/telephony/voice?s=${token}`,
      answer_method: 'POST',
      ring_url: `${PUBLIC_URL}/webhooks/telephony/status?s=${token}`,
      ring_method: 'POST',
      hangup_url: `${PUBLIC_URL}/webhooks/telephony/status?s=${token}`,
      hangup_method: 'POST',
      ring_timeout: 30,
      machine_detection: 'hangup',
    });
    expect(Object.keys(req.params).filter((k) => /record|transcri/i.test(k))).toEqual([]);
    expect(req.raw).not.toMatch(/record|transcri/i);
  });

  it('placeCall without machine detection leaves it out', async () => {
    const { placed } = await placeCall({ machineDetection: false });
    expect(placed.request.params).not.toHaveProperty('machine_detection');
  });

  it('sendSms: src, dst, text, and the log redaction flag; nothing else', async () => {
    const waiting = fake.waitForSms(APPROVER);
    const { messageId } = await provider.sendSms({
      to: APPROVER,
      from: FROM,
      text: 'ony: approve? reply 1a / 1d',
    });
    const sent = await waiting;
    expect(sent.id).toBe(messageId);
    expect(sent.text).toBe('ony: approve? reply 1a / 1d');
    expect(sent.request.path).toBe(`/v1/Account/${fake.authId}/Message/`);
    expect(sent.request.params).toEqual({
      src: '15005550006',
      dst: '14155550123',
      text: 'ony: approve? reply 1a / 1d',
      type: 'sms',
      log: false,
    });
  });

  it('health: one authenticated read of the account', async () => {
    const before = fake.requests.length;
    await expect(provider.health()).resolves.toEqual({
      ok: true,
      detail: 'plivo account reachable (standard)',
    });
    expect(fake.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /v1/Account/${fake.authId}/`,
    ]);
  });

  it('bad credentials: a clear 401 error naming the variables, nothing placed or sent, health not ok', async () => {
    const wrong = createPlivoProvider(cfgFor(fake, { authToken: 'not-the-token' }));
    const calls = fake.calls.length;
    const sms = fake.sms.length;
    const err = await wrong
      .placeCall({
        to: APPROVER,
        from: FROM,
        answerUrl: `${PUBLIC_URL}/webhooks/telephony/voice?s=x`,
        statusUrl: `${PUBLIC_URL}/webhooks/telephony/status?s=x`,
        machineDetection: true,
        ringTimeoutS: 30,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlivoApiError);
    expect(err).toMatchObject({ status: 401 });
    expect((err as Error).message).toMatch(/HTTP 401.*ONY_PLIVO_AUTH_ID and ONY_PLIVO_AUTH_TOKEN/);
    await expect(wrong.sendSms({ to: APPROVER, from: FROM, text: 'x' })).rejects.toMatchObject({
      status: 401,
    });
    expect(fake.calls.length).toBe(calls);
    expect(fake.sms.length).toBe(sms);
    await expect(wrong.health()).resolves.toEqual({ ok: false, detail: 'plivo API: HTTP 401' });
  });

  it('an outage surfaces its status (the channel retries 429 and connection failures only)', async () => {
    fake.failNext(1, 429);
    await expect(provider.sendSms({ to: APPROVER, from: FROM, text: 'x' })).rejects.toMatchObject({
      status: 429,
      message: expect.stringContaining('service temporarily unavailable') as unknown,
    });
    await expect(provider.sendSms({ to: APPROVER, from: FROM, text: 'x' })).resolves.toHaveProperty(
      'messageId',
    );
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const down = createPlivoProvider(cfgFor(fake, { apiUrl: `http://127.0.0.1:${port}` }));
    await expect(down.sendSms({ to: APPROVER, from: FROM, text: 'x' })).rejects.toMatchObject({
      status: 0,
      code: 'ECONNREFUSED',
    });
    await expect(down.health()).resolves.toEqual({ ok: false, detail: 'plivo API: unreachable' });
  });

  it('an error that quotes a number does not repeat it (numbers stay out of logs)', async () => {
    const err = (await provider
      .sendSms({ to: '+1415555012345678', from: FROM, text: 'x' })
      .catch((e: unknown) => e)) as PlivoApiError;
    expect(err).toMatchObject({ status: 400 });
    expect(err.message).toContain("invalid 'dst' parameter");
    expect(err.message).not.toMatch(/\d{5}/);
  });
});

describe('webhooks: verify -> parse -> render, driven by the network side', () => {
  it('answer, a wrong key, then 1: the caller hears the gist slowly and the approval; the hangup reports 42 s', async () => {
    const { callId, token } = await placeCall();
    const first = await fake.answer(callId, { answeredBy: 'human' });
    expect(first).toMatchObject({
      status: 200,
      said: ['This is ony.', GIST],
      gather: { digits: 1, speech: false },
      hungUp: false,
    });
    expect(first.raw).toContain('<Speak voice="Polly.Joanna" language="en-US"><prosody rate="slow">');
    expect(first.raw).not.toMatch(/<Record|record=|transcri/i);
    const wrong = await fake.press(callId, '9');
    expect(wrong.said).toEqual(['That key is not an option.', GIST]);
    const done = await fake.press(callId, '1');
    expect(done).toMatchObject({
      status: 200,
      said: ['Approved. Thank you. Goodbye.'],
      hungUp: true,
      gather: undefined,
    });
    expect(await fake.end(callId, 'completed', 42)).toEqual({ status: 200 });
    expect(events).toEqual([
      { kind: 'voice', callId, digits: '', speech: undefined, answeredBy: undefined },
      { kind: 'voice', callId, digits: '9', speech: undefined, answeredBy: undefined },
      { kind: 'voice', callId, digits: '1', speech: undefined, answeredBy: undefined },
      { kind: 'status', callId, status: 'completed', durationS: 42, answeredBy: undefined },
    ]);
    expect(refused).toEqual([]);
    expect(token).toMatch(/^tok/);
  });

  it('no input: the redirect reaches the no-input path and the call ends', async () => {
    const { callId } = await placeCall();
    await fake.answer(callId);
    const heard = await fake.silence(callId);
    expect(heard).toMatchObject({ status: 200, said: ['No answer was received. Goodbye.'], hungUp: true });
    expect(await fake.end(callId, 'no_answer')).toEqual({ status: 200 });
    expect(events.at(-1)).toMatchObject({ kind: 'status', callId, status: 'no_answer', durationS: 0 });
  });

  it('speech, only where the script listens for it', async () => {
    const { callId } = await placeCall({ token: 'speech1' });
    const first = await fake.answer(callId);
    expect(first.gather).toEqual({ digits: 1, speech: true });
    expect(first.raw).toContain('inputType="dtmf speech"');
    const heard = await fake.speak(callId, 'please approve it');
    expect(heard.said).toEqual(['Approved. Thank you. Goodbye.']);
    expect(events.at(-1)).toMatchObject({ kind: 'voice', callId, digits: '', speech: 'please approve it' });

    const keysOnly = await placeCall();
    await fake.answer(keysOnly.callId);
    expect(() => fake.speak(keysOnly.callId, 'approve')).toThrow(/does not listen for speech/);
  });

  it('a voicemail is hung up on before it hears anything; the verdict arrives with the hangup', async () => {
    const { callId } = await placeCall({ machineDetection: true });
    const heard = await fake.answer(callId, { answeredBy: 'machine' });
    expect(heard).toEqual({ status: 200, said: [], gather: undefined, hungUp: true, raw: '' });
    expect(voiceRequests).toBe(0);
    expect(events).toEqual([
      { kind: 'status', callId, status: 'completed', durationS: 5, answeredBy: 'machine' },
    ]);
  });

  it('an inbound SMS reaches the parser as E.164 and is acknowledged with an empty Response', async () => {
    const res = await fake.receiveSms(APPROVER, '1a');
    expect(res).toEqual({ status: 200, body: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>' });
    expect(events).toEqual([
      {
        kind: 'sms',
        messageId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
        from: APPROVER,
        to: FROM,
        text: '1a',
      },
    ]);
  });

  it('a bad signature is refused (403) and nothing is parsed', async () => {
    const { callId } = await placeCall();
    expect((await fake.answer(callId, { badSignature: true })).status).toBe(403);
    expect((await fake.receiveSms(APPROVER, '1a', { badSignature: true })).status).toBe(403);
    expect(await fake.end(callId, 'completed', 3, { badSignature: true })).toEqual({ status: 403 });
    expect(events).toEqual([]);
    expect(refused.map((r) => r.reason)).toEqual(['invalid', 'invalid', 'invalid']);
  });

  it('an unsigned request is refused (401) and nothing is parsed', async () => {
    const { callId } = await placeCall();
    expect((await fake.answer(callId, { unsigned: true })).status).toBe(401);
    expect((await fake.receiveSms(APPROVER, '1a', { unsigned: true })).status).toBe(401);
    expect(events).toEqual([]);
    expect(refused.map((r) => r.reason)).toEqual(['missing', 'missing']);
  });

  it('a replayed request (same nonce) is refused, for a key press and for an SMS', async () => {
    const { callId } = await placeCall();
    await fake.answer(callId);
    expect((await fake.press(callId, '9')).status).toBe(200);
    expect((await fake.press(callId, '1', { replay: true })).status).toBe(403);
    expect((await fake.receiveSms(APPROVER, '1d')).status).toBe(200);
    expect((await fake.receiveSms(APPROVER, '1d', { replay: true })).status).toBe(403);
    expect(events.map((e) => (e.kind === 'voice' ? e.digits : e.kind))).toEqual(['', '9', 'sms']);
    expect(refused.map((r) => r.reason)).toEqual(['replay', 'replay']);
  });

  it('stale: Plivo signs no time, so an old request can only come back as a replay, and that is refused', async () => {
    // `ageSeconds` means nothing to Plivo's scheme: a fresh nonce is a fresh request.
    expect((await fake.receiveSms(APPROVER, '2a', { ageSeconds: 3600 })).status).toBe(200);
    // The same delivery again, however much later, carries a nonce already seen.
    expect((await fake.receiveSms(APPROVER, '2a', { replay: true })).status).toBe(403);
    expect(refused).toEqual([{ path: '/webhooks/telephony/sms', reason: 'replay' }]);
  });

  it('a delivery moved to another of ony’s URLs fails the signature (the URL, token included, is signed)', async () => {
    const { callId } = await placeCall();
    await fake.answer(callId);
    // A request signed for one call's URL, delivered to another's.
    const signedFields = { CallUUID: 'x', ALegRequestUUID: callId, CallStatus: 'in-progress' };
    const nonce = '12345678901234567890';
    const sig = plivoSignatureV3(
      fake.authToken,
      `${PUBLIC_URL}/webhooks/telephony/voice?s=tokA`,
      signedFields,
      nonce,
    );
    const target = `http://127.0.0.1:${(webhooks.address() as AddressInfo).port}`;
    const res = await fetch(`${target}/webhooks/telephony/voice?s=tokB`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'X-Plivo-Signature-V3': sig,
        'X-Plivo-Signature-V3-Nonce': nonce,
      },
      body: new URLSearchParams(signedFields).toString(),
    });
    expect(res.status).toBe(403);
    expect(refused.at(-1)).toEqual({ path: '/webhooks/telephony/voice', reason: 'invalid' });
  });
});
