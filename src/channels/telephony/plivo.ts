/**
 * Plivo: calls and SMS over Plivo's REST API v1, scripts as Plivo XML, webhooks verified with
 * signature V3, through a small typed fetch client.
 *
 * Why not the official `plivo` npm package: it pulls in the deprecated `request` and a dozen other
 * dependencies (axios, lodash, xmlbuilder, xml2js, uri-parser, build-url, utf8, base-64, …) for the
 * three endpoints ony calls; a 150-line client is easier to audit and keeps them out of the image.
 *
 * Protocol facts this file relies on (plivo.com/docs and the plivo-node / plivo-python SDK sources,
 * read 2026-11):
 * - REST: base https://api.plivo.com/v1/Account/{auth_id}/, HTTP Basic auth (auth id : auth token),
 *   JSON bodies. Errors are JSON `{api_id?, error}`; a 401 may come without `api_id`.
 * - Outbound call: `POST /Call/` with `from`, `to` (country code and number, no `+`), `answer_url`,
 *   `answer_method`, `ring_url`/`hangup_url` (+ `_method`), `ring_timeout` (seconds, default 120),
 *   `machine_detection` (`true` | `hangup`). It answers 201 `{message: "call fired", request_uuid,
 *   api_id}`: the request uuid, not the call uuid, which Plivo only assigns once the call starts.
 *   Every voice callback of an API call carries it back as `ALegRequestUUID`, so that is the `callId`
 *   ony binds to the call's URL token (the call's own `CallUUID` is only a fallback).
 * - The Call API has no recording parameter: a call is recorded only by a `<Record>` element or the
 *   Record-call API, and ony uses neither (no record or transcription field is ever sent, and the
 *   rendered XML never contains `<Record>`).
 * - Answering-machine detection: without `machine_detection_url` it is synchronous (the call waits
 *   for the verdict before Plivo requests the answer URL); with `machine_detection_url` it runs in the
 *   background and posts `Machine=true|false`, `Event=MachineDetection` there while the answer URL
 *   already plays. ony asks for `machine_detection=hangup` without a detection URL: a voicemail is
 *   hung up before it hears anything (not even that an approval waits), and the verdict arrives on the
 *   hangup URL, parsed into `CallStatusEvent.answeredBy`. A `Machine` field on any voice request
 *   is mapped to `answeredBy` too (the asynchronous form, or a synchronous verdict with the answer).
 * - Voice callbacks (answer, GetInput action, Redirect, ring, hangup) are form posts with `CallUUID`,
 *   `From`, `To` (no `+`), `CallStatus` (`ringing`, `in-progress`, `completed`, `busy`, `failed`,
 *   `timeout`, `no-answer`, `cancel`), `Direction`, `ALegUUID`, `ALegRequestUUID`, and on hangup
 *   `Duration`, `BillDuration`, `HangupCause`. A GetInput action adds `InputType` (`dtmf` | `speech`),
 *   `Digits`, `Speech`.
 * - SMS: `POST /Message/` with `src`, `dst`, `text`, `type: sms`; `log: false` redacts the text and the
 *   last digits of `dst` from Plivo's logs and debug UI. It answers 202 `{message_uuid: [id], …}`.
 *   Inbound messages are form posts to the application's message URL with `From`, `To`, `Text`,
 *   `Type`, `MessageUUID`; delivery reports (`Status`, no `Text`) are ignored.
 * - Plivo XML: `<Speak voice="Polly.…">` accepts SSML (`<prosody rate="slow">`) with Amazon Polly
 *   voices (at most 3000 characters); `<GetInput>` (the successor of `<GetDigits>`) takes `action`,
 *   `method`, `inputType` (`dtmf` | `dtmf speech`), `numDigits`, `executionTimeout` (5–60 s, counted
 *   after the nested prompt), `digitEndTimeout` (2–10 s), `finishOnKey` (`none` disables it),
 *   `language`, `redirect`, `log` (false: the digits are not logged); a key press interrupts the nested
 *   `<Speak>`, and without input the next element runs. `<Redirect method="POST">`, `<Hangup/>`.
 * - Signature V3: `X-Plivo-Signature-V3` (and `X-Plivo-Signature-Ma-V3`, keyed with the main account's
 *   token; either may hold several comma-separated signatures) is base64 HMAC-SHA256, keyed with the
 *   auth token, of: the URL without its query; then for a POST with fields `?` + the query's fields
 *   sorted by name as `name=value` joined by `&` (+ `.` when both exist) + every POST field sorted by
 *   name as `namevalue`; then `.` + `X-Plivo-Signature-V3-Nonce`. (GET: `?` + sorted query, if any.)
 *   Checked against plivo@4.79.0's `validateV3Signature` (the vectors in plivo.test.ts).
 *
 * The scheme signs no time: a captured request stays valid for ever. The nonce is therefore given as
 * `replayKey`, kept longer than anything a replay could still act on (a call's state lives an hour, an
 * SMS reply code 25 hours); there is no 'stale' verdict for Plivo.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TelephonyProviderConfig } from '../../config/telephony.js';
import type { CallScript } from '../../core/telephony/script.js';
import { xmlEscape } from '../../core/telephony/script.js';
import { formFields } from './twiml.js';
import type {
  AnsweredBy,
  CallStatus,
  InboundRequest,
  TelephonyProvider,
  Verification,
  WebhookReply,
} from './provider.js';

type PlivoConfig = Extract<TelephonyProviderConfig, { name: 'plivo' }>;

const XML = 'text/xml; charset=utf-8';
/** A clear Polly voice; `<prosody rate="slow">` slows it further (GoAlert: speak the gist slowly). */
const VOICE = 'Polly.Joanna';
const LANGUAGE = 'en-US';
const REQUEST_TIMEOUT_MS = 10_000;
/** Longer than a reply code lives (25 h): a replayed nonce is refused as long as it could matter. */
export const PLIVO_REPLAY_TTL_MS = 48 * 60 * 60_000;
const CALL_ID = /^[A-Za-z0-9-]{8,64}$/;

