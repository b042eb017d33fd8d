/**
 * Telnyx: calls through TeXML, SMS through the Messaging API v2, over a small typed fetch client.
 *
 * Why not the `telnyx` npm SDK (7.x, Stainless-generated, maintained, no dependencies, runs on Node
 * 20, takes a `baseURL`): ony uses three endpoints of its several hundred; the generated types of the
 * TeXML call endpoint ony needs keep changing between releases (the newest ones for
 * `/texml/calls/{id}` list only From/To/Url/Method/Texml, so StatusCallback, MachineDetection and
 * Record would be sent around the types anyway); and webhook checking must run on the raw bytes
 * (Telnyx's own migration guide shows the SDK helper fed `JSON.stringify(req.body)`, which breaks on
 * any re-serialisation). node:crypto verifies Ed25519 directly; a short client is easier to audit.
 *
 * Protocol facts this file relies on (developers.telnyx.com and the official SDKs' OpenAPI types,
 * read 2026-11):
 * - REST: base https://api.telnyx.com/v2, `Authorization: Bearer <API key>`, JSON bodies; errors are
 *   `{"errors":[{"code","title","detail"}]}` (401 = code 10009 "Authentication failed").
 * - Outbound TeXML call: `POST /v2/texml/calls/{connection_id}`, the connection being the TeXML
 *   application (the TeXML answering-machine guide posts exactly there, JSON, with `From`, `To`, `Url`,
 *   `Method`, `StatusCallback`, `StatusCallbackMethod`, `MachineDetection`); `StatusCallbackEvent` and
 *   `Record` (default false; ony sends false explicitly) are in this path's parameter list in the
 *   SDKs, `Timeout` (5–120 s of ringing) in the account-scoped variant of the same operation
 *   (`/texml/Accounts/{sid}/Calls`, which needs an account sid ony's configuration does not have).
 *   `MachineDetection: Enable` is synchronous AMD: the TeXML waits for the verdict, which arrives as
 *   `AnsweredBy` on the status callback. The answer is a flat `{call_sid, from, to, status}`.
 * - TeXML requests to ony (the Url, a Gather action, a Redirect, status callbacks) are
 *   `application/x-www-form-urlencoded` with Twilio's field names (CallSid, Digits, SpeechResult,
 *   AnsweredBy, CallStatus, CallDuration) and carry `telnyx-signature-ed25519` (base64 Ed25519
 *   signature of `${telnyx-timestamp}|${raw body}`) and `telnyx-timestamp` (unix seconds).
 * - SMS: `POST /v2/messages` `{from, to, text, messaging_profile_id?}` answers `{data: {id, …}}`.
 *   Inbound messages arrive as JSON `{data: {event_type: "message.received", payload: {id, from:
 *   {phone_number}, to: [{phone_number}], text}}}`, signed the same way; delivery receipts
 *   (`message.sent`, `message.finalized`) come to the same URL and are ignored.
 * - TeXML `<Say>`: `voice="Polly.<Voice>-Neural"` (the docs advise Neural ids: plain ones may fall back
 *   to the default voice) and `voiceSpeed` (0.1–2.0) for the rate; TeXML documents no SSML inside
 *   `<Say>`, so the rate is set with `voiceSpeed` rather than `<prosody>`.
 * - TeXML `<Gather>`: action, input (`dtmf` | `dtmf speech`), numDigits, timeout (1–120), finishOnKey
 *   ('' disables it), language; nested `<Say>` is interrupted by a key. The Gather page says the action
 *   is requested with the TeXML application's own method, so operators set that to POST; ony also
 *   writes `method="POST"` (Telnyx's TwiML-compatibility reference lists the attribute).
 *
 * The signature covers the timestamp and the body, not the URL: a delivery cannot be moved between
 * ony's URLs undetected by the signature alone, so the service must match the parsed `callId` to the
 * call its URL's state token names. `verify` gives the signature as `replayKey` so a second delivery
 * of the same signed request is refused.
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { TelephonyProviderConfig } from '../../config/telephony.js';
import type { CallScript } from '../../core/telephony/script.js';
import { xmlEscape } from '../../core/telephony/script.js';
import { answeredByOf, formFields, renderTwimlStyle, TWIML_CALL_STATUSES } from './twiml.js';
import type { InboundRequest, TelephonyProvider, Verification, WebhookReply } from './provider.js';

type TelnyxConfig = Extract<TelephonyProviderConfig, { name: 'telnyx' }>;

const XML = 'text/xml; charset=utf-8';
/** A clear neural voice, slowed with TeXML's own rate control (GoAlert: speak the gist slowly). */
const VOICE = 'Polly.Joanna-Neural';
const VOICE_SPEED = '0.8';
/** Telnyx's documented tolerance for `telnyx-timestamp`. */
export const TELNYX_TOLERANCE_S = 300;
const REQUEST_TIMEOUT_MS = 10_000;

