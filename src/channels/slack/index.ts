/** The Slack channel's parts, built from the operator's configuration. */
import type { SlackConfig } from '../../config/index.js';
import type { Logger } from '../../lib/logger.js';
import type { ChannelAdapter } from '../channel.js';
import { createSlackChannel, type SlackBot } from './adapter.js';
import { createSlackApi } from './api.js';

/** An org's own bot token and channel (the installation store's answer), or none. */
export type OrgSlackLookup = (
  orgId: string,
) => Promise<
  { readonly botToken: string; readonly teamId: string; readonly channelId: string | null } | undefined
>;

/**
 * The adapter: the operator's default bot (when ONY_SLACK_BOT_TOKEN is set) and each org's own
 * installation, looked up per call (a fresh client each time, so no token stays in memory).
 */
export function slackChannelFor(
  config: SlackConfig,
  logger: Logger,
  orgLookup: OrgSlackLookup,
): ChannelAdapter {
  const defaultBot: SlackBot | undefined =
    config.botToken !== undefined
      ? {
          api: createSlackApi({ token: config.botToken, apiUrl: config.apiUrl, logger }),
          channel: config.channel,
          teamId: undefined,
        }
      : undefined;
  return createSlackChannel({
    defaultBot,
    orgBot: async (orgId) => {
      const own = await orgLookup(orgId);
      if (own === undefined) return undefined;
      return {
        api: createSlackApi({ token: own.botToken, apiUrl: config.apiUrl, logger }),
        channel: own.channelId ?? undefined,
        teamId: own.teamId,
      };
    },
    dm: config.dm,
    logger,
  });
}

/** Slack's authorize page: beside the Web API (https://slack.com/oauth/v2/authorize; a fake in tests). */
export function slackAuthorizeUrl(config: SlackConfig): string {
  return new URL('../oauth/v2/authorize', config.apiUrl ?? 'https://slack.com/api/').toString();
}
