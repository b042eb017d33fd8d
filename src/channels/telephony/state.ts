/**
 * What the telephony channel keeps in the ephemeral store between a provider's requests: the state
 * of each call in flight (keyed by an opaque token in the callback URLs) and each phone number's SMS
 * reply codes. Losing the store loses a call in flight or an unanswered SMS code, never a handoff
 * or a decision, and re-opens no replay (DESIGN.md §3.10): a number's reply codes come from a
 * durable counter and are never reused, and replay keys are claimed in Postgres. Phone numbers
 * appear in keys only as SHA-256 hashes.
 */
import { randomBytes } from 'node:crypto';
import type { ApprovalCall } from '../../core/telephony/call-flow.js';
import { sha256Hex } from '../../lib/crypto.js';
import type { AnsweredBy } from './provider.js';

export type CallRecordState =
  | {
      readonly kind: 'approval';
      /** E.164: the identity the decision is made as (the number ony called). */
      readonly phone: string;
      readonly callId: string | undefined;
      readonly answered: boolean;
      /**
       * The step the next keypad / speech / no-input request answers: each script's URLs carry it
       * (`k`), and each step is claimed once in the durable replay guard, so a replayed callback
       * (even against a lost or restored store) moves nothing. Absent before the call is answered.
       */
      readonly step?: number;
      /** Answering-machine detection's verdict when it came on a status callback first (Telnyx). */
      readonly answeredBy?: AnsweredBy | undefined;
      readonly call: ApprovalCall;
    }
  | {
      /** Nothing to decide (an admin's channel test): the gist is read out, then the call ends. */
      readonly kind: 'notice';
      readonly phone: string;
      readonly callId: string | undefined;
      readonly memberId: string;
      readonly speech: string;
    }
  | {
      readonly kind: 'verification';
      readonly phone: string;
      readonly callId: string | undefined;
      readonly orgId: string;
      readonly memberId: string;
      readonly code: string;
    };

/** What an SMS reply code stands for. */
export interface ReplyCode {
  readonly handoffId: string;
  readonly memberId: string;
  readonly riskLevel: string;
  /** The option `A` picks (the first approving option) and the one `D` picks. */
  readonly approve: string | undefined;
  readonly deny: string | undefined;
}

/**
 * Where a number's next SMS reply code comes from: a durable counter (Postgres) per number, so a
 * code is never given to a second handoff and a captured reply cannot decide a newer one.
 */
export interface ReplyCodeCounter {
  next(phone: string): Promise<number>;
}

/** Calls end within minutes; an hour bounds a stuck one. */
export const CALL_STATE_TTL_MS = 60 * 60_000;
/** A reply code lives as long as the longest handoff timeout (24 h), plus an hour of late replies. */
export const REPLY_CODE_TTL_MS = 25 * 60 * 60_000;
export const WINDOW_15_MIN_MS = 15 * 60_000;

const phoneKey = (phone: string) => sha256Hex(`phone:${phone}`);

export const keys = {
  call: (token: string) => `tel-call:${token}`,
  replyCode: (phone: string, code: number) => `tel-sms-code:${phoneKey(phone)}:${code}`,
  callsWindow: (phone: string) => `tel-calls:${phoneKey(phone)}`,
  smsWindow: (phone: string) => `tel-sms:${phoneKey(phone)}`,
  repliesWindow: (phone: string) => `tel-replies:${phoneKey(phone)}`,
  seenSms: (provider: string, messageId: string) => `tel-sms-seen:${sha256Hex(`${provider}:${messageId}`)}`,
  replay: (provider: string, key: string) => `tel-replay:${sha256Hex(`${provider}:${key}`)}`,
  callStep: (token: string, step: number) => `tel-call-step:${sha256Hex(`${token}:${step}`)}`,
  verification: (memberId: string) => `tel-verify:${memberId}`,
  verificationSend: (memberId: string) => `tel-verify-send:${memberId}`,
};

export const newCallToken = (): string => randomBytes(24).toString('base64url');
export const CALL_TOKEN_RE = /^[A-Za-z0-9_-]{32}$/;

/**
 * The URLs a call's provider requests; the token (and, for the next step's requests, the step
 * number `k`) is the only thing in them. The provider signs the whole URL, so `k` cannot be forged.
 */
/** Where the server-wide account's webhooks arrive; an org's own account has its own path. */
export const TELEPHONY_WEBHOOK_PATH = '/webhooks/telephony';

export function callUrls(publicUrl: string, token: string, step = 0, path = TELEPHONY_WEBHOOK_PATH) {
  const voice = `${publicUrl}${path}/voice?s=${token}`;
  const next = `${voice}&k=${step}`;
  return {
    answer: voice,
    status: `${publicUrl}${path}/status?s=${token}`,
    flow: { action: next, noInput: `${next}&noinput=1` },
  };
}

/** The step number of a voice request (`k`), if it carries a well-formed one. */
export function stepOf(raw: unknown): number | undefined {
  return typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Number(raw) : undefined;
}