/** A Telnyx REST answer other than 2xx, or no answer at all (`status` 0). */
export class TelnyxApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'TelnyxApiError';
  }
}

function say(text: string): string {
  return `<Say voice="${VOICE}" voiceSpeed="${VOICE_SPEED}">${xmlEscape(text)}</Say>`;
}

/** Pure: a neutral script as TeXML. */
export function renderTexml(script: CallScript): string {
  return renderTwimlStyle(script, { say, speechAttributes: ' language="en-US"' });
}

const CALL_ID = /^[A-Za-z0-9:_-]{10,200}$/;
const header = (req: InboundRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return v === undefined || v === '' ? undefined : v;
};

function jsonOf(req: InboundRequest): unknown {
  if (req.method !== 'POST' || !(header(req, 'content-type') ?? '').startsWith('application/json'))
    return undefined;
  try {
    return JSON.parse(req.rawBody) as unknown;
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The account's Ed25519 public key (32 raw bytes, base64) as a KeyObject; throws when malformed. */
function ed25519PublicKey(base64: string): KeyObject {
  const raw = Buffer.from(base64, 'base64');
  if (raw.length !== 32) throw new Error('the Telnyx public key must be 32 bytes of Ed25519, base64-encoded');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
}

/** Pure: checks `telnyx-signature-ed25519` over `${telnyx-timestamp}|${rawBody}`, then the timestamp. */
export function verifyTelnyxSignature(publicKey: KeyObject, req: InboundRequest, now: Date): Verification {
  const signature = header(req, 'telnyx-signature-ed25519');
  const timestamp = header(req, 'telnyx-timestamp');
  if (signature === undefined || timestamp === undefined) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(timestamp) || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature))
    return { ok: false, reason: 'invalid' };
  const sig = Buffer.from(signature, 'base64');
  if (sig.length !== 64) return { ok: false, reason: 'invalid' };
  // Ed25519 verification is a public-key check, not a MAC comparison: there is no secret to leak
  // through comparison timing, so no timingSafeEqual is involved.
  const valid = verifySignature(null, Buffer.from(`${timestamp}|${req.rawBody}`, 'utf8'), publicKey, sig);
  if (!valid) return { ok: false, reason: 'invalid' };
  if (Math.abs(Math.floor(now.getTime() / 1000) - Number(timestamp)) > TELNYX_TOLERANCE_S)
    return { ok: false, reason: 'stale' };
  // The same signed request is valid for the whole window on either side of its timestamp.
  return { ok: true, replayKey: `telnyx:${signature}`, replayTtlMs: 2 * TELNYX_TOLERANCE_S * 1000 };
}

interface TelnyxErrorBody {
  readonly errors?: readonly {
    readonly code?: unknown;
    readonly title?: unknown;
    readonly detail?: unknown;
  }[];
}

function describeError(method: string, path: string, status: number, body: unknown): TelnyxApiError {
  const first = isObject(body) ? (body as TelnyxErrorBody).errors?.[0] : undefined;
  const code = str(first?.code);
  const what = [str(first?.title), str(first?.detail)].filter((s) => s !== undefined).join(': ');
  const hint = status === 401 ? ' (check ONY_TELNYX_API_KEY)' : '';
  return new TelnyxApiError(
    status,
    code,
    `Telnyx ${method} ${path} answered HTTP ${status}${code !== undefined ? ` [${code}]` : ''}` +
      `${what !== '' ? ` ${what}` : ''}${hint}`,
  );
}

