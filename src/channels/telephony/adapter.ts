/**
 * The phone and SMS channels. `phone` calls each recipient's verified number and leaves the rest to
 * the call flow (the provider requests ony's voice URL when the call is answered); `sms` texts the
 * gist with a reply code scoped to the recipient's number. Neither touches the database: the call
 * state and the code -> handoff map live in the ephemeral store, and the code numbers come from an
 * injected durable counter (they count up per number and are never reused). Per-number windows (about 3 calls and 5 SMS in
 * 15 minutes) keep carriers from flagging the numbers; a recipient over the limit is skipped (and
 * reported as skipped, with the reason), and the escalation's other steps go on.
 */
import type { Logger } from '../../lib/logger.js';
import { maskPhone } from '../../lib/phone.js';
import { startCall } from '../../core/telephony/call-flow.js';
import { approvalSms, smsNeedsTotp } from '../../core/telephony/sms.js';
import { SPOKEN_SUMMARY_LABEL } from '../../core/summary/index.js';
import type { EphemeralStore } from '../../state/store.js';
import type { SkipReason } from '../../core/policy/attempt-outcome.js';
import type { ChannelAdapter, OutboundMessage, Recipient, SendResult, SentMessage } from '../channel.js';
import { withRetry } from '../retry.js';
import type { TelephonyProvider } from './provider.js';
import {
  CALL_STATE_TTL_MS,
  callUrls,
  keys,
  newCallToken,
  REPLY_CODE_TTL_MS,
  WINDOW_15_MIN_MS,
  type CallRecordState,
  type ReplyCode,
  type ReplyCodeCounter,
} from './state.js';

export interface TelephonyChannelDeps {
  readonly provider: TelephonyProvider;
  readonly store: Pick<EphemeralStore, 'set' | 'hit' | 'claim'>;
  readonly replyCodes: ReplyCodeCounter;
  readonly logger: Logger;
  readonly config: {
    readonly publicUrl: string;
    /** The webhook path of this account (default /webhooks/telephony; an org's own has its own). */
    readonly webhookPath?: string;
    readonly from: string;
    readonly callsPer15Min: number;
    readonly smsPer15Min: number;
    readonly machineDetection: boolean;
    /** The voice agent is configured: menus also listen for speech. */
    readonly listen: boolean;
  };
}

/** 429 and connection failures only: a 5xx may have placed the call, and a second call is worse. */
export function retryProvider<T>(call: () => Promise<T>): Promise<T> {
  return withRetry(call, (err) => {
    const e = err as { status?: unknown; code?: unknown } | null;
    if (e?.status === 429) return { retry: true };
    return { retry: e?.code === 'ECONNREFUSED' || e?.code === 'ECONNRESET' };
  });
}

/**
 * Places a call whose state ony keeps under a fresh token: the state is stored before the call is
 * placed (the provider may ask for the script at once), and the token is all the URLs carry.
 */
export async function placeTrackedCall(
  deps: {
    readonly provider: Pick<TelephonyProvider, 'placeCall'>;
    readonly store: Pick<EphemeralStore, 'set'>;
    readonly config: { readonly publicUrl: string; readonly from: string; readonly webhookPath?: string };
  },
  state: CallRecordState,
  machineDetection: boolean,
): Promise<string> {
  const token = newCallToken();
  await deps.store.set(keys.call(token), JSON.stringify(state), CALL_STATE_TTL_MS);
  const urls = callUrls(deps.config.publicUrl, token, 0, deps.config.webhookPath);
  const { callId } = await retryProvider(() =>
    deps.provider.placeCall({
      to: state.phone,
      from: deps.config.from,
      answerUrl: urls.answer,
      statusUrl: urls.status,
      machineDetection,
      ringTimeoutS: 30,
    }),
  );
  return callId;
}

/**
 * Sends to each recipient on its own; fails only when there were numbers and none was reached.
 * A recipient without a verified number, or skipped by `one`, is reported with the reason.
 */
async function each(
  recipients: readonly Recipient[],
  logger: Logger,
  channel: string,
  one: (r: Recipient & { address: string }) => Promise<SentMessage | { skipped: SkipReason }>,
): Promise<SendResult> {
  const messages: SentMessage[] = [];
  const skipped: { memberId: string; reason: SkipReason }[] = [];
  let failures = 0;
  let tried = 0;
  for (const r of recipients) {
    if (r.address === null) {
      skipped.push({ memberId: r.memberId, reason: 'no_address' });
      continue;
    }
    tried += 1;
    try {
      const out = await one({ ...r, address: r.address });
      if ('skipped' in out) skipped.push({ memberId: r.memberId, reason: out.skipped });
      else messages.push(out);
    } catch (err) {
      failures += 1;
      logger.warn({ err, channel, to: maskPhone(r.address) }, `${channel} send failed`);
    }
  }
  if (tried > 0 && failures === tried) throw new Error(`every ${channel} send failed`);
  return { messages, skipped };
}

