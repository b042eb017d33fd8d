import { createHmac } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { CallScript } from '../../core/telephony/script.js';
import {
  createPlivoProvider,
  PLIVO_REPLAY_TTL_MS,
  plivoV3Payload,
  plivoFieldsOf,
  renderPlivoXml,
  verifyPlivoSignature,
} from './plivo.js';
import type { InboundRequest } from './provider.js';

const TOKEN = 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo';
const cfg = {
  name: 'plivo' as const,
  authId: 'MAXXXXXXXXXXXXXXXXXX',
  authToken: TOKEN,
  apiUrl: 'https://api.plivo.test',
};
const provider = createPlivoProvider(cfg, {
  fetch: () => Promise.reject(new Error('no network in unit tests')),
});
const NOW = new Date('2026-11-10T12:00:00Z');
const FORM = 'application/x-www-form-urlencoded';
const VOICE_URL = 'https://ony.test/webhooks/telephony/voice?s=tok_ABC-123&noinput=1';
const NONCE = '05429567804466091622';
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/**
 * Signature vectors computed with the official SDK (plivo@4.79.0, `validateV3Signature(method, uri,
 * nonce, authToken, signature, params)` returned true for each), so the verifier is checked against
 * Plivo's own code rather than against a second copy of ours.
 */
const SDK_VECTORS: {
  method: 'GET' | 'POST';
  url: string;
  fields: Record<string, string>;
  signature: string;
}[] = [
  {
    method: 'POST',
    url: VOICE_URL,
    fields: { CallUUID: 'c-1', Digits: '1', From: '15005550006', Text: 'a b&c=d' },
    signature: 'TH9x60PjVJmiwI0sENsyFIKyb6oYr0VIlpAjgnVhkYM=',
  },
  {
    method: 'POST',
    url: 'https://ony.test/webhooks/telephony/sms',
    fields: { From: '14155550123', To: '15005550006', Text: 'YES 1a', MessageUUID: 'm-1', Type: 'sms' },
    signature: 'AKcGsTqxgyuWAbHBgNjVQI2BV6rwUu1qMPA2/13qmVY=',
  },
  {
    method: 'POST',
    url: 'https://ony.test/webhooks/telephony/status?s=tok',
    fields: {},
    signature: 'esF8SBRVdOeZj4r91Krnyiz2NOhgPpf3XO1ltldvtLE=',
  },
  {
    method: 'GET',
    url: 'https://ony.test/webhooks/telephony/voice?s=tok&a=b+c',
    fields: {},
    signature: 'rcuS8uTmenEtuJ6gAiWK0kR7LmLzPqqmhID6qd4itKc=',
  },
];

function request(o: {
  url?: string;
  body?: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string | undefined>;
}): InboundRequest {
  return {
    url: o.url ?? VOICE_URL,
    method: o.method ?? 'POST',
    headers: { 'content-type': FORM, ...o.headers },
    rawBody: o.body ?? '',
  };
}

/** Signs like Plivo, from the documented string (URL?sorted query.sorted fields.nonce). */
function signed(fields: Record<string, string>, o: { url?: string; token?: string; nonce?: string } = {}) {
  const url = o.url ?? VOICE_URL;
  const nonce = o.nonce ?? NONCE;
  const signature = createHmac('sha256', o.token ?? TOKEN)
    .update(plivoV3Payload('POST', url, plivoFieldsOf(new URLSearchParams(fields)), nonce))
    .digest('base64');
  return request({
    url,
    body: form(fields),
    headers: { 'x-plivo-signature-v3': signature, 'x-plivo-signature-v3-nonce': nonce },
  });
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseTagValue: false });
const parsed = (xml: string) => parser.parse(xml) as { Response: Record<string, unknown> };

