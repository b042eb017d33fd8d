/**
 * A fake Twilio (and SignalWire LaML) REST API and phone network. REST: `POST …/Accounts/{sid}/Calls.json`
 * and `…/Messages.json` (form bodies, Basic auth sid:token, Twilio's JSON errors with `code`), `GET
 * …/Accounts/{sid}.json`. Network: it requests ony's URLs with Twilio's form fields (CallSid,
 * Digits, SpeechResult, AnsweredBy, CallStatus, CallDuration; MessageSid, From, To, Body), signed
 * like Twilio: base64 HMAC-SHA1 over the exact URL followed by each field name and value sorted by
 * name, in X-Twilio-Signature (SignalWire: X-SignalWire-Signature, keyed with the signing key). It
 * parses the TwiML ony answers with fast-xml-parser. The signature code here is written from
 * Twilio's documented algorithm, independently of the SDK's validator that ony uses.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
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

export function twilioSignature(key: string, url: string, fields: Record<string, string>): string {
  const data = Object.keys(fields)
    .sort()
    .reduce((acc, k) => acc + k + fields[k], url);
  return createHmac('sha1', key).update(data, 'utf8').digest('base64');
}

/** The TwiML ony answered, as the caller experiences it. */
export function hearTwiml(status: number, raw: string): Heard & { action?: string; redirect?: string } {
  const said: string[] = [];
  let gather: Heard['gather'];
  let action: string | undefined;
  let redirect: string | undefined;
  let hungUp = false;
  if (status !== 200) return { status, said, gather, hungUp: false, raw };
  const response = responseElements(raw, 'TwiML');
  for (const verb of response) {
    const attrs = (verb[':@'] ?? {}) as Record<string, string>;
    if ('Say' in verb) said.push(textOf(verb.Say as MarkupNode[]));
    else if ('Gather' in verb) {
      for (const inner of verb.Gather as MarkupNode[])
        if ('Say' in inner) said.push(textOf(inner.Say as MarkupNode[]));
      gather = { digits: Number(attrs.numDigits), speech: (attrs.input ?? 'dtmf').includes('speech') };
      action = attrs.action;
    } else if ('Redirect' in verb) redirect = textOf(verb.Redirect as MarkupNode[]);
    else if ('Hangup' in verb) hungUp = true;
    else if ('Record' in verb || 'Start' in verb || 'Dial' in verb)
      throw new Error(`unexpected verb in ${raw}`);
  }
  if (gather === undefined && redirect === undefined) hungUp = true;
  return { status, said, gather, hungUp, raw, ...(action && { action }), ...(redirect && { redirect }) };
}

