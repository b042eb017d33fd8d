/**
 * The channels this server can send through, built once from the operator's configuration. The
 * console channel is always there; a provider's adapter exists only when its credentials are set.
 */
import type { Config } from '../config/index.js';
import type { Logger } from '../lib/logger.js';
import type { ChannelAdapter } from './channel.js';
import { createConsoleChannel } from './console.js';
import { createEmailChannel } from './email/adapter.js';
import { createSmtpTransport } from './email/transport.js';
import { slackChannelFor, type OrgSlackLookup } from './slack/index.js';
import { createTelegramChannel } from './telegram/adapter.js';
import { createTelegramApi } from './telegram/client.js';
import type { EphemeralStore } from '../state/store.js';
import { createPhoneChannel, createSmsChannel } from './telephony/adapter.js';
import type { TelephonyProvider } from './telephony/provider.js';
import type { ReplyCodeCounter } from './telephony/state.js';

export type Channels = Readonly<Record<string, ChannelAdapter>>;

export function createChannels(
  config: Config,
  logger: Logger,
  telephony?: {
    readonly provider: TelephonyProvider;
    readonly store: Pick<EphemeralStore, 'set' | 'hit' | 'claim'>;
    readonly replyCodes: ReplyCodeCounter;
  },
  /** Each org's own Slack installation (the installation store); none: the default bot only. */
  slackOrgs: OrgSlackLookup = async () => undefined,
): Channels {
  const channels: Record<string, ChannelAdapter> = { console: createConsoleChannel(logger) };
  if (config.telegram !== undefined)
    channels.telegram = createTelegramChannel({ api: createTelegramApi(config.telegram), logger });
  if (config.slack !== undefined) channels.slack = slackChannelFor(config.slack, logger, slackOrgs);
  if (config.mail !== undefined) channels.email = createEmailChannel(createSmtpTransport(config.mail));
  if (config.telephony !== undefined && telephony !== undefined) {
    const deps = {
      provider: telephony.provider,
      store: telephony.store,
      replyCodes: telephony.replyCodes,
      logger,
      config: {
        publicUrl: config.publicUrl,
        from: config.telephony.from,
        callsPer15Min: config.telephony.callsPer15Min,
        smsPer15Min: config.telephony.smsPer15Min,
        machineDetection: config.telephony.machineDetection,
        listen: config.telephony.voiceAgent !== undefined,
      },
    };
    channels.phone = createPhoneChannel(deps);
    channels.sms = createSmsChannel(deps);
  }
  return channels;
}
