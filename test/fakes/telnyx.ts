/**
 * A fake Telnyx REST API and phone network.
 *
 * REST (base `<url>/v2`, `Authorization: Bearer <API key>`, JSON; errors as Telnyx writes them,
 * `{"errors":[{"code","title","detail"}]}`, 401 = code 10009):
 * - `POST /v2/texml/calls/{texml_app_id}`: places a call, answers `{call_sid, from, to, status}`;
 * - `POST /v2/messages`: sends an SMS, answers `{data: {id, …}}`;
 * - `GET /v2/balance`: the account balance (health checks).
 *
 * Network: it requests ony's URLs the way TeXML does (form-encoded POST with CallSid, Digits,
 * SpeechResult, AnsweredBy, CallStatus, CallDuration; the synchronous AMD verdict as `AnsweredBy` on
 * the status callback before the instructions are fetched) and delivers inbound SMS as the JSON
 * `message.received` event; every request carries `telnyx-timestamp` and `telnyx-signature-ed25519`
 * (Ed25519 over `${timestamp}|${body}` with the account's key pair, generated here; ony gets the public
 * half). It parses the TeXML ony answers with fast-xml-parser and refuses any verb that could record,
 * stream or dial.
 */
import { generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type FakeOptions,
  type Heard,
  type MarkupNode,
  type PlacedCall,
  type RecordedRequest,
  responseElements,
  type SentSms,
  type SignOptions,
  type TelephonyFake,
  textOf,
  waitForNextSms,
  waitForUnansweredCall,
} from './telephony.js';

interface CallProgress {
  readonly call: PlacedCall;
  gatherAction: string | undefined;
  redirect: string | undefined;
  ended: boolean;
}

const TOP_VERBS = new Set(['Say', 'Gather', 'Redirect', 'Hangup', 'Pause']);
const GATHER_VERBS = new Set(['Say', 'Pause']);
const verbOf = (n: MarkupNode): string => Object.keys(n).find((k) => k !== ':@') ?? '';

/** The TeXML ony answered, as the caller experiences it. Throws on anything but a plain keypad script. */
export function hearTexml(status: number, raw: string): Heard & { action?: string; redirect?: string } {
  const said: string[] = [];
  let gather: Heard['gather'];
  let action: string | undefined;
  let redirect: string | undefined;
  let hungUp = false;
  if (status !== 200) return { status, said, gather, hungUp: false, raw };
  const response = responseElements(raw, 'TeXML');
  for (const verb of response) {
    const name = verbOf(verb);
    if (!TOP_VERBS.has(name)) throw new Error(`unexpected <${name}> in ${raw}`);
    const attrs = (verb[':@'] ?? {}) as Record<string, string>;
    if (name === 'Say') said.push(textOf(verb.Say as MarkupNode[]));
    else if (name === 'Gather') {
      for (const inner of verb.Gather as MarkupNode[]) {
        const innerName = verbOf(inner);
        if (!GATHER_VERBS.has(innerName)) throw new Error(`unexpected <${innerName}> in a Gather: ${raw}`);
        if (innerName === 'Say') said.push(textOf(inner.Say as MarkupNode[]));
      }
      gather = { digits: Number(attrs.numDigits), speech: (attrs.input ?? 'dtmf').includes('speech') };
      action = attrs.action;
    } else if (name === 'Redirect') redirect = textOf(verb.Redirect as MarkupNode[]);
    else if (name === 'Hangup') hungUp = true;
  }
  if (gather === undefined && redirect === undefined) hungUp = true;
  return { status, said, gather, hungUp, raw, ...(action && { action }), ...(redirect && { redirect }) };
}

/** Telnyx's webhook signature: base64 Ed25519 over `${timestamp}|${body}`. */
export function telnyxSignature(privateKey: KeyObject, timestamp: number, body: string): string {
  return sign(null, Buffer.from(`${timestamp}|${body}`, 'utf8'), privateKey).toString('base64');
}

function rawPublicKey(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url').toString('base64');
}

export interface TelnyxFake extends TelephonyFake {
  readonly apiKey: string;
  /** The base64 Ed25519 public key ony verifies with (ONY_TELNYX_PUBLIC_KEY). */
  readonly publicKey: string;
  readonly texmlAppId: string;
  readonly messagingProfileId: string;
  /** A delivery receipt for a sent message (`message.finalized`), which ony must ignore. */
  deliveryReceipt(messageId: string, opts?: SignOptions): Promise<{ status: number; body: string }>;
}