export async function startTwilioFake(
  opts: FakeOptions & { flavour?: 'twilio' | 'signalwire' },
): Promise<TelephonyFake & { readonly accountSid: string; readonly authToken: string }> {
  const flavour = opts.flavour ?? 'twilio';
  const from = opts.from ?? '+15005550006';
  const projectId = randomUUID();
  const accountSid = flavour === 'twilio' ? `AC${randomBytes(16).toString('hex')}` : projectId;
  const authToken = randomBytes(16).toString('hex');
  const signingKey = flavour === 'twilio' ? authToken : `PSK_${randomBytes(12).toString('hex')}`;
  const header = flavour === 'twilio' ? 'X-Twilio-Signature' : 'X-SignalWire-Signature';
  const prefix = `${flavour === 'twilio' ? '' : '/api/laml'}/2010-04-01/Accounts/${accountSid}`;

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
  const twilioError = (res: ServerResponse, status: number, code: number, message: string) =>
    json(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const params = Object.fromEntries(new URLSearchParams(raw));
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
        return twilioError(res, failures.status, 20500, 'Service unavailable');
      }
      const auth = req.headers.authorization ?? '';
      if (auth !== `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`)
        return twilioError(res, 401, 20003, 'Authenticate');
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'GET' && path === `${prefix}.json`)
        return json(res, 200, { sid: accountSid, status: 'active', friendly_name: 'fake' });
      if (req.method === 'POST' && path === `${prefix}/Calls.json`) {
        if (!params.To) return twilioError(res, 400, 21201, "No 'To' number is specified");
        if (!params.From) return twilioError(res, 400, 21213, "No 'From' number is specified");
        if (!params.Url && !params.Twiml) return twilioError(res, 400, 21205, 'Url parameter is required.');
        const id = `CA${randomBytes(16).toString('hex')}`;
        const call: PlacedCall = {
          id,
          to: params.To,
          from: params.From,
          answerUrl: params.Url ?? '',
          statusUrl: params.StatusCallback,
          request: rec,
        };
        calls.push(call);
        progress.set(id, { call, gatherAction: undefined, redirect: undefined, ended: false });
        return json(res, 201, { sid: id, status: 'queued', to: call.to, from: call.from });
      }
      if (req.method === 'POST' && path === `${prefix}/Messages.json`) {
        if (!params.To) return twilioError(res, 400, 21604, "A 'To' phone number is required.");
        if (!params.Body) return twilioError(res, 400, 21602, 'Message body is required.');
        if (params.Body.length > 1600)
          return twilioError(
            res,
            400,
            21617,
            'The concatenated message body exceeds the 1600 character limit.',
          );
        const id = `SM${randomBytes(16).toString('hex')}`;
        sms.push({ id, to: params.To, from: params.From ?? '', text: params.Body, request: rec });
        return json(res, 201, { sid: id, status: 'queued', to: params.To, body: params.Body });
      }
      return twilioError(res, 404, 20404, 'The requested resource was not found');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function deliver(publicTarget: string, fields: Record<string, string>, sign: SignOptions = {}) {
    let body = new URLSearchParams(fields).toString();
    let headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (sign.replay === true && lastSigned !== undefined) {
      ({ body, headers } = lastSigned);
      publicTarget = lastSigned.url;
    } else if (sign.unsigned !== true) {
      headers[header] = twilioSignature(
        sign.badSignature === true ? `${signingKey}x` : signingKey,
        publicTarget,
        fields,
      );
      lastSigned = { url: publicTarget, body, headers };
    }
    if (!publicTarget.startsWith(opts.publicUrl))
      throw new Error(`ony gave a URL outside its public URL: ${publicTarget}`);
    const res = await fetch(target + publicTarget.slice(opts.publicUrl.length), {
      method: 'POST',
      headers,
      body,
    });
    return { status: res.status, body: await res.text() };
  }

  const callFields = (p: CallProgress, status = 'in-progress') => ({
    CallSid: p.call.id,
    AccountSid: accountSid,
    From: p.call.from,
    To: p.call.to,
    CallStatus: status,
    Direction: 'outbound-api',
    ApiVersion: '2010-04-01',
  });
  const progressOf = (callId: string) => {
    const p = progress.get(callId);
    if (p === undefined) throw new Error(`no such call ${callId}`);
    return p;
  };
  async function step(p: CallProgress, to: string, fields: Record<string, string>, sign?: SignOptions) {
    const res = await deliver(to, fields, sign);
    const heard = hearTwiml(res.status, res.body);
    if (res.status === 200) {
      p.gatherAction = heard.action;
      p.redirect = heard.redirect;
      if (heard.hungUp) p.ended = true;
    }
    return heard;
  }

  return {
    provider: flavour,
    url,
    accountSid,
    authToken,
    env:
      flavour === 'twilio'
        ? {
            ONY_TELEPHONY_PROVIDER: 'twilio',
            ONY_TWILIO_ACCOUNT_SID: accountSid,
            ONY_TWILIO_AUTH_TOKEN: authToken,
            ONY_TWILIO_API_URL: url,
            ONY_TELEPHONY_FROM: from,
          }
        : {
            ONY_TELEPHONY_PROVIDER: 'signalwire',
            ONY_SIGNALWIRE_PROJECT_ID: projectId,
            ONY_SIGNALWIRE_API_TOKEN: authToken,
            ONY_SIGNALWIRE_SPACE_URL: url,
            ONY_SIGNALWIRE_SIGNING_KEY: signingKey,
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
    answer(callId, o = {}) {
      const p = progressOf(callId);
      const fields: Record<string, string> = callFields(p);
      if (o.answeredBy !== undefined)
        fields.AnsweredBy = o.answeredBy === 'machine' ? 'machine_start' : 'human';
      return step(p, p.call.answerUrl, fields, o);
    },
    press(callId, digits, sign) {
      const p = progressOf(callId);
      if (p.gatherAction === undefined) throw new Error('no gather is open');
      return step(p, p.gatherAction, { ...callFields(p), Digits: digits, FinishedOnKey: '' }, sign);
    },
    speak(callId, speech, sign) {
      const p = progressOf(callId);
      if (p.gatherAction === undefined) throw new Error('no gather is open');
      return step(p, p.gatherAction, { ...callFields(p), SpeechResult: speech, Confidence: '0.92' }, sign);
    },
    silence(callId, sign) {
      const p = progressOf(callId);
      if (p.redirect === undefined) throw new Error('the script has no redirect after its gather');
      return step(p, p.redirect, callFields(p), sign);
    },
    async end(callId, status = 'completed', durationS = 42, sign) {
      const p = progressOf(callId);
      p.ended = true;
      if (p.call.statusUrl === undefined) throw new Error('the call has no status callback');
      const res = await deliver(
        p.call.statusUrl,
        {
          ...callFields(p, status.replace('_', '-')),
          CallDuration: String(status === 'completed' ? durationS : 0),
          Duration: String(Math.ceil(durationS / 60)),
        },
        sign,
      );
      return { status: res.status };
    },
    receiveSms(sender, text, sign) {
      return deliver(
        `${opts.publicUrl}${opts.smsPath ?? '/webhooks/telephony/sms'}`,
        {
          MessageSid: `SM${randomBytes(16).toString('hex')}`,
          AccountSid: accountSid,
          From: sender,
          To: from,
          Body: text,
          NumMedia: '0',
          NumSegments: '1',
          ApiVersion: '2010-04-01',
        },
        sign,
      );
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
