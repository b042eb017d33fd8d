/**
 * The channels this server can send through, built once from the operator's configuration. The
 * console channel is always there; a provider's adapter exists only when its credentials are set.
 */
import type { Config } from '../config/index.js';
import type { Logger } from '../lib/logger.js';
import type { ChannelAdapter } from './channel.js';
import { createConsoleChannel } from './console.js';

export type Channels = Readonly<Record<string, ChannelAdapter>>;

export function createChannels(config: Config, logger: Logger): Channels {
  const channels: Record<string, ChannelAdapter> = { console: createConsoleChannel(logger) };
  void config;
  return channels;
}