describe('renderPlivoXml', () => {
  const menu: CallScript = {
    say: ['This is ony.'],
    gather: {
      action: 'https://ony.test/webhooks/telephony/voice?s=t1',
      digits: 1,
      timeoutS: 8,
      finishOnKey: '',
      prompt: ['Deploy to production. Press 1 to approve, 2 to deny.'],
      speech: false,
    },
    then: { kind: 'redirect', url: 'https://ony.test/webhooks/telephony/voice?s=t1&noinput=1' },
  };

  it('speaks each line slowly with a Polly voice, then a one-key GetInput with the prompt inside, then a POST redirect', () => {
    expect(renderPlivoXml(menu)).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response>' +
        '<Speak voice="Polly.Joanna" language="en-US"><prosody rate="slow">This is ony.</prosody></Speak>' +
        '<GetInput action="https://ony.test/webhooks/telephony/voice?s=t1" method="POST" inputType="dtmf" ' +
        'numDigits="1" executionTimeout="8" digitEndTimeout="8" finishOnKey="none" redirect="true" log="false">' +
        '<Speak voice="Polly.Joanna" language="en-US"><prosody rate="slow">Deploy to production. Press 1 to approve, ' +
        '2 to deny.</prosody></Speak></GetInput>' +
        '<Redirect method="POST">https://ony.test/webhooks/telephony/voice?s=t1&amp;noinput=1</Redirect>' +
        '</Response>',
    );
  });

  it('collects a 6-digit code ended by #, with the timeouts inside the ranges Plivo accepts', () => {
    const xml = renderPlivoXml({
      say: [],
      gather: { ...menu.gather!, digits: 6, timeoutS: 15, finishOnKey: '#', prompt: ['Enter the code.'] },
      then: menu.then,
    });
    const input = parsed(xml).Response.GetInput as Record<string, string>;
    expect(input).toMatchObject({
      numDigits: '6',
      finishOnKey: '#',
      executionTimeout: '15',
      digitEndTimeout: '10',
      inputType: 'dtmf',
      log: 'false',
    });
    expect(input.language).toBeUndefined();
    const clamped = parsed(renderPlivoXml({ ...menu, gather: { ...menu.gather!, timeoutS: 1 } })).Response
      .GetInput as Record<string, string>;
    expect(clamped).toMatchObject({ executionTimeout: '5', digitEndTimeout: '2' });
  });

  it('listens for speech only when asked', () => {
    const xml = renderPlivoXml({ ...menu, gather: { ...menu.gather!, speech: true } });
    expect(parsed(xml).Response.GetInput).toMatchObject({ inputType: 'dtmf speech', language: 'en-US' });
    expect(renderPlivoXml(menu)).not.toContain('speech');
  });

  it('ends with a hangup, with or without a gather', () => {
    const bye = renderPlivoXml({ say: ['Approved. Thank you. Goodbye.'], then: { kind: 'hangup' } });
    expect(bye).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Speak voice="Polly.Joanna" language="en-US">' +
        '<prosody rate="slow">Approved. Thank you. Goodbye.</prosody></Speak><Hangup/></Response>',
    );
    expect(renderPlivoXml({ ...menu, then: { kind: 'hangup' } })).toMatch(
      /<\/GetInput><Hangup\/><\/Response>$/,
    );
  });

  it('escapes hostile text everywhere, so it can never become an element or attribute', () => {
    const hostile = `</prosody></Speak><Record/><Dial>+15550001</Dial> "quoted" & 'single'`;
    const xml = renderPlivoXml({
      say: [hostile],
      gather: { ...menu.gather!, action: `https://ony.test/v?s=a"><Record x="&`, prompt: [hostile] },
      then: { kind: 'redirect', url: `https://ony.test/v?s=a&noinput=1"/><Record/>` },
    });
    expect(xml).not.toMatch(/<Record|<Dial|record=/i);
    const doc = parsed(xml).Response;
    expect(Object.keys(doc).sort()).toEqual(['GetInput', 'Redirect', 'Speak']);
    expect((doc.Speak as { prosody: { '#text': string } }).prosody['#text']).toBe(hostile);
    expect((doc.GetInput as { action: string }).action).toBe(`https://ony.test/v?s=a"><Record x="&`);
    expect((doc.Redirect as { '#text': string })['#text']).toBe(
      `https://ony.test/v?s=a&noinput=1"/><Record/>`,
    );
  });

  it('is what the provider renders, as text/xml', () => {
    expect(provider.render(menu)).toEqual({
      contentType: 'text/xml; charset=utf-8',
      body: renderPlivoXml(menu),
    });
    expect(provider.acknowledge('status').body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
    );
    expect(provider.acknowledge('sms').contentType).toBe('text/xml; charset=utf-8');
  });
});