export function createPhoneChannel(deps: TelephonyChannelDeps): ChannelAdapter {
  const { provider, store, logger, config } = deps;
  return {
    name: 'phone',
    // Spoken: the gist's speech and the option labels (the voice agent's model may also get the
    // action type and risk level); the call state holds nothing else.
    transmits: ['gist', 'summary', 'options', 'actionType', 'riskLevel'],
    async send(message: OutboundMessage, recipients) {
      // The model's summary, said as one, after the gist (docs/summarizer.md).
      const speech =
        message.summary === null
          ? message.gist.speech
          : `${message.gist.speech} ${SPOKEN_SUMMARY_LABEL}: ${message.summary}`;
      return each(recipients, logger, 'phone', async (r) => {
        const { count } = await store.hit(keys.callsWindow(r.address), WINDOW_15_MIN_MS);
        if (count > config.callsPer15Min) {
          logger.warn({ channel: 'phone', to: maskPhone(r.address) }, 'call skipped: per-number limit');
          return { skipped: 'rate_limited' };
        }
        const state: CallRecordState =
          message.options.length === 0
            ? {
                kind: 'notice',
                phone: r.address,
                callId: undefined,
                memberId: r.memberId,
                speech,
              }
            : {
                kind: 'approval',
                phone: r.address,
                callId: undefined,
                answered: false,
                call: startCall(message.handoffId, r.memberId, {
                  speech,
                  options: message.options,
                  actionType: message.actionType,
                  riskLevel: message.riskLevel,
                  listen: config.listen,
                }),
              };
        const callId = await placeTrackedCall(deps, state, config.machineDetection);
        return { memberId: r.memberId, ref: `call:${callId}` };
      });
    },
    // A call cannot be rewritten; one still ringing hears "already decided" if answered.
    async update() {},
    health: () => provider.health(),
  };
}

export function createSmsChannel(deps: TelephonyChannelDeps): ChannelAdapter {
  const { provider, store, logger, config } = deps;

  /**
   * The number's next reply code from the durable counter (never reused, unlike GoAlert's lowest
   * free code); a code still held in the store (one given before this scheme, or after the counter
   * wrapped at 999999) is passed over. Undefined when none could be held.
   */
  async function claimCode(phone: string, code: ReplyCode): Promise<number | undefined> {
    const value = JSON.stringify(code);
    for (let tries = 0; tries < 5; tries++) {
      const n = await deps.replyCodes.next(phone);
      if (await store.claim(keys.replyCode(phone, n), value, REPLY_CODE_TTL_MS)) return n;
    }
    return undefined;
  }

  return {
    name: 'sms',
    // The gist's SMS text, the model summary (labelled) and a reply code; option labels are not
    // sent (A approves, D denies).
    transmits: ['gist', 'summary'],
    async send(message, recipients) {
      return each(recipients, logger, 'sms', async (r) => {
        const { count } = await store.hit(keys.smsWindow(r.address), WINDOW_15_MIN_MS);
        if (count > config.smsPer15Min) {
          logger.warn({ channel: 'sms', to: maskPhone(r.address) }, 'SMS skipped: per-number limit');
          return { skipped: 'rate_limited' };
        }
        // Nothing to decide (an admin's channel test): the gist alone, no reply code held.
        if (message.options.length === 0) {
          const { messageId } = await retryProvider(() =>
            provider.sendSms({ to: r.address, from: config.from, text: message.gist.sms }),
          );
          return { memberId: r.memberId, ref: `sms:${messageId}` };
        }
        const code = await claimCode(r.address, {
          handoffId: message.handoffId,
          memberId: r.memberId,
          riskLevel: message.riskLevel,
          approve: message.options.find((o) => o.id !== 'deny')?.id,
          deny: message.options.find((o) => o.id === 'deny')?.id,
        });
        if (code === undefined) {
          logger.warn({ channel: 'sms', to: maskPhone(r.address) }, 'SMS skipped: no reply code free');
          return { skipped: 'no_reply_code' };
        }
        const text = approvalSms(message.gist.sms, code, smsNeedsTotp(message.riskLevel), message.summary);
        const { messageId } = await retryProvider(() =>
          provider.sendSms({ to: r.address, from: config.from, text }),
        );
        return { memberId: r.memberId, ref: `sms:${messageId}` };
      });
    },
    // An SMS cannot be rewritten, and a second one per decision would spend the number's budget.
    async update() {},
    health: () => provider.health(),
  };
}