export function createTelnyxProvider(
  cfg: TelnyxConfig,
  deps: { fetch?: typeof fetch } = {},
): TelephonyProvider {
  const doFetch = deps.fetch ?? globalThis.fetch;
  const base = `${cfg.apiUrl.replace(/\/+$/, '')}/v2`;
  const publicKey = ed25519PublicKey(cfg.publicKey);

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
          authorization: `Bearer ${cfg.apiKey}`,
          accept: 'application/json',
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new TelnyxApiError(
        0,
        undefined,
        `Telnyx ${method} ${path} unreachable: ${(err as Error).message}`,
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

  const reply = (contentType: string, body: string): WebhookReply => ({ contentType, body });

  return {
    name: 'telnyx',

    async placeCall(c) {
      const path = `/texml/calls/${encodeURIComponent(cfg.texmlAppId)}`;
      const created = await call('POST', path, {
        From: c.from,
        To: c.to,
        Url: c.answerUrl,
        Method: 'POST',
        StatusCallback: c.statusUrl,
        StatusCallbackMethod: 'POST',
        StatusCallbackEvent: 'answered completed',
        Timeout: Math.min(120, Math.max(5, Math.round(c.ringTimeoutS))),
        // Never recorded, never transcribed (issue #7: no audio, no recordings, no transcripts).
        Record: false,
        ...(c.machineDetection && { MachineDetection: 'Enable' }),
      });
      // The flat answer of the current API; older accounts wrapped it in `data`.
      const flat = isObject(created) ? created : {};
      const callId = str(flat.call_sid) ?? (isObject(flat.data) ? str(flat.data.call_sid) : undefined);
      if (callId === undefined)
        throw new TelnyxApiError(200, undefined, `Telnyx POST ${path} returned no call_sid`);
      return { callId };
    },

    async sendSms(sms) {
      const sent = await call('POST', '/messages', {
        from: sms.from,
        to: sms.to,
        text: sms.text,
        ...(cfg.messagingProfileId !== undefined && { messaging_profile_id: cfg.messagingProfileId }),
      });
      const data = isObject(sent) && isObject(sent.data) ? sent.data : {};
      const messageId = str(data.id);
      if (messageId === undefined)
        throw new TelnyxApiError(200, undefined, 'Telnyx POST /messages returned no message id');
      return { messageId };
    },

    render: (script) => reply(XML, renderTexml(script)),
    // An empty body rather than an empty <Response/>: with synchronous AMD Telnyx may take the status
    // callback's answer as new instructions, and an empty document would end the call.
    acknowledge: (kind) =>
      kind === 'sms' ? reply('application/json', '{}') : reply('text/plain; charset=utf-8', ''),

    verify: (req, now) => verifyTelnyxSignature(publicKey, req, now),

    parse(kind, req) {
      if (kind === 'sms') {
        const body = jsonOf(req);
        if (!isObject(body) || !isObject(body.data)) return undefined;
        const eventType = str(body.data.event_type);
        if (eventType === undefined) return undefined;
        if (eventType !== 'message.received') return { kind: 'ignored' };
        const p = body.data.payload;
        if (!isObject(p)) return undefined;
        const messageId = str(p.id);
        const from = isObject(p.from) ? str(p.from.phone_number) : undefined;
        const firstTo = Array.isArray(p.to) ? (p.to as unknown[])[0] : undefined;
        const to = isObject(firstTo) ? str(firstTo.phone_number) : undefined;
        if (messageId === undefined || from === undefined) return undefined;
        return { kind: 'sms', messageId, from, to: to ?? '', text: str(p.text) ?? '' };
      }
      const f = formFields(req);
      if (f === undefined) return undefined;
      const callId = f.CallSid;
      if (callId === undefined || !CALL_ID.test(callId)) return undefined;
      if (kind === 'voice')
        return {
          kind: 'voice',
          callId,
          digits: f.Digits ?? '',
          speech: f.SpeechResult,
          answeredBy: answeredByOf(f.AnsweredBy),
        };
      // The AMD verdict may come without a CallStatus: someone (or something) answered.
      const status =
        f.CallStatus === undefined && f.AnsweredBy !== undefined
          ? 'in_progress'
          : TWIML_CALL_STATUSES[f.CallStatus ?? ''];
      if (status === undefined) return undefined;
      const duration = Number(f.CallDuration);
      return {
        kind: 'status',
        callId,
        status,
        durationS:
          f.CallDuration !== undefined && f.CallDuration !== '' && Number.isFinite(duration)
            ? duration
            : undefined,
        answeredBy: answeredByOf(f.AnsweredBy),
      };
    },

    async health() {
      try {
        const balance = await call('GET', '/balance');
        const data = isObject(balance) && isObject(balance.data) ? balance.data : {};
        const currency = str(data.currency);
        return {
          ok: true,
          detail: `telnyx account reachable${currency !== undefined ? ` (${currency})` : ''}`,
        };
      } catch (err) {
        const status = err instanceof TelnyxApiError ? err.status : 0;
        return { ok: false, detail: `telnyx API: ${status !== 0 ? `HTTP ${status}` : 'unreachable'}` };
      }
    },
  };
}
