/**
 * Twilio and SignalWire (whose LaML REST API and webhooks are Twilio-compatible) through the `twilio`
 * SDK. Calls are placed with `Record=false` and answering-machine detection (`MachineDetection=Enable`,
 * so `AnsweredBy` arrives with the answer request); scripts are TwiML (SignalWire: LaML, the same
 * markup). Webhooks are verified with the SDK's `validateRequest`: base64 HMAC-SHA1 over the exact
 * public URL followed by every POST field sorted by name (X-Twilio-Signature with the auth token;
 * X-SignalWire-Signature with the space's signing key). Twilio's scheme has no timestamp or nonce:
 * replays are refused by the service (call state moves on; SMS message ids are remembered).
 */
import twilio from 'twilio';
import type { TelephonyProviderConfig } from '../../config/telephony.js';
import type { CallScript } from '../../core/telephony/script.js';
import { xmlEscape } from '../../core/telephony/script.js';
import { answeredByOf, formFields, renderTwimlStyle, TWIML_CALL_STATUSES } from './twiml.js';
import type { TelephonyProvider, TelephonyProviderName, Verification, WebhookReply } from './provider.js';

type TwilioClient = ReturnType<typeof twilio>;

const TWILIO_API = 'https://api.twilio.com';
const XML = 'text/xml; charset=utf-8';
/** A slow, clear neural voice; `<prosody rate="slow">` slows it further (GoAlert's advice). */
const VOICE = 'Polly.Joanna';

/** The SDK always builds https://api.twilio.com/…; this sends its requests to another base instead. */
class RebasedRequestClient extends twilio.RequestClient {
  constructor(private readonly rebase: (uri: string) => string) {
    super({ timeout: 10_000 });
  }
  override request<TData>(opts: Parameters<twilio.RequestClient['request']>[0] & { data?: TData }) {
    return super.request<TData>({ ...opts, uri: this.rebase(opts.uri) });
  }
}

function say(text: string): string {
  return `<Say voice="${VOICE}"><prosody rate="slow">${xmlEscape(text)}</prosody></Say>`;
}

/** Pure: a neutral script as TwiML (SignalWire LaML is the same markup). */
export function renderTwiml(script: CallScript): string {
  return renderTwimlStyle(script, { say, speechAttributes: ' speechTimeout="auto" language="en-US"' });
}

interface Compatible {
  readonly name: TelephonyProviderName;
  readonly client: TwilioClient;
  readonly accountSid: string;
  /** The key that signs webhooks, and the header that carries the signature. */
  readonly signingKey: string;
  readonly signatureHeader: string;
}

function compatibleProvider(c: Compatible): TelephonyProvider {
  const reply = (body: string): WebhookReply => ({ contentType: XML, body });
  return {
    name: c.name,

    async placeCall(call) {
      const created = await c.client.calls.create({
        to: call.to,
        from: call.from,
        url: call.answerUrl,
        method: 'POST',
        statusCallback: call.statusUrl,
        statusCallbackMethod: 'POST',
        statusCallbackEvent: ['answered', 'completed'],
        timeout: call.ringTimeoutS,
        // Never recorded, never transcribed (issue #7: no audio, no recordings, no transcripts).
        record: false,
        ...(call.machineDetection && { machineDetection: 'Enable' }),
      });
      return { callId: created.sid };
    },

    async sendSms(sms) {
      const sent = await c.client.messages.create({ to: sms.to, from: sms.from, body: sms.text });
      return { messageId: sent.sid };
    },

    render: (script) => reply(renderTwiml(script)),
    acknowledge: () => reply('<?xml version="1.0" encoding="UTF-8"?><Response/>'),

    verify(req): Verification {
      const signature = req.headers[c.signatureHeader];
      if (signature === undefined || signature === '') return { ok: false, reason: 'missing' };
      const params = formFields(req);
      if (params === undefined) return { ok: false, reason: 'invalid' };
      // GET requests sign the URL alone (its query holds the fields).
      const signed = req.method === 'GET' ? {} : params;
      return twilio.validateRequest(c.signingKey, signature, req.url, signed)
        ? { ok: true }
        : { ok: false, reason: 'invalid' };
    },

    parse(kind, req) {
      const f = formFields(req);
      if (f === undefined) return undefined;
      if (kind === 'sms') {
        // Only inbound messages have a Body; delivery receipts (MessageStatus) are not acted on.
        if (f.MessageSid === undefined || f.From === undefined) return undefined;
        if (f.Body === undefined) return { kind: 'ignored' };
        return { kind: 'sms', messageId: f.MessageSid, from: f.From, to: f.To ?? '', text: f.Body };
      }
      const callId = f.CallSid;
      if (callId === undefined || !/^[A-Za-z0-9-]{10,64}$/.test(callId)) return undefined;
      if (kind === 'voice')
        return {
          kind: 'voice',
          callId,
          digits: f.Digits ?? '',
          speech: f.SpeechResult,
          answeredBy: answeredByOf(f.AnsweredBy),
        };
      const status = TWIML_CALL_STATUSES[f.CallStatus ?? ''];
      if (status === undefined) return undefined;
      const duration = Number(f.CallDuration);
      return {
        kind: 'status',
        callId,
        status,
        durationS: Number.isFinite(duration) && f.CallDuration !== '' ? duration : undefined,
        answeredBy: answeredByOf(f.AnsweredBy),
      };
    },

    async health() {
      try {
        const account = await c.client.api.v2010.accounts(c.accountSid).fetch();
        return { ok: account.status === 'active', detail: `${c.name} account ${account.status}` };
      } catch (err) {
        const status = (err as { status?: number }).status;
        return {
          ok: false,
          detail: `${c.name} API: ${status !== undefined ? `HTTP ${status}` : 'unreachable'}`,
        };
      }
    },
  };
}

export function createTwilioProvider(
  cfg: Extract<TelephonyProviderConfig, { name: 'twilio' }>,
): TelephonyProvider {
  const base = cfg.apiUrl.replace(/\/+$/, '');
  const client = twilio(cfg.accountSid, cfg.authToken, {
    httpClient: new RebasedRequestClient((uri) =>
      uri.startsWith(TWILIO_API) ? base + uri.slice(TWILIO_API.length) : uri,
    ),
  });
  return compatibleProvider({
    name: 'twilio',
    client,
    accountSid: cfg.accountSid,
    signingKey: cfg.authToken,
    signatureHeader: 'x-twilio-signature',
  });
}

export function createSignalWireProvider(
  cfg: Extract<TelephonyProviderConfig, { name: 'signalwire' }>,
): TelephonyProvider {
  // The SDK insists on an `AC…` account sid; a project id (a UUID) is 32 hex digits without its
  // dashes, so `AC<hex>` stands in for it and the rebase swaps the real project id back into the path.
  const standIn = `AC${cfg.projectId.replace(/-/g, '').toLowerCase()}`;
  const laml = `${cfg.spaceUrl.replace(/\/+$/, '')}/api/laml`;
  const client = twilio(cfg.projectId, cfg.apiToken, {
    accountSid: standIn,
    httpClient: new RebasedRequestClient((uri) =>
      uri.startsWith(TWILIO_API)
        ? laml + uri.slice(TWILIO_API.length).replace(`/Accounts/${standIn}`, `/Accounts/${cfg.projectId}`)
        : uri,
    ),
  });
  return compatibleProvider({
    name: 'signalwire',
    client,
    accountSid: standIn,
    signingKey: cfg.signingKey,
    signatureHeader: 'x-signalwire-signature',
  });
}
