/** The Slack channel's parts, built from the operator's configuration. */
import type { SlackConfig } from '../../config/index.js';
import type { Logger } from '../../lib/logger.js';
import type { ChannelActions, ChannelAdapter } from '../channel.js';
import { createSlackChannel } from './adapter.js';
import { createSlackApi, type SlackApi } from './api.js';
import { createSlackInteractions, type SlackInteractions } from './interactions.js';
import { createSlackSocketMode, type SlackSocketMode } from './socket-mode.js';

export function slackApiFor(config: SlackConfig, logger: Logger): SlackApi {
  return createSlackApi({ token: config.botToken, apiUrl: config.apiUrl, logger });
}

export function slackChannelFor(config: SlackConfig, logger: Logger): ChannelAdapter {
  return createSlackChannel({
    api: slackApiFor(config, logger),
    channel: config.channel,
    dm: config.dm,
    logger,
  });
}

export function slackInteractionsFor(
  config: SlackConfig,
  actions: ChannelActions,
  logger: Logger,
): SlackInteractions {
  return createSlackInteractions({ api: slackApiFor(config, logger), actions, logger });
}

/** The Socket Mode listener, when the operator chose it; undefined in http mode. */
export function slackSocketModeFor(
  config: SlackConfig,
  actions: ChannelActions,
  logger: Logger,
): SlackSocketMode | undefined {
  if (config.mode !== 'socket' || config.appToken === undefined) return undefined;
  return createSlackSocketMode({
    appToken: config.appToken,
    apiUrl: config.apiUrl,
    interactions: slackInteractionsFor(config, actions, logger),
    logger,
  });
}