describe('verify (signature V3)', () => {
  it("accepts the official SDK's signatures, and gives the nonce as the replay key", () => {
    for (const v of SDK_VECTORS) {
      const req = request({
        url: v.url,
        method: v.method,
        body: v.method === 'POST' ? form(v.fields) : '',
        headers: { 'x-plivo-signature-v3': v.signature, 'x-plivo-signature-v3-nonce': NONCE },
      });
      expect(provider.verify(req, NOW), v.url).toEqual({
        ok: true,
        replayKey: `plivo:${NONCE}`,
        replayTtlMs: PLIVO_REPLAY_TTL_MS,
      });
    }
  });

  it('signs the fields sorted by name and the query sorted, whatever order they arrive in', () => {
    const fields = { Digits: '1', CallUUID: 'c-1', Text: 'a b&c=d', From: '15005550006' };
    const req = signed(fields);
    const reordered = { ...req, url: 'https://ony.test/webhooks/telephony/voice?noinput=1&s=tok_ABC-123' };
    expect(verifyPlivoSignature(TOKEN, reordered).ok).toBe(true);
    expect(plivoV3Payload('POST', VOICE_URL, plivoFieldsOf(new URLSearchParams(fields)), NONCE)).toBe(
      'https://ony.test/webhooks/telephony/voice?noinput=1&s=tok_ABC-123.CallUUIDc-1Digits1From15005550006Texta b&c=d.' +
        NONCE,
    );
  });

  it('accepts X-Plivo-Signature-Ma-V3 and any of several comma-separated signatures', () => {
    const ok = signed({ CallUUID: 'c-1' });
    const sig = ok.headers['x-plivo-signature-v3']!;
    const ma = {
      ...ok,
      headers: { ...ok.headers, 'x-plivo-signature-v3': undefined, 'x-plivo-signature-ma-v3': sig },
    };
    expect(provider.verify(ma, NOW).ok).toBe(true);
    const list = { ...ok, headers: { ...ok.headers, 'x-plivo-signature-v3': `AAAA, ${sig}` } };
    expect(provider.verify(list, NOW).ok).toBe(true);
  });

  it('is missing without a signature or without a nonce', () => {
    const ok = signed({ CallUUID: 'c-1' });
    expect(provider.verify(request({ body: ok.rawBody }), NOW)).toEqual({ ok: false, reason: 'missing' });
    expect(
      provider.verify({ ...ok, headers: { ...ok.headers, 'x-plivo-signature-v3-nonce': undefined } }, NOW),
    ).toEqual({ ok: false, reason: 'missing' });
    expect(
      provider.verify({ ...ok, headers: { ...ok.headers, 'x-plivo-signature-v3': ' , ' } }, NOW),
    ).toEqual({ ok: false, reason: 'missing' });
  });

  it('is invalid with another auth token, another nonce, garbage or a truncated signature', () => {
    const ok = signed({ CallUUID: 'c-1', Digits: '1' });
    const sig = ok.headers['x-plivo-signature-v3']!;
    expect(provider.verify(signed({ CallUUID: 'c-1', Digits: '1' }, { token: `${TOKEN}x` }), NOW)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    const otherNonce = {
      ...ok,
      headers: { ...ok.headers, 'x-plivo-signature-v3-nonce': '11111111111111111111' },
    };
    expect(provider.verify(otherNonce, NOW)).toEqual({ ok: false, reason: 'invalid' });
    for (const bad of ['garbage', sig.slice(0, -2), `${sig}A`])
      expect(
        provider.verify({ ...ok, headers: { ...ok.headers, 'x-plivo-signature-v3': bad } }, NOW),
      ).toEqual({
        ok: false,
        reason: 'invalid',
      });
  });

  it('is invalid when the body was tampered with (a changed, added or removed field)', () => {
    const ok = signed({ CallUUID: 'c-1', Digits: '2' });
    for (const body of [
      form({ CallUUID: 'c-1', Digits: '1' }),
      form({ CallUUID: 'c-1', Digits: '2', Speech: 'approve' }),
      form({ CallUUID: 'c-1' }),
      '',
    ])
      expect(provider.verify({ ...ok, rawBody: body }, NOW), body).toEqual({ ok: false, reason: 'invalid' });
  });

  it('is invalid at a different URL: another path, token, host or scheme', () => {
    const ok = signed({ CallUUID: 'c-1', Digits: '1' });
    for (const url of [
      'https://ony.test/webhooks/telephony/status?s=tok_ABC-123&noinput=1',
      'https://ony.test/webhooks/telephony/voice?s=tok_OTHER&noinput=1',
      'https://ony.test/webhooks/telephony/voice?s=tok_ABC-123',
      'https://evil.test/webhooks/telephony/voice?s=tok_ABC-123&noinput=1',
      'http://ony.test/webhooks/telephony/voice?s=tok_ABC-123&noinput=1',
    ])
      expect(provider.verify({ ...ok, url }, NOW), url).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses a signed body that is not a form', () => {
    const ok = signed({ CallUUID: 'c-1' });
    expect(
      provider.verify({ ...ok, headers: { ...ok.headers, 'content-type': 'application/json' } }, NOW),
    ).toEqual({ ok: false, reason: 'invalid' });
  });

  it("has no 'stale' verdict (Plivo signs no time): an old request is refused by its remembered nonce instead", () => {
    const req = signed({ CallUUID: 'c-1', Digits: '1' });
    const aWeekLater = new Date(NOW.getTime() + 7 * 24 * 3600_000);
    const first = provider.verify(req, NOW);
    const later = provider.verify(req, aWeekLater);
    expect(later).toEqual(first);
    expect(first.ok && first.replayKey).toBe(`plivo:${NONCE}`);
    // Kept longer than anything a replay could act on: a reply code (25 h) and a call (1 h).
    expect(PLIVO_REPLAY_TTL_MS).toBeGreaterThan(25 * 3600_000);
  });
});

describe('parse', () => {
  const REQ = '9834029e-58b6-11e1-b8b7-a5bd0e4e126f';
  const voice = (extra: Record<string, string> = {}) =>
    request({
      body: form({
        CallUUID: 'f2a4c1d6-0000-4000-8000-000000000001',
        From: '15005550006',
        To: '14155550123',
        CallStatus: 'in-progress',
        Direction: 'outbound',
        ALegUUID: 'f2a4c1d6-0000-4000-8000-000000000001',
        ALegRequestUUID: REQ,
        ...extra,
      }),
    });

  it('an answer: the call id is the request uuid placeCall returned, no keys yet', () => {
    expect(provider.parse('voice', voice())).toEqual({
      kind: 'voice',
      callId: REQ,
      digits: '',
      speech: undefined,
      answeredBy: undefined,
    });
  });

  it('keys and speech from a GetInput action', () => {
    expect(provider.parse('voice', voice({ InputType: 'dtmf', Digits: '1' }))).toMatchObject({
      digits: '1',
      speech: undefined,
    });
    expect(
      provider.parse(
        'voice',
        voice({ InputType: 'speech', Speech: 'approve it', SpeechConfidenceScore: '0.9' }),
      ),
    ).toMatchObject({ digits: '', speech: 'approve it' });
  });

  it('a machine verdict (Machine=true|false) on any request', () => {
    expect(provider.parse('voice', voice({ Machine: 'true' }))).toMatchObject({ answeredBy: 'machine' });
    expect(provider.parse('voice', voice({ Machine: 'false' }))).toMatchObject({ answeredBy: 'human' });
  });

  it('final statuses from the hangup URL, with the duration', () => {
    expect(
      provider.parse('status', voice({ CallStatus: 'completed', Duration: '42', BillDuration: '60' })),
    ).toEqual({ kind: 'status', callId: REQ, status: 'completed', durationS: 42, answeredBy: undefined });
    const cases: [string, string][] = [
      ['busy', 'busy'],
      ['no-answer', 'no_answer'],
      ['timeout', 'no_answer'],
      ['failed', 'failed'],
      ['cancel', 'canceled'],
      ['ringing', 'ringing'],
    ];
    for (const [plivo, ony] of cases)
      expect(provider.parse('status', voice({ CallStatus: plivo })), plivo).toMatchObject({
        status: ony,
        durationS: undefined,
      });
  });

  it('a voicemail hung up on by machine_detection=hangup reports the verdict with the hangup', () => {
    expect(
      provider.parse('status', voice({ CallStatus: 'completed', Duration: '5', Machine: 'true' })),
    ).toEqual({ kind: 'status', callId: REQ, status: 'completed', durationS: 5, answeredBy: 'machine' });
  });

  it('the asynchronous detection callback (Event=MachineDetection)', () => {
    const body = form({
      CallUUID: 'f2a4c1d6-0000-4000-8000-000000000001',
      RequestUUID: REQ,
      Machine: 'true',
      Event: 'MachineDetection',
      IfMachine: 'continue',
    });
    expect(provider.parse('status', request({ body }))).toEqual({
      kind: 'status',
      callId: REQ,
      status: 'in_progress',
      durationS: undefined,
      answeredBy: 'machine',
    });
  });

  it('an inbound SMS, numbers in E.164', () => {
    const body = form({
      From: '14155550123',
      To: '15005550006',
      Text: '1a',
      Type: 'sms',
      MessageUUID: 'm-1234',
    });
    expect(provider.parse('sms', request({ url: 'https://ony.test/webhooks/telephony/sms', body }))).toEqual({
      kind: 'sms',
      messageId: 'm-1234',
      from: '+14155550123',
      to: '+15005550006',
      text: '1a',
    });
  });

  it('a delivery report is ignored', () => {
    const body = form({ From: '15005550006', To: '14155550123', Status: 'delivered', MessageUUID: 'm-1' });
    expect(provider.parse('sms', request({ body }))).toEqual({ kind: 'ignored' });
  });

  it('junk is not an event: JSON, no ids, an unknown status, a malformed call id', () => {
    expect(
      provider.parse(
        'voice',
        request({ body: '{"CallUUID":"x"}', headers: { 'content-type': 'application/json' } }),
      ),
    ).toBeUndefined();
    expect(provider.parse('voice', request({ body: form({ Digits: '1' }) }))).toBeUndefined();
    expect(provider.parse('voice', voice({ ALegRequestUUID: '../../etc' }))).toBeUndefined();
    expect(provider.parse('status', voice({ CallStatus: 'exploded' }))).toBeUndefined();
    expect(provider.parse('status', request({ body: '' }))).toBeUndefined();
    expect(provider.parse('sms', request({ body: form({ Text: 'hi' }) }))).toBeUndefined();
    expect(
      provider.parse('sms', request({ body: form({ MessageUUID: 'm-1', Text: 'hi' }) })),
    ).toBeUndefined();
  });
});

describe('REST errors', () => {
  it('health never throws: an unreachable API is reported', async () => {
    await expect(provider.health()).resolves.toEqual({ ok: false, detail: 'plivo API: unreachable' });
  });
});
