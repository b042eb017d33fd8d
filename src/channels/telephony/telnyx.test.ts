import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CallScript } from '../../core/telephony/script.js';
import type { InboundRequest } from './provider.js';
import { createTelnyxProvider, renderTexml, TelnyxApiError } from './telnyx.js';

const { publicKey: pub, privateKey } = generateKeyPairSync('ed25519');
const { privateKey: otherKey } = generateKeyPairSync('ed25519');
const publicKey = Buffer.from(pub.export({ format: 'jwk' }).x ?? '', 'base64url').toString('base64');

const cfg = {
  name: 'telnyx' as const,
  apiKey: 'KEY_test',
  publicKey,
  texmlAppId: '1773070540731319841',
  messagingProfileId: undefined,
  apiUrl: 'https://api.telnyx.test',
};
const provider = createTelnyxProvider(cfg, {
  fetch: () => Promise.reject(new Error('no network in unit tests')),
});

const NOW = new Date('2026-11-10T12:00:00Z');
const nowS = Math.floor(NOW.getTime() / 1000);
const PUBLIC = 'https://ony.test/webhooks/telephony/voice/action?s=opaque-token';
const FORM = 'application/x-www-form-urlencoded';

function signed(
  rawBody: string,
  o: { ts?: number; key?: typeof privateKey; url?: string; type?: string } = {},
): InboundRequest {
  const ts = o.ts ?? nowS;
  const signature = sign(null, Buffer.from(`${ts}|${rawBody}`), o.key ?? privateKey).toString('base64');
  return {
    url: o.url ?? PUBLIC,
    method: 'POST',
    headers: {
      'content-type': o.type ?? FORM,
      'telnyx-timestamp': String(ts),
      'telnyx-signature-ed25519': signature,
    },
    rawBody,
  };
}
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const CALL = 'v3:9X2vxPDFY2RHSJ1EdMS0RHRksMTg7ldNxdjWbVr9zBjbGjGsSe-aiQ';
const voiceBody = (extra: Record<string, string> = {}) =>
  form({
    AccountSid: 'f5586561-8ff0-4291-a51b-c7dfe4139ff9',
    CallSid: CALL,
    CallStatus: 'in-progress',
    ...extra,
  });

describe('renderTexml', () => {
  const menu: CallScript = {
    say: ['ony approval request.'],
    gather: {
      action: 'https://ony.test/webhooks/telephony/voice/action?s=t1',
      digits: 1,
      timeoutS: 8,
      finishOnKey: '',
      prompt: ['Press 1 to approve, 2 to deny.'],
      speech: false,
    },
    then: { kind: 'redirect', url: 'https://ony.test/webhooks/telephony/voice/action?s=t1&noinput=1' },
  };

  it('speaks slowly with a neural Polly voice, gathers one key with the prompt inside, then redirects by POST', () => {
    expect(renderTexml(menu)).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response>' +
        '<Say voice="Polly.Joanna-Neural" voiceSpeed="0.8">ony approval request.</Say>' +
        '<Gather action="https://ony.test/webhooks/telephony/voice/action?s=t1" method="POST" input="dtmf" ' +
        'numDigits="1" timeout="8" finishOnKey="">' +
        '<Say voice="Polly.Joanna-Neural" voiceSpeed="0.8">Press 1 to approve, 2 to deny.</Say></Gather>' +
        '<Redirect method="POST">https://ony.test/webhooks/telephony/voice/action?s=t1&amp;noinput=1</Redirect>' +
        '</Response>',
    );
  });

  it('gathers six keys ended by # for a TOTP code', () => {
    const xml = renderTexml({
      say: [],
      gather: { ...menu.gather!, digits: 6, timeoutS: 10, finishOnKey: '#', prompt: ['Enter your code.'] },
      then: menu.then,
    });
    expect(xml).toContain('input="dtmf" numDigits="6" timeout="10" finishOnKey="#">');
    expect(xml).not.toContain('speech');
  });

  it('listens for speech only when the gather asks for it', () => {
    const xml = renderTexml({ ...menu, gather: { ...menu.gather!, speech: true } });
    expect(xml).toContain('input="dtmf speech" numDigits="1" timeout="8" finishOnKey="" language="en-US">');
  });

  it('says and hangs up when there is nothing to gather', () => {
    expect(renderTexml({ say: ['Approved.', 'Goodbye.'], then: { kind: 'hangup' } })).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response>' +
        '<Say voice="Polly.Joanna-Neural" voiceSpeed="0.8">Approved.</Say>' +
        '<Say voice="Polly.Joanna-Neural" voiceSpeed="0.8">Goodbye.</Say><Hangup/></Response>',
    );
  });

  it('escapes hostile text and URLs, so no verb can be injected', () => {
    const hostile = 'x</Say><Record transcribe="true"/><Say>"\'&';
    const xml = renderTexml({
      say: [hostile],
      gather: { ...menu.gather!, action: 'https://ony.test/a?s=1&x="><Record/>', prompt: [hostile] },
      then: { kind: 'redirect', url: 'https://ony.test/r?s=1</Redirect><Record/>' },
    });
    expect(xml).not.toMatch(/<Record|<Start|<Stream|<Dial|<Transcription/);
    expect(xml).toContain(
      'x&lt;/Say&gt;&lt;Record transcribe=&quot;true&quot;/&gt;&lt;Say&gt;&quot;&apos;&amp;',
    );
    expect(xml).toContain('action="https://ony.test/a?s=1&amp;x=&quot;&gt;&lt;Record/&gt;"');
    expect(xml).toContain('https://ony.test/r?s=1&lt;/Redirect&gt;&lt;Record/&gt;</Redirect>');
  });

  it('never asks for a recording or a transcript in any shape', () => {
    for (const script of [menu, { ...menu, gather: { ...menu.gather!, speech: true } }]) {
      const xml = renderTexml(script);
      expect(xml).not.toMatch(/record|transcri/i);
    }
  });
});

