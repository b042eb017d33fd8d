/**
 * A fake Plivo REST API (v1) and phone network.
 *
 * REST, as ony's client calls it: `POST /v1/Account/{auth_id}/Call/` and `…/Message/` (JSON or form
 * bodies, HTTP Basic auth auth_id:auth_token; 401 `{error}` on wrong credentials, Plivo's
 * `{api_id, error}` otherwise), `GET /v1/Account/{auth_id}/` (the account).
 *
 * Network, as Plivo plays it: form posts with Plivo's field names (CallUUID, From and To without `+`,
 * CallStatus, Direction, ALegUUID, ALegRequestUUID; InputType, Digits, Speech on a GetInput action;
 * Duration, BillDuration, HangupCause on hangup; From, To, Text, Type, MessageUUID for an inbound SMS),
 * signed with signature V3: X-Plivo-Signature-V3 and X-Plivo-Signature-Ma-V3 (the fake is a main
 * account: both keyed with its auth token) and X-Plivo-Signature-V3-Nonce. The signing code here is
 * written from Plivo's SDK algorithm (construct_post_url in plivo-python), independently of ony's
 * verifier. With `machine_detection=hangup` a machine is hung up on before the answer URL is ever
 * requested, and the verdict (`Machine=true`) goes to the hangup URL; with `machine_detection=true`
 * the answer request carries it. The fake does not post ring_url (ony's status URL) on its own.
 *
 * `SignOptions.ageSeconds` has no meaning here: Plivo's scheme signs no time (a "stale" Plivo request
 * is a replayed one: use `replay`).
 */
import { createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto';
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
  /** Plivo's CallUUID, assigned when the call starts. */
  readonly callUuid: string;
  readonly machineDetection: string | undefined;
  gatherAction: string | undefined;
  gatherFinishOnKey: string | undefined;
  gatherSpeech: boolean;
  redirect: string | undefined;
  ended: boolean;
}

/** Plivo's V3 signature: base64 HMAC-SHA256(token, URL + sorted query + sorted POST fields + "." + nonce). */
export function plivoSignatureV3(
  authToken: string,
  url: string,
  postFields: Readonly<Record<string, string>>,
  nonce: string,
): string {
  const noFragment = url.split('#')[0] ?? '';
  const q = noFragment.indexOf('?');
  const withoutQuery = q < 0 ? noFragment : noFragment.slice(0, q);
  const query = q < 0 ? '' : noFragment.slice(q + 1);
  const queryPairs = [...new URLSearchParams(query)].sort(([a, av], [b, bv]) =>
    a === b ? (av < bv ? -1 : av > bv ? 1 : 0) : a < b ? -1 : 1,
  );
  const sortedQuery = queryPairs.map(([k, v]) => `${k}=${v}`).join('&');
  const keys = Object.keys(postFields).sort();
  let data = withoutQuery;
  if (sortedQuery.length > 0 || keys.length > 0) data += `?${sortedQuery}`;
  if (sortedQuery.length > 0 && keys.length > 0) data += '.';
  for (const k of keys) data += k + postFields[k];
  data += `.${nonce}`;
  return createHmac('sha256', authToken).update(data, 'utf8').digest('base64');
}

const FORBIDDEN = ['Record', 'Dial', 'Stream', 'Conference', 'MultiPartyCall', 'Play', 'Message', 'DTMF'];

/** The Plivo XML ony answered, as the caller experiences it. */
export function hearPlivoXml(
  status: number,
  raw: string,
): Heard & { action?: string; redirect?: string; finishOnKey?: string } {
  const said: string[] = [];
  let gather: Heard['gather'];
  let action: string | undefined;
  let finishOnKey: string | undefined;
  let redirect: string | undefined;
  let hungUp = false;
  if (status !== 200) return { status, said, gather, hungUp: false, raw };
  const response = responseElements(raw, 'Plivo XML');
  for (const element of response) {
    const attrs = (element[':@'] ?? {}) as Record<string, string>;
    if ('Speak' in element) said.push(textOf(element.Speak as MarkupNode[]));
    else if ('GetInput' in element || 'GetDigits' in element) {
      const inner = (element.GetInput ?? element.GetDigits) as MarkupNode[];
      for (const n of inner) if ('Speak' in n) said.push(textOf(n.Speak as MarkupNode[]));
      gather = {
        digits: Number(attrs.numDigits ?? 99),
        speech: (attrs.inputType ?? 'dtmf').includes('speech'),
      };
      action = attrs.action;
      finishOnKey = attrs.finishOnKey ?? '#';
    } else if ('Redirect' in element) redirect = textOf(element.Redirect as MarkupNode[]);
    else if ('Hangup' in element) hungUp = true;
    else if (FORBIDDEN.some((verb) => verb in element)) throw new Error(`unexpected element in ${raw}`);
  }
  if (gather === undefined && redirect === undefined) hungUp = true;
  return {
    status,
    said,
    gather,
    hungUp,
    raw,
    ...(action && { action }),
    ...(redirect && { redirect }),
    ...(finishOnKey !== undefined && { finishOnKey }),
  };
}

