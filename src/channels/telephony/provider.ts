/**
 * A telephony provider (Twilio, SignalWire, Telnyx, Plivo): places calls, sends SMS, renders call
 * scripts into its own markup, verifies its webhook signatures and parses its webhook events. It
 * never touches the database or the ephemeral store, and decides nothing: the telephony service
 * (`features/telephony`) drives the call flow and records what happened.
 *
 * Privacy rules every implementation keeps (tested against each provider's HTTP fake):
 * - recording is explicitly off in every call request (and no transcription is asked for);
 * - a request carries only the number, the caller id, the callback URLs and, for an SMS, the text
 *   the service gives it (a redacted gist, a reply code, a verification code);
 * - the callback URLs carry an opaque state token, never a handoff id or a member id.
 */
import type { CallScript } from '../../core/telephony/script.js';

export const TELEPHONY_PROVIDERS = ['twilio', 'signalwire', 'telnyx', 'plivo'] as const;
export type TelephonyProviderName = (typeof TELEPHONY_PROVIDERS)[number];

export interface PlaceCall {
  /** E.164 number to call. */
  readonly to: string;
  /** E.164 caller id (the operator's number). */
  readonly from: string;
  /** Absolute URL the provider requests when the call is answered (it answers with a script). */
  readonly answerUrl: string;
  /** Absolute URL the provider POSTs call progress and the final status to. */
  readonly statusUrl: string;
  /** Ask for answering-machine detection where the provider supports it (`answeredBy` on answer). */
  readonly machineDetection: boolean;
  /** Seconds to let it ring before giving up. */
  readonly ringTimeoutS: number;
}

export interface SendSms {
  readonly to: string;
  readonly from: string;
  /** The whole text, already bounded by the caller (GSM-7, at most 160 septets where possible). */
  readonly text: string;
}

/** A webhook request exactly as it arrived, before anything is parsed. */
export interface InboundRequest {
  /** The exact public URL the provider requested: ONY_PUBLIC_URL + path + query. */
  readonly url: string;
  readonly method: 'GET' | 'POST';
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body as received (form-encoded or JSON, per provider), '' for GET. */
  readonly rawBody: string;
}

export type Verification =
  /**
   * `replayKey`: where the scheme makes each delivery unique (Plivo's nonce, Telnyx's signature),
   * a key the service remembers for `replayTtlMs` to refuse the same request a second time.
   */
  | { readonly ok: true; readonly replayKey?: string; readonly replayTtlMs?: number }
  | { readonly ok: false; readonly reason: 'missing' | 'invalid' | 'stale' };

export type AnsweredBy = 'human' | 'machine' | 'unknown';

export type CallStatus =
  'queued' | 'ringing' | 'in_progress' | 'completed' | 'busy' | 'no_answer' | 'failed' | 'canceled';

/** Final statuses: the call is over. */
export const FINAL_CALL_STATUSES: readonly CallStatus[] = [
  'completed',
  'busy',
  'no_answer',
  'failed',
  'canceled',
];

/** A request to the answer URL or a gather action URL: the provider wants a script back. */
export interface VoiceRequest {
  readonly kind: 'voice';
  readonly callId: string;
  /** The keys pressed in the gather this request answers ('' when none), as the provider sent them. */
  readonly digits: string;
  /** What the caller said, when the gather listened for speech (processed in memory, never stored). */
  readonly speech: string | undefined;
  /** Answering-machine detection's verdict, when the provider reports it with the answer. */
  readonly answeredBy: AnsweredBy | undefined;
}

/** A call progress / final status callback. */
export interface CallStatusEvent {
  readonly kind: 'status';
  readonly callId: string;
  readonly status: CallStatus;
  /** Seconds the call was connected, when final. */
  readonly durationS: number | undefined;
  /** Asynchronous answering-machine verdict (providers that report it apart from the answer). */
  readonly answeredBy: AnsweredBy | undefined;
}

export interface InboundSms {
  readonly kind: 'sms';
  /** The provider's message id (to ignore a redelivered message). */
  readonly messageId: string;
  /** E.164 sender: caller id can be forged, so it is only ever a hint plus the reply code. */
  readonly from: string;
  readonly to: string;
  readonly text: string;
}

/** An event ony does not act on (SMS delivery receipts, other webhook types): answered 200. */
export interface IgnoredEvent {
  readonly kind: 'ignored';
}

export type WebhookKind = 'voice' | 'status' | 'sms';

/** What the webhook route answers to the provider. */
export interface WebhookReply {
  readonly contentType: string;
  readonly body: string;
}

export interface TelephonyProvider {
  readonly name: TelephonyProviderName;
  placeCall(call: PlaceCall): Promise<{ readonly callId: string }>;
  sendSms(sms: SendSms): Promise<{ readonly messageId: string }>;
  /** Pure: the script in this provider's markup, as the reply to a voice request. */
  render(script: CallScript): WebhookReply;
  /** The reply to a status or SMS webhook (an empty document or `{}`). */
  acknowledge(kind: 'status' | 'sms'): WebhookReply;
  /**
   * Checks the signature against the exact public URL and raw body, before anything is parsed.
   * `now` bounds timestamped schemes (Telnyx: 5 minutes).
   */
  verify(req: InboundRequest, now: Date): Verification;
  /**
   * Parses a verified request to a webhook of `kind`; undefined when the body is not that
   * provider's event (the route answers 400 and changes nothing).
   */
  parse(
    kind: WebhookKind,
    req: InboundRequest,
  ): VoiceRequest | CallStatusEvent | InboundSms | IgnoredEvent | undefined;
  /** Credentials work (an authenticated read of the account); never throws. */
  health(): Promise<{ readonly ok: boolean; readonly detail: string }>;
}