describe('verify', () => {
  it('accepts a fresh signature over timestamp|body and gives it as the replay key', () => {
    const req = signed(voiceBody());
    expect(provider.verify(req, NOW)).toEqual({
      ok: true,
      replayKey: `telnyx:${req.headers['telnyx-signature-ed25519']}`,
      replayTtlMs: 600_000,
    });
  });

  it('answers missing when either header is absent or empty', () => {
    const req = signed(voiceBody());
    const without = (name: string, value?: string) => ({
      ...req,
      headers: { ...req.headers, [name]: value },
    });
    expect(provider.verify(without('telnyx-signature-ed25519'), NOW)).toEqual({
      ok: false,
      reason: 'missing',
    });
    expect(provider.verify(without('telnyx-timestamp'), NOW)).toEqual({ ok: false, reason: 'missing' });
    expect(provider.verify(without('telnyx-timestamp', ''), NOW)).toEqual({ ok: false, reason: 'missing' });
  });

  it('answers invalid for another key, a tampered body or timestamp, and malformed headers', () => {
    expect(provider.verify(signed(voiceBody(), { key: otherKey }), NOW)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    const req = signed(voiceBody({ Digits: '2' }));
    expect(provider.verify({ ...req, rawBody: voiceBody({ Digits: '1' }) }, NOW)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    const moved = { ...req.headers, 'telnyx-timestamp': String(nowS - 1) };
    expect(provider.verify({ ...req, headers: moved }, NOW)).toEqual({ ok: false, reason: 'invalid' });
    for (const [name, value] of [
      ['telnyx-timestamp', '12a'],
      ['telnyx-signature-ed25519', 'not base64!'],
      ['telnyx-signature-ed25519', Buffer.alloc(32).toString('base64')],
    ] as const)
      expect(provider.verify({ ...req, headers: { ...req.headers, [name]: value } }, NOW)).toEqual({
        ok: false,
        reason: 'invalid',
      });
  });

  it('answers stale beyond 300 s either way, and accepts within it', () => {
    expect(provider.verify(signed(voiceBody(), { ts: nowS - 301 }), NOW)).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(provider.verify(signed(voiceBody(), { ts: nowS + 301 }), NOW)).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(provider.verify(signed(voiceBody(), { ts: nowS - 300 }), NOW).ok).toBe(true);
  });

  it('does not cover the URL (Telnyx signs timestamp and body only): the service binds callId to its URL', () => {
    const req = signed(voiceBody());
    expect(
      provider.verify({ ...req, url: 'https://elsewhere.test/webhooks/telephony/voice/status' }, NOW).ok,
    ).toBe(true);
  });

  it('verifies the raw JSON bytes of an SMS event, not a re-serialisation', () => {
    const raw = '{"data": {"event_type":"message.received"}}';
    const req = signed(raw, { type: 'application/json' });
    expect(provider.verify(req, NOW).ok).toBe(true);
    expect(provider.verify({ ...req, rawBody: JSON.stringify(JSON.parse(raw)) }, NOW)).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });
});

describe('parse', () => {
  const req = (rawBody: string, type = FORM): InboundRequest => ({
    url: PUBLIC,
    method: 'POST',
    headers: { 'content-type': type },
    rawBody,
  });

  it('reads the answer request, keys, speech and an AMD verdict', () => {
    expect(provider.parse('voice', req(voiceBody()))).toEqual({
      kind: 'voice',
      callId: CALL,
      digits: '',
      speech: undefined,
      answeredBy: undefined,
    });
    expect(provider.parse('voice', req(voiceBody({ Digits: '123456' })))).toMatchObject({ digits: '123456' });
    expect(
      provider.parse('voice', req(voiceBody({ SpeechResult: 'approve', Confidence: '0.9' }))),
    ).toMatchObject({
      speech: 'approve',
    });
    for (const [value, expected] of [
      ['human', 'human'],
      ['machine', 'machine'],
      ['machine_end_beep', 'machine'],
      ['fax', 'machine'],
      ['unknown', 'unknown'],
    ] as const)
      expect(provider.parse('voice', req(voiceBody({ AnsweredBy: value })))).toMatchObject({
        answeredBy: expected,
      });
  });

  it('reads status callbacks, with the duration when final and the AMD verdict alone', () => {
    expect(provider.parse('status', req(voiceBody({ CallStatus: 'completed', CallDuration: '42' })))).toEqual(
      { kind: 'status', callId: CALL, status: 'completed', durationS: 42, answeredBy: undefined },
    );
    expect(
      provider.parse('status', req(voiceBody({ CallStatus: 'no-answer', CallDuration: '0' }))),
    ).toMatchObject({ status: 'no_answer', durationS: 0 });
    expect(provider.parse('status', req(voiceBody({ CallStatus: 'initiated' })))).toMatchObject({
      status: 'queued',
      durationS: undefined,
    });
    expect(
      provider.parse('status', req(form({ CallSid: CALL, AnsweredBy: 'machine_start', ConnectionId: '1' }))),
    ).toEqual({
      kind: 'status',
      callId: CALL,
      status: 'in_progress',
      durationS: undefined,
      answeredBy: 'machine',
    });
    expect(provider.parse('status', req(voiceBody({ CallStatus: 'exploded' })))).toBeUndefined();
  });

  it('reads an inbound message and ignores other messaging events', () => {
    const event = (eventType: string, payload: unknown) =>
      req(
        JSON.stringify({ data: { event_type: eventType, id: 'e1', payload, record_type: 'event' } }),
        'application/json',
      );
    const payload = {
      id: '7ee4241c-f127-47e5-9c34-3aac291f8058',
      direction: 'inbound',
      from: { phone_number: '+18665550001' },
      to: [{ phone_number: '+18445550001', status: 'webhook_delivered' }],
      text: '1a',
    };
    expect(provider.parse('sms', event('message.received', payload))).toEqual({
      kind: 'sms',
      messageId: payload.id,
      from: '+18665550001',
      to: '+18445550001',
      text: '1a',
    });
    expect(provider.parse('sms', event('message.finalized', { id: 'x' }))).toEqual({ kind: 'ignored' });
    expect(provider.parse('sms', event('message.sent', { id: 'x' }))).toEqual({ kind: 'ignored' });
    expect(provider.parse('sms', event('message.received', { ...payload, from: undefined }))).toBeUndefined();
  });

  it('answers undefined for junk and for another body shape', () => {
    expect(
      provider.parse('voice', req(JSON.stringify({ CallSid: CALL }), 'application/json')),
    ).toBeUndefined();
    expect(provider.parse('voice', req(voiceBody(), 'text/plain'))).toBeUndefined();
    expect(provider.parse('voice', req(form({ Digits: '1' })))).toBeUndefined();
    expect(provider.parse('voice', req(form({ CallSid: 'short' })))).toBeUndefined();
    expect(provider.parse('voice', req(form({ CallSid: `${CALL}<script>` })))).toBeUndefined();
    expect(provider.parse('sms', req(voiceBody()))).toBeUndefined();
    expect(provider.parse('sms', req('{not json', 'application/json'))).toBeUndefined();
    expect(provider.parse('sms', req('[1,2]', 'application/json'))).toBeUndefined();
    expect(provider.parse('sms', req('{"data":{"id":"e1"}}', 'application/json'))).toBeUndefined();
  });
});

describe('replies and failures without a network', () => {
  it('acknowledges SMS with {} and status callbacks with an empty body (no instructions)', () => {
    expect(provider.acknowledge('sms')).toEqual({ contentType: 'application/json', body: '{}' });
    expect(provider.acknowledge('status')).toEqual({ contentType: 'text/plain; charset=utf-8', body: '' });
    expect(provider.render({ say: ['Hi.'], then: { kind: 'hangup' } }).contentType).toBe(
      'text/xml; charset=utf-8',
    );
  });

  it('reports an unreachable API as a typed error, and health never throws', async () => {
    await expect(
      provider.sendSms({ to: '+15005550001', from: '+15005550006', text: 'x' }),
    ).rejects.toMatchObject({ name: 'TelnyxApiError', status: 0 });
    await expect(provider.health()).resolves.toEqual({ ok: false, detail: 'telnyx API: unreachable' });
    expect(new TelnyxApiError(401, '10009', 'm')).toBeInstanceOf(Error);
  });

  it('refuses a public key that is not 32 bytes of Ed25519', () => {
    expect(() => createTelnyxProvider({ ...cfg, publicKey: Buffer.alloc(16).toString('base64') })).toThrow(
      /32 bytes/,
    );
  });
});