export async function startTelnyxFake(opts: FakeOptions): Promise<TelnyxFake> {
  const from = opts.from ?? '+15005550006';
  const apiKey = `KEY${randomBytes(16).toString('hex').toUpperCase()}_${randomBytes(16).toString('base64url')}`;
  const { publicKey: pub, privateKey } = generateKeyPairSync('ed25519');
  const { privateKey: wrongKey } = generateKeyPairSync('ed25519');
  const publicKey = rawPublicKey(pub);
  const texmlAppId = `17${Array.from(randomBytes(17), (b) => b % 10).join('')}`;
  const messagingProfileId = randomUUID();
  const accountSid = randomUUID();

  const requests: RecordedRequest[] = [];
  const calls: PlacedCall[] = [];
  const sms: SentSms[] = [];
  const progress = new Map<string, CallProgress>();
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  let target = '';
  let lastSigned: { url: string; body: string; headers: Record<string, string> } | undefined;

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const telnyxError = (res: ServerResponse, status: number, code: string, title: string, detail: string) =>
    json(res, status, {
      errors: [
        { code, title, detail, meta: { url: `https://developers.telnyx.com/docs/overview/errors/${code}` } },
      ],
    });
  const E164 = /^\+[1-9]\d{6,14}$/;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const isJson = (req.headers['content-type'] ?? '').startsWith('application/json');
      let params: Record<string, unknown> = {};
      try {
        params = isJson
          ? (JSON.parse(raw === '' ? '{}' : raw) as Record<string, unknown>)
          : Object.fromEntries(new URLSearchParams(raw));
      } catch {
        return telnyxError(res, 400, '10015', 'Bad Request', 'The request body is not valid JSON.');
      }
      const rec: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        raw,
        params,
      };
      requests.push(rec);
      if (failures.count > 0) {
        failures.count -= 1;
        return failures.status === 429
          ? telnyxError(
              res,
              429,
              '10011',
              'Too many requests',
              'You have exceeded the maximum number of allowed requests.',
            )
          : telnyxError(res, failures.status, '10007', 'Unexpected error', 'An unexpected error occured.');
      }
      if (req.headers.authorization !== `Bearer ${apiKey}`)
        return telnyxError(
          res,
          401,
          '10009',
          'Authentication failed',
          'The required authentication headers were either invalid or not included in the request.',
        );
      const path = (req.url ?? '').split('?')[0] ?? '';
      const s = (k: string) => (typeof params[k] === 'string' ? (params[k] as string) : undefined);

      if (req.method === 'GET' && path === '/v2/balance')
        return json(res, 200, {
          data: {
            record_type: 'balance',
            balance: '300.00',
            pending: '0.00',
            credit_limit: '0.00',
            available_credit: '300.00',
            currency: 'USD',
          },
        });

      const callPath = /^\/v2\/texml\/calls\/([^/]+)$/.exec(path);
      if (req.method === 'POST' && callPath !== null) {
        if (decodeURIComponent(callPath[1] ?? '') !== texmlAppId)
          return telnyxError(
            res,
            404,
            '10005',
            'Resource not found',
            'The requested resource or URL could not be found.',
          );
        if (!isJson)
          return telnyxError(res, 415, '10014', 'Unsupported Media Type', 'Send application/json.');
        const to = s('To');
        const callFrom = s('From');
        if (to === undefined || callFrom === undefined)
          return telnyxError(res, 422, '10004', 'Missing required parameter', 'From and To are required.');
        if (!E164.test(to) || !E164.test(callFrom))
          return telnyxError(
            res,
            422,
            '10016',
            'Phone number must be in +E.164 format',
            'From and To must be +E.164.',
          );
        const url = s('Url');
        // Telnyx would fall back to the application's own XML URL; the fake has none.
        if (url === undefined)
          return telnyxError(res, 422, '10004', 'Missing required parameter', 'Url is required here.');
        const id = `v3:${randomBytes(30).toString('base64url')}`;
        const call: PlacedCall = {
          id,
          to,
          from: callFrom,
          answerUrl: url,
          statusUrl: s('StatusCallback'),
          request: rec,
        };
        calls.push(call);
        progress.set(id, { call, gatherAction: undefined, redirect: undefined, ended: false });
        return json(res, 200, { call_sid: id, from: callFrom, to, status: 'queued' });
      }

      if (req.method === 'POST' && path === '/v2/messages') {
        if (!isJson)
          return telnyxError(res, 415, '10014', 'Unsupported Media Type', 'Send application/json.');
        const to = s('to');
        const smsFrom = s('from');
        const text = s('text');
        if (to === undefined || !E164.test(to))
          return telnyxError(
            res,
            422,
            '10016',
            'Phone number must be in +E.164 format',
            'The to number is invalid.',
          );
        if (smsFrom === undefined)
          return telnyxError(res, 422, '10004', 'Missing required parameter', 'from is required.');
        if (text === undefined || text === '')
          return telnyxError(
            res,
            422,
            '10004',
            'Missing required parameter',
            'text or media_urls is required.',
          );
        const id = randomUUID();
        sms.push({ id, to, from: smsFrom, text, request: rec });
        return json(res, 200, {
          data: {
            record_type: 'message',
            direction: 'outbound',
            id,
            type: 'SMS',
            messaging_profile_id: s('messaging_profile_id') ?? messagingProfileId,
            from: { phone_number: smsFrom, carrier: 'Telnyx', line_type: 'VoIP' },
            to: [{ phone_number: to, status: 'queued', carrier: 'Fake Mobile', line_type: 'Wireless' }],
            text,
            media: [],
            encoding: 'GSM-7',
            parts: 1,
          },
        });
      }
      return telnyxError(
        res,
        404,
        '10005',
        'Resource not found',
        'The requested resource or URL could not be found.',
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  /**
   * Every `${timestamp}|${body}` signed so far. Ed25519 is deterministic, so the same body in the same
   * second gives the same signature, which ony rightly refuses as a replay; a person cannot press the
   * same key twice, or let a gather time out, within the second of the previous request, so the fake
   * moves such a request to the next second (or, for a deliberately old one, the one before).
   */
  const signedBefore = new Set<string>();
  async function deliver(
    publicTarget: string,
    body: string,
    contentType: string,
    signOpts: SignOptions = {},
  ) {
    let headers: Record<string, string> = { 'content-type': contentType };
    if (signOpts.replay === true && lastSigned !== undefined) {
      ({ body, headers } = lastSigned);
      publicTarget = lastSigned.url;
    } else if (signOpts.unsigned !== true) {
      const age = signOpts.ageSeconds ?? 0;
      let timestamp = Math.floor(Date.now() / 1000) - age;
      while (signedBefore.has(`${timestamp}|${body}`)) timestamp += age > 0 ? -1 : 1;
      signedBefore.add(`${timestamp}|${body}`);
      headers['telnyx-timestamp'] = String(timestamp);
      headers['telnyx-signature-ed25519'] = telnyxSignature(
        signOpts.badSignature === true ? wrongKey : privateKey,
        timestamp,
        body,
      );
      lastSigned = { url: publicTarget, body, headers };
    }
    if (!publicTarget.startsWith(opts.publicUrl))
      throw new Error(`ony gave a URL outside its public URL: ${publicTarget}`);
    if (target === '') throw new Error('setTarget was not called');
    const res = await fetch(target + publicTarget.slice(opts.publicUrl.length), {
      method: 'POST',
      headers,
      body,
    });
    return { status: res.status, body: await res.text() };
  }
  const deliverForm = (to: string, fields: Record<string, string>, signOpts?: SignOptions) =>
    deliver(to, new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded', signOpts);

  const callFields = (p: CallProgress, status = 'in-progress'): Record<string, string> => ({
    AccountSid: accountSid,
    CallSid: p.call.id,
    CallSidLegacy: p.call.id,
    ConnectionId: texmlAppId,
    From: p.call.from,
    To: p.call.to,
    CallStatus: status,
    Direction: 'outbound-api',
  });
  const progressOf = (callId: string) => {
    const p = progress.get(callId);
    if (p === undefined) throw new Error(`no such call ${callId}`);
    return p;
  };
  async function step(p: CallProgress, to: string, fields: Record<string, string>, signOpts?: SignOptions) {
    const res = await deliverForm(to, fields, signOpts);
    const heard = hearTexml(res.status, res.body);
    if (res.status === 200) {
      p.gatherAction = heard.action;
      p.redirect = heard.redirect;
      if (heard.hungUp) p.ended = true;
    }
    return heard;
  }
  const smsEvent = (eventType: string, payload: Record<string, unknown>, webhookUrl: string) =>
    JSON.stringify({
      data: {
        event_type: eventType,
        id: randomUUID(),
        occurred_at: new Date().toISOString(),
        payload,
        record_type: 'event',
      },
      meta: { attempt: 1, delivered_to: webhookUrl },
    });
  const smsUrl = () => `${opts.publicUrl}${opts.smsPath ?? '/webhooks/telephony/sms'}`;

  return {
    provider: 'telnyx',
    url,
    apiKey,
    publicKey,
    texmlAppId,
    messagingProfileId,
    env: {
      ONY_TELEPHONY_PROVIDER: 'telnyx',
      ONY_TELNYX_API_KEY: apiKey,
      ONY_TELNYX_PUBLIC_KEY: publicKey,
      ONY_TELNYX_TEXML_APP_ID: texmlAppId,
      ONY_TELNYX_MESSAGING_PROFILE_ID: messagingProfileId,
      ONY_TELNYX_API_URL: url,
      ONY_TELEPHONY_FROM: from,
    },
    requests,
    calls,
    sms,
    setTarget(base) {
      target = base.replace(/\/+$/, '');
    },
    waitForCall: (to, timeoutMs = 15_000) => waitForUnansweredCall(calls, progressOf, to, timeoutMs),
    waitForSms: (to, timeoutMs = 15_000) => waitForNextSms(sms, to, timeoutMs),
    async answer(callId, o = {}) {
      const p = progressOf(callId);
      const amd = p.call.request.params.MachineDetection;
      // Synchronous AMD: the verdict goes to the status callback before the instructions are fetched.
      if (
        o.answeredBy !== undefined &&
        o.replay !== true &&
        (amd === 'Enable' || amd === 'DetectMessageEnd')
      ) {
        if (p.call.statusUrl === undefined) throw new Error('AMD was asked for without a status callback');
        await deliverForm(p.call.statusUrl, {
          ...callFields(p),
          AnsweredBy: o.answeredBy === 'machine' ? 'machine' : 'human',
          CallbackSource: 'call-progress-events',
        });
      }
      return step(p, p.call.answerUrl, callFields(p), o);
    },
    press(callId, digits, signOpts) {
      const p = progressOf(callId);
      if (p.gatherAction === undefined) throw new Error('no gather is open');
      return step(p, p.gatherAction, { ...callFields(p), Digits: digits }, signOpts);
    },
    speak(callId, speech, signOpts) {
      const p = progressOf(callId);
      if (p.gatherAction === undefined) throw new Error('no gather is open');
      return step(
        p,
        p.gatherAction,
        { ...callFields(p), SpeechResult: speech, Confidence: '0.92' },
        signOpts,
      );
    },
    silence(callId, signOpts) {
      const p = progressOf(callId);
      if (p.redirect === undefined) throw new Error('the script has no redirect after its gather');
      return step(p, p.redirect, callFields(p), signOpts);
    },
    async end(callId, status = 'completed', durationS = 42, signOpts) {
      const p = progressOf(callId);
      p.ended = true;
      if (p.call.statusUrl === undefined) throw new Error('the call has no status callback');
      const res = await deliverForm(
        p.call.statusUrl,
        {
          ...callFields(p, status.replace('_', '-')),
          CallDuration: String(status === 'completed' ? durationS : 0),
          CallbackSource: 'call-progress-events',
          HangupCause:
            status === 'completed' ? 'normal_clearing' : status === 'busy' ? 'user_busy' : 'no_answer',
          HangupSource: 'callee',
          Timestamp: new Date().toISOString(),
        },
        signOpts,
      );
      return { status: res.status };
    },
    receiveSms(sender, text, signOpts) {
      const receivedAt = new Date().toISOString();
      const body = smsEvent(
        'message.received',
        {
          record_type: 'message',
          direction: 'inbound',
          id: randomUUID(),
          type: 'SMS',
          messaging_profile_id: messagingProfileId,
          from: { phone_number: sender, carrier: 'Fake Mobile', line_type: 'Wireless' },
          to: [{ phone_number: from, status: 'webhook_delivered', carrier: 'Telnyx', line_type: 'VoIP' }],
          cc: [],
          text,
          media: [],
          encoding: 'GSM-7',
          parts: 1,
          received_at: receivedAt,
        },
        smsUrl(),
      );
      return deliver(smsUrl(), body, 'application/json', signOpts);
    },
    deliveryReceipt(messageId, signOpts) {
      const sent = sms.find((m) => m.id === messageId);
      if (sent === undefined) throw new Error(`no such message ${messageId}`);
      const body = smsEvent(
        'message.finalized',
        {
          record_type: 'message',
          direction: 'outbound',
          id: messageId,
          type: 'SMS',
          messaging_profile_id: messagingProfileId,
          from: { phone_number: sent.from, carrier: 'Telnyx', line_type: 'VoIP' },
          to: [{ phone_number: sent.to, status: 'delivered', carrier: 'Fake Mobile', line_type: 'Wireless' }],
          text: sent.text,
          completed_at: new Date().toISOString(),
        },
        smsUrl(),
      );
      return deliver(smsUrl(), body, 'application/json', signOpts);
    },
    failNext(count, status) {
      failures = { count, status };
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