const digitsOnly = (n: string) => n.replace(/^\+/, '');
const e164 = (n: string) => (n.startsWith('+') ? n : `+${n}`);
const apiId = () => randomUUID();

export async function startPlivoFake(
  opts: FakeOptions,
): Promise<TelephonyFake & { readonly authId: string; readonly authToken: string }> {
  const from = opts.from ?? '+15005550006';
  const authId = `MA${randomBytes(9).toString('hex').toUpperCase()}`;
  const authToken = randomBytes(20).toString('hex');
  const prefix = `/v1/Account/${authId}`;

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
  const plivoError = (res: ServerResponse, status: number, error: string) =>
    json(res, status, { api_id: apiId(), error });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let params: Record<string, unknown> = {};
      if ((req.headers['content-type'] ?? '').startsWith('application/json')) {
        try {
          params = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
        } catch {
          const rec = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, params };
          requests.push(rec);
          return plivoError(res, 400, 'invalid JSON body');
        }
      } else params = Object.fromEntries(new URLSearchParams(raw));
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
        return plivoError(res, failures.status, 'service temporarily unavailable');
      }
      const auth = req.headers.authorization ?? '';
      if (auth !== `Basic ${Buffer.from(`${authId}:${authToken}`).toString('base64')}`)
        return json(res, 401, { error: 'Authentication failed: invalid auth_id or auth_token' });
      const path = (req.url ?? '').split('?')[0];
      const s = (k: string) => (typeof params[k] === 'string' ? (params[k] as string) : undefined);
      if (req.method === 'GET' && path === `${prefix}/`)
        return json(res, 200, {
          api_id: apiId(),
          account_type: 'standard',
          auth_id: authId,
          billing_mode: 'prepaid',
          cash_credits: '10.00000',
          name: 'fake',
          resource_uri: `${prefix}/`,
        });
      if (req.method === 'POST' && path === `${prefix}/Call/`) {
        const to = s('to');
        const callFrom = s('from');
        const answerUrl = s('answer_url');
        if (to === undefined || !/^\+?\d{7,15}$/.test(to))
          return plivoError(res, 400, "invalid 'to' parameter");
        if (callFrom === undefined || !/^\+?\d{7,15}$/.test(callFrom))
          return plivoError(res, 400, "invalid 'from' parameter");
        if (answerUrl === undefined || !/^https?:\/\//.test(answerUrl))
          return plivoError(res, 400, "invalid 'answer_url' parameter");
        const md = params.machine_detection;
        if (md !== undefined && md !== 'true' && md !== 'hangup' && md !== true)
          return plivoError(res, 400, "machine_detection must be 'true' or 'hangup'");
        const id = randomUUID();
        const call: PlacedCall = {
          id,
          to: e164(to),
          from: e164(callFrom),
          answerUrl,
          statusUrl: s('hangup_url'),
          request: rec,
        };
        calls.push(call);
        progress.set(id, {
          call,
          callUuid: randomUUID(),
          machineDetection: md === undefined ? undefined : String(md),
          gatherAction: undefined,
          gatherFinishOnKey: undefined,
          gatherSpeech: false,
          redirect: undefined,
          ended: false,
        });
        return json(res, 201, { api_id: apiId(), message: 'call fired', request_uuid: id });
      }
      if (req.method === 'POST' && path === `${prefix}/Message/`) {
        const dst = s('dst');
        const text = s('text');
        if (dst === undefined || !/^\+?\d{7,15}$/.test(dst))
          return plivoError(res, 400, `invalid 'dst' parameter: ${dst ?? ''}`);
        if (text === undefined || text === '') return plivoError(res, 400, "'text' is required");
        if (text.length > 1600) return plivoError(res, 400, 'text exceeds 1600 characters');
        const id = randomUUID();
        sms.push({ id, to: e164(dst), from: e164(s('src') ?? ''), text, request: rec });
        return json(res, 202, { api_id: apiId(), message: 'message(s) queued', message_uuid: [id] });
      }
      return plivoError(res, 404, 'not found');
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
      const nonce = String(randomInt(1e9, 1e10)) + String(randomInt(1e9, 1e10));
      const signature = plivoSignatureV3(
        sign.badSignature === true ? `${authToken}x` : authToken,
        publicTarget,
        fields,
        nonce,
      );
      headers = {
        ...headers,
        'X-Plivo-Signature-V3': signature,
        'X-Plivo-Signature-Ma-V3': signature,
        'X-Plivo-Signature-V3-Nonce': nonce,
      };
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

  const callFields = (p: CallProgress, status = 'in-progress'): Record<string, string> => ({
    CallUUID: p.callUuid,
    From: digitsOnly(p.call.from),
    To: digitsOnly(p.call.to),
    CallStatus: status,
    Direction: 'outbound',
    ALegUUID: p.callUuid,
    ALegRequestUUID: p.call.id,
  });
  const progressOf = (callId: string) => {
    const p = progress.get(callId);
    if (p === undefined) throw new Error(`no such call ${callId}`);
    return p;
  };
  async function step(p: CallProgress, to: string, fields: Record<string, string>, sign?: SignOptions) {
    const res = await deliver(to, fields, sign);
    const heard = hearPlivoXml(res.status, res.body);
    if (res.status === 200) {
      p.gatherAction = heard.action;
      p.gatherFinishOnKey = heard.finishOnKey;
      p.gatherSpeech = heard.gather?.speech ?? false;
      p.redirect = heard.redirect;
      if (heard.hungUp) p.ended = true;
    }
    const { status, said, gather, hungUp, raw } = heard;
    return { status, said, gather, hungUp, raw };
  }
  async function hangup(p: CallProgress, fields: Record<string, string>, sign?: SignOptions) {
    p.ended = true;
    if (p.call.statusUrl === undefined) return { status: 0 };
    return deliver(p.call.statusUrl, fields, sign);
  }

  const HANGUP_CAUSES = {
    completed: 'NORMAL_CLEARING',
    busy: 'USER_BUSY',
    'no-answer': 'NO_ANSWER',
    failed: 'CALL_REJECTED',
    cancel: 'ORIGINATOR_CANCEL',
  } as const;

  return {
    provider: 'plivo',
    url,
    authId,
    authToken,
    env: {
      ONY_TELEPHONY_PROVIDER: 'plivo',
      ONY_PLIVO_AUTH_ID: authId,
      ONY_PLIVO_AUTH_TOKEN: authToken,
      ONY_PLIVO_API_URL: url,
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
      if (p.ended) throw new Error('the call is over');
      if (o.answeredBy === 'machine' && p.machineDetection === 'hangup') {
        // Plivo hangs up on the machine: the answer URL is never requested.
        const res = await hangup(
          p,
          {
            ...callFields(p, 'completed'),
            Machine: 'true',
            Duration: '5',
            BillDuration: '60',
            HangupCause: 'NORMAL_CLEARING',
            HangupSource: 'Plivo',
          },
          o,
        );
        return { status: res.status, said: [], gather: undefined, hungUp: true, raw: '' };
      }
      const fields = callFields(p);
      if (o.answeredBy === 'machine' && p.machineDetection === 'true') fields.Machine = 'true';
      return step(p, p.call.answerUrl, fields, o);
    },
    press(callId, digits, sign) {
      const p = progressOf(callId);
      if (p.gatherAction === undefined) throw new Error('no input is open');
      // The finishing key ends the input; it is not part of Digits.
      const key = p.gatherFinishOnKey;
      const sent =
        key !== undefined && key !== 'none' && key !== '' && digits.endsWith(key)
          ? digits.slice(0, -1)
          : digits;
      return step(p, p.gatherAction, { ...callFields(p), InputType: 'dtmf', Digits: sent }, sign);
    },
    speak(callId, speech, sign) {
      const p = progressOf(callId);
      if (p.gatherAction === undefined) throw new Error('no input is open');
      if (!p.gatherSpeech) throw new Error('the open input does not listen for speech');
      return step(
        p,
        p.gatherAction,
        { ...callFields(p), InputType: 'speech', Speech: speech, SpeechConfidenceScore: '0.92' },
        sign,
      );
    },
    silence(callId, sign) {
      const p = progressOf(callId);
      if (p.redirect === undefined) throw new Error('the script has no redirect after its input');
      return step(p, p.redirect, callFields(p), sign);
    },
    async end(callId, status = 'completed', durationS = 42, sign) {
      const p = progressOf(callId);
      if (p.call.statusUrl === undefined) throw new Error('the call has no hangup_url');
      const plivoStatus = status === 'no_answer' ? 'no-answer' : status === 'canceled' ? 'cancel' : status;
      const seconds = String(status === 'completed' ? durationS : 0);
      const res = await hangup(
        p,
        {
          ...callFields(p, plivoStatus),
          Duration: seconds,
          BillDuration: String(status === 'completed' ? Math.ceil(durationS / 60) * 60 : 0),
          HangupCause: HANGUP_CAUSES[plivoStatus],
          HangupSource: 'Callee',
        },
        sign,
      );
      return { status: res.status };
    },
    receiveSms(sender, text, sign) {
      return deliver(
        `${opts.publicUrl}${opts.smsPath ?? '/webhooks/telephony/sms'}`,
        {
          From: digitsOnly(sender),
          To: digitsOnly(from),
          Text: text,
          Type: 'sms',
          MessageUUID: randomUUID(),
          Units: '1',
          TotalRate: '0.00000',
          TotalAmount: '0.00000',
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
