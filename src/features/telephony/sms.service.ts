/**
 * Inbound SMS: replies to approval texts (`1A`, `1D`, `1A 123456`), STOP / START / HELP. A reply
 * code is looked up only together with the sender's number (GoAlert's scheme), and the decision goes
 * through the one decision path as the member who verified that number. Caller id can be forged, so
 * approving a high or critical handoff by SMS needs the member's TOTP code in the reply. ony never
 * answers a number no member verified, and bounds its automatic replies per number. Each message id
 * is claimed in the durable replay guard, so a redelivered or replayed message is handled once even
 * after the ephemeral store was wiped; and a number's reply codes are never reused (they count up,
 * durably), so a captured reply can never decide a newer handoff.
 */
import type { Kysely } from 'kysely';
import type { ChannelActions } from '../../channels/channel.js';
import type { InboundSms, TelephonyProvider } from '../../channels/telephony/provider.js';
import { keys, WINDOW_15_MIN_MS, type ReplyCode } from '../../channels/telephony/state.js';
import { parseSmsReply, smsNeedsTotp, SMS_REPLIES } from '../../core/telephony/sms.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { isE164, maskPhone } from '../../lib/phone.js';
import type { EphemeralStore } from '../../state/store.js';
import { MAX_REPLAY_TTL_MS, type ReplayGuard } from '../replay/replay-guard.js';
import { resolveIdentity } from '../channels/channels.repository.js';
import { setSmsOptOut } from './telephony.repository.js';

export interface SmsDeps {
  readonly db: Kysely<DB>;
  readonly store: Pick<EphemeralStore, 'get' | 'hit'>;
  readonly replay: Pick<ReplayGuard, 'claim'>;
  readonly clock: Clock;
  readonly provider: Pick<TelephonyProvider, 'name' | 'sendSms'>;
  readonly actions: Pick<ChannelActions, 'decide'>;
  readonly logger: Logger;
  readonly config: { readonly from: string };
}

/** Automatic replies one number may get in 15 minutes. */
export const REPLIES_PER_15_MIN = 10;
/**
 * A redelivered (or replayed) message is handled once within this window, well past a reply code's
 * life; a replay after it finds its code expired, never reused (codes count up per number).
 */
const SEEN_TTL_MS = MAX_REPLAY_TTL_MS;

export type SmsHandled =
  'duplicate' | 'unknown_number' | 'stopped' | 'started' | 'help' | 'unknown_code' | 'decided' | 'refused';

export function createSmsService({ db, store, replay, clock, provider, actions, logger, config }: SmsDeps) {
  async function reply(to: string, text: string): Promise<void> {
    const { count } = await store.hit(keys.repliesWindow(to), WINDOW_15_MIN_MS);
    if (count > REPLIES_PER_15_MIN) {
      logger.warn({ to: maskPhone(to) }, 'SMS reply skipped: per-number limit');
      return;
    }
    try {
      await provider.sendSms({ to, from: config.from, text });
    } catch (err) {
      logger.warn({ err, to: maskPhone(to) }, 'SMS reply failed');
    }
  }

  return {
    async inbound(sms: InboundSms): Promise<SmsHandled> {
      if (!(await replay.claim(keys.seenSms(provider.name, sms.messageId), SEEN_TTL_MS))) return 'duplicate';
      const from = sms.from;
      // Never answer a number no member verified (and never reveal whether one did).
      if (!isE164(from) || (await resolveIdentity(db, 'phone', from)).length === 0) {
        logger.info(
          { from: isE164(from) ? maskPhone(from) : 'invalid' },
          'SMS from an unknown number ignored',
        );
        return 'unknown_number';
      }
      const parsed = parseSmsReply(sms.text);
      switch (parsed.kind) {
        case 'stop':
          await setSmsOptOut(db, from, true, clock.now());
          await reply(from, SMS_REPLIES.stopped);
          return 'stopped';
        case 'start':
          await setSmsOptOut(db, from, false, clock.now());
          await reply(from, SMS_REPLIES.started);
          return 'started';
        case 'help':
        case 'unknown':
          await reply(from, SMS_REPLIES.help);
          return 'help';
        case 'vote': {
          const raw = await store.get(keys.replyCode(from, parsed.code));
          const code = raw === null ? undefined : (JSON.parse(raw) as ReplyCode);
          const option = parsed.choice === 'approve' ? code?.approve : code?.deny;
          if (code === undefined || option === undefined) {
            await reply(from, SMS_REPLIES.unknownCode);
            return 'unknown_code';
          }
          const r = await actions.decide('sms', from, code.handoffId, {
            option,
            totpCode: parsed.totpCode,
            forceStepUp: smsNeedsTotp(code.riskLevel),
          });
          if (r.ok) {
            await reply(
              from,
              r.status === 'approved'
                ? SMS_REPLIES.approved
                : r.status === 'denied'
                  ? SMS_REPLIES.denied
                  : SMS_REPLIES.recorded,
            );
            return 'decided';
          }
          await reply(
            from,
            r.reason === 'totp_required'
              ? SMS_REPLIES.totpRequired
              : r.reason === 'totp_invalid'
                ? SMS_REPLIES.totpInvalid
                : r.reason === 'unavailable'
                  ? SMS_REPLIES.unavailable
                  : `ony: ${r.message}`,
          );
          return 'refused';
        }
      }
    },
  };
}

export type SmsService = ReturnType<typeof createSmsService>;
