/**
 * What every telephony provider fake offers the tests (Twilio, SignalWire, Telnyx, Plivo), so one
 * scripted call runs against all four. Each fake is a real HTTP server on 127.0.0.1 that speaks its
 * provider's REST protocol (as the provider's SDK or ony's client calls it), records every request,
 * and plays the phone network's half: it requests ony's answer/action URLs exactly as the provider
 * would (form or JSON, signed with the provider's real scheme), parses the markup ony answers
 * (TwiML, TeXML, Plivo XML) with a real XML parser and reports what the caller would hear.
 */

import { XMLParser } from 'fast-xml-parser';

/** One REST request the fake received from ony. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as received. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body exactly as received. */
  readonly raw: string;
  /** The parsed body (form fields or JSON). */
  readonly params: Readonly<Record<string, unknown>>;
}

export interface PlacedCall {
  /** The provider's call id. */
  readonly id: string;
  readonly to: string;
  readonly from: string;
  /** Where the fake requests the script when the call is answered. */
  readonly answerUrl: string;
  /** Where the fake posts status callbacks. */
  readonly statusUrl: string | undefined;
  /** The request that placed it (to assert on every field, e.g. recording off). */
  readonly request: RecordedRequest;
}

export interface SentSms {
  readonly id: string;
  readonly to: string;
  readonly from: string;
  readonly text: string;
  readonly request: RecordedRequest;
}

/** What the caller hears after one request to ony's voice URLs. */
export interface Heard {
  /** ony's HTTP status (200 for a script; 403 for a refused signature…). */
  readonly status: number;
  /** Every text spoken, in order (outside and inside the gather). */
  readonly said: readonly string[];
  /** The gather ony opened, if any: how many keys it wants and whether it listens for speech. */
  readonly gather: { readonly digits: number; readonly speech: boolean } | undefined;
  /** ony ended the call (hangup), rather than gathering or redirecting. */
  readonly hungUp: boolean;
  /** The raw markup, for assertions on attributes (slow rate, no record verbs). */
  readonly raw: string;
}

export interface SignOptions {
  /** Sign with a wrong key (the request must be refused with 403 and change nothing). */
  readonly badSignature?: boolean;
  /** Leave the signature headers out (401). */
  readonly unsigned?: boolean;
  /** Sign a timestamp this many seconds in the past (Telnyx: stale beyond 300 s). */
  readonly ageSeconds?: number;
  /** Send the previous request's signature and nonce again (Plivo, Telnyx: a replay). */
  readonly replay?: boolean;
}

/** How every fake is started: `start<Provider>Fake(options)`. */
export interface FakeOptions {
  /**
   * ony's ONY_PUBLIC_URL (e.g. https://ony.test): the fake signs the exact public URLs ony gave it,
   * and sends the requests to `setTarget`'s address instead (as a reverse proxy would).
   */
  readonly publicUrl: string;
  /** The operator's number (ONY_TELEPHONY_FROM); default +15005550006. */
  readonly from?: string;
  /**
   * The number's inbound SMS webhook path, as set in the provider's console; default
   * /webhooks/telephony/sms (an org's own account: /webhooks/telephony/o/<route id>/sms).
   */
  smsPath?: string;
}

export interface TelephonyFake {
  /** Where ony really listens (http://127.0.0.1:<port>), set once the test server listens. */
  setTarget(base: string): void;
  readonly provider: 'twilio' | 'signalwire' | 'telnyx' | 'plivo';
  /** The REST base URL ony is pointed at. */
  readonly url: string;
  /** ONY_* variables that make ony use this fake (provider, credentials, API URL, From number). */
  readonly env: Readonly<Record<string, string>>;
  /** Every REST request received, in order. */
  readonly requests: readonly RecordedRequest[];
  readonly calls: readonly PlacedCall[];
  readonly sms: readonly SentSms[];
  /** Resolves with a call to `to` that is placed and not yet answered, within `timeoutMs`. */
  waitForCall(to: string, timeoutMs?: number): Promise<PlacedCall>;
  /** Resolves when an SMS to `to` has been sent, within `timeoutMs`. */
  waitForSms(to: string, timeoutMs?: number): Promise<SentSms>;
  /** The callee picks up: the fake requests the answer URL. `machine`: voicemail answered. */
  answer(callId: string, opts?: { answeredBy?: 'human' | 'machine' } & SignOptions): Promise<Heard>;
  /** The caller presses keys in the open gather: the fake posts them to the gather's action. */
  press(callId: string, digits: string, opts?: SignOptions): Promise<Heard>;
  /** The caller says something in a speech gather. */
  speak(callId: string, speech: string, opts?: SignOptions): Promise<Heard>;
  /** The gather times out: the fake follows the script's redirect (ony's no-input path). */
  silence(callId: string, opts?: SignOptions): Promise<Heard>;
  /** The call ends: the fake posts the final status (completed by default) with the duration. */
  end(
    callId: string,
    status?: 'completed' | 'busy' | 'no_answer' | 'failed' | 'canceled',
    durationS?: number,
    opts?: SignOptions,
  ): Promise<{ status: number }>;
  /** A person texts ony's number: the fake delivers the inbound SMS webhook. */
  receiveSms(from: string, text: string, opts?: SignOptions): Promise<{ status: number; body: string }>;
  /** Answers the next `count` REST requests with this HTTP status (outage tests). */
  failNext(count: number, status: 429 | 500 | 503): void;
  close(): Promise<void>;
}

/** Polls `find` until it answers something, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(find: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** An element of parsed markup (fast-xml-parser's ordered form: `{Tag: children, ':@': attributes}`). */
export type MarkupNode = Record<string, unknown>;

const markupParser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  trimValues: true,
  parseTagValue: false,
});

/** The elements inside the `<Response>` ony answered, in order; throws when there is none. */
export function responseElements(raw: string, dialect: string): MarkupNode[] {
  const doc = markupParser.parse(raw) as MarkupNode[];
  const response = doc.find((n) => 'Response' in n)?.Response as MarkupNode[] | undefined;
  if (response === undefined) throw new Error(`not ${dialect}: ${raw}`);
  return response;
}

/** All the text inside these elements, nested ones included (what a `<Say>` speaks). */
export function textOf(nodes: MarkupNode[]): string {
  let out = '';
  for (const n of nodes) {
    if (typeof n['#text'] === 'string') out += n['#text'];
    for (const [k, v] of Object.entries(n))
      if (k !== '#text' && k !== ':@' && Array.isArray(v)) out += textOf(v as MarkupNode[]);
  }
  return out;
}

/** How far a fake's call got in ony's script. */
export interface CallPosition {
  readonly ended: boolean;
  readonly gatherAction: string | undefined;
  readonly redirect: string | undefined;
}

/** `waitForCall` for every fake: a call to `to` that was placed and not answered yet. */
export function waitForUnansweredCall(
  calls: readonly PlacedCall[],
  positionOf: (callId: string) => CallPosition,
  to: string,
  timeoutMs: number,
): Promise<PlacedCall> {
  return waitFor(
    () =>
      calls.find((c) => {
        const p = positionOf(c.id);
        return c.to === to && !p.ended && p.gatherAction === undefined && p.redirect === undefined;
      }),
    `a call to ${to}`,
    timeoutMs,
  );
}

/** `waitForSms` for every fake: the next SMS to `to`, after those already sent. */
export function waitForNextSms(sms: readonly SentSms[], to: string, timeoutMs: number): Promise<SentSms> {
  const seen = sms.filter((m) => m.to === to).length;
  return waitFor(() => sms.filter((m) => m.to === to)[seen], `an SMS to ${to}`, timeoutMs);
}