/** A Plivo REST answer other than 2xx, or no answer at all (`status` 0, `code` the socket error). */
export class PlivoApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'PlivoApiError';
  }
}

function speak(text: string): string {
  return `<Speak voice="${VOICE}" language="${LANGUAGE}"><prosody rate="slow">${xmlEscape(text)}</prosody></Speak>`;
}

const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, Math.round(n)));

/** Pure: a neutral script as Plivo XML. */
export function renderPlivoXml(script: CallScript): string {
  const parts = script.say.map(speak);
  const g = script.gather;
  if (g !== undefined) {
    const attrs = [
      `action="${xmlEscape(g.action)}"`,
      'method="POST"',
      `inputType="${g.speech ? 'dtmf speech' : 'dtmf'}"`,
      `numDigits="${g.digits}"`,
      `executionTimeout="${clamp(g.timeoutS, 5, 60)}"`,
      `digitEndTimeout="${clamp(g.timeoutS, 2, 10)}"`,
      `finishOnKey="${g.finishOnKey === '' ? 'none' : xmlEscape(g.finishOnKey)}"`,
      ...(g.speech ? [`language="${LANGUAGE}"`] : []),
      'redirect="true"',
      // Keys (a TOTP code among them) stay out of Plivo's logs.
      'log="false"',
    ];
    parts.push(`<GetInput ${attrs.join(' ')}>${g.prompt.map(speak).join('')}</GetInput>`);
  }
  parts.push(
    script.then.kind === 'hangup'
      ? '<Hangup/>'
      : `<Redirect method="POST">${xmlEscape(script.then.url)}</Redirect>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${parts.join('')}</Response>`;
}

/** Fields by name, each with its values in arrival order. */
export type PlivoFields = ReadonlyMap<string, readonly string[]>;

export function plivoFieldsOf(params: URLSearchParams): PlivoFields {
  const out = new Map<string, string[]>();
  for (const [k, v] of params) out.set(k, [...(out.get(k) ?? []), v]);
  return out;
}

const sortedKeys = (f: PlivoFields) => [...f.keys()].sort();
const sortedValues = (f: PlivoFields, k: string) => [...(f.get(k) ?? [])].sort();

/** Pure: the exact string Plivo signs (V3) for a request to `url` with these POST fields. */
export function plivoV3Payload(
  method: 'GET' | 'POST',
  url: string,
  post: PlivoFields,
  nonce: string,
): string {
  const noFragment = url.split('#')[0] ?? '';
  const q = noFragment.indexOf('?');
  const base = q < 0 ? noFragment : noFragment.slice(0, q);
  const query = plivoFieldsOf(new URLSearchParams(q < 0 ? '' : noFragment.slice(q + 1)));
  const sortedQuery = sortedKeys(query)
    .flatMap((k) => sortedValues(query, k).map((v) => `${k}=${v}`))
    .join('&');
  let signed = base;
  if (method === 'GET' || post.size === 0) {
    if (sortedQuery !== '') signed += `?${sortedQuery}`;
  } else {
    signed += `?${sortedQuery}${sortedQuery !== '' ? '.' : ''}`;
    signed += sortedKeys(post)
      .flatMap((k) => sortedValues(post, k).map((v) => `${k}${v}`))
      .join('');
  }
  return `${signed}.${nonce}`;
}

/** Pure: base64 HMAC-SHA256 of the V3 payload, keyed with the auth token. */
export function plivoV3Signature(
  authToken: string,
  method: 'GET' | 'POST',
  url: string,
  post: PlivoFields,
  nonce: string,
): string {
  return createHmac('sha256', authToken)
    .update(plivoV3Payload(method, url, post, nonce), 'utf8')
    .digest('base64');
}

const header = (req: InboundRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return v === undefined || v === '' ? undefined : v;
};

const isForm = (req: InboundRequest) =>
  (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');

/** Pure: checks X-Plivo-Signature-V3 (or -Ma-V3) over the exact public URL and the raw form body. */
export function verifyPlivoSignature(authToken: string, req: InboundRequest): Verification {
  const nonce = header(req, 'x-plivo-signature-v3-nonce');
  const candidates = [header(req, 'x-plivo-signature-v3'), header(req, 'x-plivo-signature-ma-v3')]
    .filter((h): h is string => h !== undefined)
    .flatMap((h) => h.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (nonce === undefined || candidates.length === 0) return { ok: false, reason: 'missing' };
  if (req.method === 'POST' && !isForm(req)) return { ok: false, reason: 'invalid' };
  const post: PlivoFields =
    req.method === 'POST' ? plivoFieldsOf(new URLSearchParams(req.rawBody)) : new Map();
  const expected = Buffer.from(plivoV3Signature(authToken, req.method, req.url, post, nonce), 'utf8');
  // Constant-time comparison of the MACs; a candidate of another length cannot match.
  const match = candidates.some((c) => {
    const got = Buffer.from(c, 'utf8');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
  if (!match) return { ok: false, reason: 'invalid' };
  return { ok: true, replayKey: `plivo:${nonce}`, replayTtlMs: PLIVO_REPLAY_TTL_MS };
}

const STATUSES: Readonly<Record<string, CallStatus>> = {
  queued: 'queued',
  ringing: 'ringing',
  'early media': 'ringing',
  'in-progress': 'in_progress',
  completed: 'completed',
  busy: 'busy',
  failed: 'failed',
  timeout: 'no_answer',
  'no-answer': 'no_answer',
  cancel: 'canceled',
  canceled: 'canceled',
  cancelled: 'canceled',
};

function machineVerdict(value: string | undefined): AnsweredBy | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.toLowerCase();
  if (v === 'true') return 'machine';
  if (v === 'false') return 'human';
  return 'unknown';
}

/** Plivo writes numbers as country code and number; ony speaks E.164. */
const e164 = (n: string | undefined) => (n === undefined || n === '' || n.startsWith('+') ? n : `+${n}`);
const plivoNumber = (n: string) => n.replace(/^\+/, '');

const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
/** Plivo error texts may quote a number: never let one reach a log unmasked. */
const maskNumbers = (s: string) => s.replace(/\+?\d[\d\s-]{5,}\d/g, '•••').slice(0, 200);

function describeError(method: string, path: string, status: number, body: unknown): PlivoApiError {
  const error = isObject(body) ? str(body.error) : undefined;
  const hint = status === 401 ? ' (check ONY_PLIVO_AUTH_ID and ONY_PLIVO_AUTH_TOKEN)' : '';
  return new PlivoApiError(
    status,
    undefined,
    `Plivo ${method} ${path} answered HTTP ${status}${error !== undefined ? `: ${maskNumbers(error)}` : ''}${hint}`,
  );
}

export function createPlivoProvider(
  cfg: PlivoConfig,
  deps: { fetch?: typeof fetch } = {},
): TelephonyProvider {
  const doFetch = deps.fetch ?? globalThis.fetch;
  const base = `${cfg.apiUrl.replace(/\/+$/, '')}/v1/Account/${encodeURIComponent(cfg.authId)}`;
  const authorization = `Basic ${Buffer.from(`${cfg.authId}:${cfg.authToken}`).toString('base64')}`;

  async function call(
    method: 'GET' | 'POST',
    path: string,
    body?: Record<string, unknown>,
  ): Promise<unknown> {
    let res: Response;
    try {
      res = await doFetch(base + path, {
        method,
        headers: {
          authorization,
          accept: 'application/json',
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: unknown } }).cause;
      const code = typeof cause?.code === 'string' ? cause.code : undefined;
      throw new PlivoApiError(
        0,
        code,
        `Plivo ${method} ${path} unreachable: ${code ?? (err as Error).message}`,
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) throw describeError(method, path, res.status, parsed);
    return parsed;
  }

  const reply = (body: string): WebhookReply => ({ contentType: XML, body });

  return {
    name: 'plivo',

    async placeCall(c) {
      const created = await call('POST', '/Call/', {
        from: plivoNumber(c.from),
        to: plivoNumber(c.to),
        answer_url: c.answerUrl,
        answer_method: 'POST',
        ring_url: c.statusUrl,
        ring_method: 'POST',
        hangup_url: c.statusUrl,
        hangup_method: 'POST',
        ring_timeout: Math.max(1, Math.round(c.ringTimeoutS)),
        // Synchronous detection that hangs up on a machine: a voicemail hears nothing at all.
        // (Plivo's Call API has no recording field: recording is off unless XML asks for it.)
        ...(c.machineDetection && { machine_detection: 'hangup' }),
      });
      const uuid = isObject(created) ? created.request_uuid : undefined;
      const callId = Array.isArray(uuid) ? str(uuid[0]) : str(uuid);
      if (callId === undefined)
        throw new PlivoApiError(201, undefined, 'Plivo POST /Call/ returned no request_uuid');
      return { callId };
    },

    async sendSms(sms) {
      const sent = await call('POST', '/Message/', {
        src: plivoNumber(sms.from),
        dst: plivoNumber(sms.to),
        text: sms.text,
        type: 'sms',
        // Redacts the text and the number from Plivo's logs, debug UI and callbacks.
        log: false,
      });
      const uuids = isObject(sent) ? sent.message_uuid : undefined;
      const messageId = Array.isArray(uuids) ? str(uuids[0]) : str(uuids);
      if (messageId === undefined)
        throw new PlivoApiError(202, undefined, 'Plivo POST /Message/ returned no message_uuid');
      return { messageId };
    },

    render: (script) => reply(renderPlivoXml(script)),
    acknowledge: () => reply('<?xml version="1.0" encoding="UTF-8"?><Response></Response>'),

    verify: (req) => verifyPlivoSignature(cfg.authToken, req),

    parse(kind, req) {
      const f = formFields(req);
      if (f === undefined) return undefined;
      if (kind === 'sms') {
        const messageId = nonEmpty(f.MessageUUID);
        const from = e164(nonEmpty(f.From));
        if (messageId === undefined || from === undefined) return undefined;
        // Delivery reports carry a Status and no Text.
        if (f.Text === undefined) return { kind: 'ignored' };
        return { kind: 'sms', messageId, from, to: e164(f.To) ?? '', text: f.Text };
      }
      const callId = nonEmpty(f.ALegRequestUUID) ?? nonEmpty(f.RequestUUID) ?? nonEmpty(f.CallUUID);
      if (callId === undefined || !CALL_ID.test(callId)) return undefined;
      if (kind === 'voice') {
        const speech = f.InputType === 'dtmf' ? undefined : nonEmpty(f.Speech);
        return {
          kind: 'voice',
          callId,
          digits: f.Digits ?? '',
          speech,
          answeredBy: machineVerdict(f.Machine),
        };
      }
      // The asynchronous detection callback has CallStatus in-progress; tolerate it missing.
      const status =
        f.Event === 'MachineDetection' && f.CallStatus === undefined
          ? 'in_progress'
          : STATUSES[(f.CallStatus ?? '').toLowerCase()];
      if (status === undefined) return undefined;
      const duration = Number(f.Duration);
      return {
        kind: 'status',
        callId,
        status,
        durationS: nonEmpty(f.Duration) !== undefined && Number.isFinite(duration) ? duration : undefined,
        answeredBy: machineVerdict(f.Machine),
      };
    },

    async health() {
      try {
        const account = await call('GET', '/');
        const type = isObject(account) ? str(account.account_type) : undefined;
        return { ok: true, detail: `plivo account reachable${type !== undefined ? ` (${type})` : ''}` };
      } catch (err) {
        const status = err instanceof PlivoApiError ? err.status : 0;
        return { ok: false, detail: `plivo API: ${status !== 0 ? `HTTP ${status}` : 'unreachable'}` };
      }
    },
  };
}
