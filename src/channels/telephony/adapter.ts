/**
 * The phone and SMS channels. `phone` calls each recipient's verified number and leaves the rest to
 * the call flow (the provider requests ony's voice URL when the call is answered); `sms` texts the
 * gist with a reply code scoped to the recipient's number. Neither touches the database: the call
 * state and reply codes live in the ephemeral store. Per-number windows (about 3 calls and 5 SMS in
 * 15 minutes) keep carriers from flagging the numbers; a recipient over the limit is skipped, and the
 * escalation's other steps go on.
 */
import type { Logger } from '../../lib/logger.js';
import { maskPhone } from '../../lib/phone.js';
import { startCall } from '../../core/telephony/call-flow.js';
import { approvalSms, MAX_REPLY_CODES, smsNeedsTotp } from '../../core/telephony/sms.js';
import type { EphemeralStore } from '../../state/store.js';
import type { ChannelAdapter, OutboundMessage, Recipient, SentMessage } from '../channel.js';
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
} from './state.js';

export interface TelephonyChannelDeps {
  readonly provider: TelephonyProvider;
  readonly store: Pick<EphemeralStore, 'set' | 'hit' | 'claim'>;
  readonly logger: Logger;
  readonly config: {
    readonly publicUrl: string;
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
    readonly config: { readonly publicUrl: string; readonly from: string };
  },
  state: CallRecordState,
  machineDetection: boolean,
): Promise<string> {
  const token = newCallToken();
  await deps.store.set(keys.call(token), JSON.stringify(state), CALL_STATE_TTL_MS);
  const urls = callUrls(deps.config.publicUrl, token);
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

/** Sends to each recipient on its own; fails only when there were numbers and none was reached. */
async function each(
  recipients: readonly Recipient[],
  logger: Logger,
  channel: string,
  one: (r: Recipient & { address: string }) => Promise<SentMessage | 'skipped'>,
): Promise<SentMessage[]> {
  const sent: SentMessage[] = [];
  let failures = 0;
  let tried = 0;
  for (const r of recipients) {
    if (r.address === null) continue;
    tried += 1;
    try {
      const out = await one({ ...r, address: r.address });
      if (out !== 'skipped') sent.push(out);
    } catch (err) {
      failures += 1;
      logger.warn({ err, channel, to: maskPhone(r.address) }, `${channel} send failed`);
    }
  }
  if (tried > 0 && failures === tried) throw new Error(`every ${channel} send failed`);
  return sent;
}

export function createPhoneChannel(deps: TelephonyChannelDeps): ChannelAdapter {
  const { provider, store, logger, config } = deps;
  return {
    name: 'phone',
    // Spoken: the gist's speech and the option labels (the voice agent's model may also get the
    // action type and risk level); the call state holds nothing else.
    transmits: ['gist', 'options', 'actionType', 'riskLevel'],
    async send(message: OutboundMessage, recipients) {
      const messages = await each(recipients, logger, 'phone', async (r) => {
        const { count } = await store.hit(keys.callsWindow(r.address), WINDOW_15_MIN_MS);
        if (count > config.callsPer15Min) {
          logger.warn({ channel: 'phone', to: maskPhone(r.address) }, 'call skipped: per-number limit');
          return 'skipped';
        }
        const state: CallRecordState =
          message.options.length === 0
            ? {
                kind: 'notice',
                phone: r.address,
                callId: undefined,
                memberId: r.memberId,
                speech: message.gist.speech,
              }
            : {
                kind: 'approval',
                phone: r.address,
                callId: undefined,
                answered: false,
                call: startCall(message.handoffId, r.memberId, {
                  speech: message.gist.speech,
                  options: message.options,
                  actionType: message.actionType,
                  riskLevel: message.riskLevel,
                  listen: config.listen,
                }),
              };
        const callId = await placeTrackedCall(deps, state, config.machineDetection);
        return { memberId: r.memberId, ref: `call:${callId}` };
      });
      return { messages };
    },
    // A call cannot be rewritten; one still ringing hears "already decided" if answered.
    async update() {},
    health: () => provider.health(),
  };
}

export function createSmsChannel(deps: TelephonyChannelDeps): ChannelAdapter {
  const { provider, store, logger, config } = deps;

  /** The lowest reply code free on this number (GoAlert's scheme); undefined when all are taken. */
  async function claimCode(phone: string, code: ReplyCode): Promise<number | undefined> {
    const value = JSON.stringify(code);
    for (let n = 1; n <= MAX_REPLY_CODES; n++)
      if (await store.claim(keys.replyCode(phone, n), value, REPLY_CODE_TTL_MS)) return n;
    return undefined;
  }

  return {
    name: 'sms',
    // The gist's SMS text and a reply code; option labels are not sent (A approves, D denies).
    transmits: ['gist'],
    async send(message, recipients) {
      const messages = await each(recipients, logger, 'sms', async (r) => {
        const { count } = await store.hit(keys.smsWindow(r.address), WINDOW_15_MIN_MS);
        if (count > config.smsPer15Min) {
          logger.warn({ channel: 'sms', to: maskPhone(r.address) }, 'SMS skipped: per-number limit');
          return 'skipped';
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
          return 'skipped';
        }
        const text = approvalSms(message.gist.sms, code, smsNeedsTotp(message.riskLevel));
        const { messageId } = await retryProvider(() =>
          provider.sendSms({ to: r.address, from: config.from, text }),
        );
        return { memberId: r.memberId, ref: `sms:${messageId}` };
      });
      return { messages };
    },
    // An SMS cannot be rewritten, and a second one per decision would spend the number's budget.
    async update() {},
    health: () => provider.health(),
  };
}
