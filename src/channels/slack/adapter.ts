/**
 * The Slack channel adapter: posts the approval request to the configured channel and/or as a DM to
 * each targeted member who linked Slack, rewrites every posted message once the handoff is decided
 * (buttons removed), and checks the bot token with `auth.test`. One failed destination never stops
 * the others; the step fails only when nothing could be posted. Refs are `<channel id>:<ts>`.
 *
 * Each call names its org: an org that installed the app in its own workspace is reached with its
 * own bot only (and only its workspace's members are DMed); any other org uses the operator's
 * default bot, or has no Slack. The adapter never touches the database: `orgBot` is handed in.
 */
import type { Logger } from '../../lib/logger.js';
import type { ChannelAdapter, SentMessage } from '../channel.js';
import { slackErrorOf, type SlackApi } from './api.js';
import { renderDecided, renderRequest, SLACK_TRANSMITS } from './render.js';

/** A bot to send with: the org's own installation, or the server's default. */
export interface SlackBot {
  readonly api: SlackApi;
  /** Channel id (or name) every request is posted to; undefined: DMs only. */
  readonly channel: string | undefined;
  /** The workspace of an org's own installation (only its members are DMed); undefined: the default bot. */
  readonly teamId: string | undefined;
}

export interface SlackChannelOptions {
  /** The operator's bot (ONY_SLACK_*); undefined: only orgs with their own installation have Slack. */
  readonly defaultBot: SlackBot | undefined;
  /** The org's own bot, when it installed the app in its workspace. */
  readonly orgBot: (orgId: string) => Promise<SlackBot | undefined>;
  /** DM each targeted member whose Slack identity is linked. */
  readonly dm: boolean;
  readonly logger: Logger;
}

/** `<team id>:<user id>` -> the team and the user id to DM. */
function userOf(address: string): { team: string; user: string } | undefined {
  const m = /^([A-Z0-9]+):([A-Z0-9]+)$/.exec(address);
  return m ? { team: m[1]!, user: m[2]! } : undefined;
}

export function parseMessageRef(ref: string): { channel: string; ts: string } | undefined {
  const m = /^([A-Z0-9]{2,40}):(\d{1,12}\.\d{1,12})$/.exec(ref);
  return m ? { channel: m[1]!, ts: m[2]! } : undefined;
}

export function createSlackChannel({ defaultBot, orgBot, dm, logger }: SlackChannelOptions): ChannelAdapter {
  async function botFor(orgId: string | undefined): Promise<SlackBot> {
    const own = orgId !== undefined ? await orgBot(orgId) : undefined;
    const bot = own ?? defaultBot;
    if (bot === undefined)
      throw new Error(
        'no Slack workspace for this organization: an admin installs the app (Add to Slack, on the Channels page)',
      );
    return bot;
  }

  return {
    name: 'slack',
    transmits: SLACK_TRANSMITS,

    async send(message, recipients, options) {
      const { api, channel, teamId } = await botFor(options?.orgId);
      const rendered = renderRequest(message);
      const targets: { memberId: string | null; to: string }[] = [];
      const directOnly = options?.directOnly === true;
      if (channel !== undefined && !directOnly) targets.push({ memberId: null, to: channel });
      if (dm || directOnly) {
        for (const r of recipients) {
          const who = r.address !== null ? userOf(r.address) : undefined;
          // An org's own bot reaches only its own workspace's people.
          if (who !== undefined && (teamId === undefined || who.team === teamId))
            targets.push({ memberId: r.memberId, to: who.user });
        }
      }
      if (targets.length === 0) {
        throw new Error(
          `no Slack destination: no channel is configured and none of the ${recipients.length} targeted members linked Slack`,
        );
      }
      const results = await Promise.allSettled(targets.map((t) => api.postMessage(t.to, rendered)));
      const messages: SentMessage[] = [];
      let firstError: unknown;
      results.forEach((r, i) => {
        const target = targets[i]!;
        if (r.status === 'fulfilled') {
          messages.push({ memberId: target.memberId, ref: `${r.value.channel}:${r.value.ts}` });
        } else {
          firstError ??= r.reason;
          logger.warn(
            {
              channel: 'slack',
              handoff_id: message.handoffId,
              member_id: target.memberId,
              error: slackErrorOf(r.reason),
            },
            'slack post failed',
          );
        }
      });
      if (messages.length === 0) throw firstError;
      return { messages };
    },

    async update(ref, notice, options) {
      const where = parseMessageRef(ref);
      if (where === undefined) throw new Error(`not a Slack message ref: ${ref.slice(0, 60)}`);
      const { api } = await botFor(options?.orgId);
      await api.update(where.channel, where.ts, renderDecided(notice));
    },

    async health(options) {
      let bot: SlackBot;
      try {
        bot = await botFor(options?.orgId);
      } catch (err) {
        return { ok: false, detail: err instanceof Error ? err.message : 'no Slack workspace' };
      }
      const whose =
        bot.teamId !== undefined ? "this organization's own workspace" : "the server's default workspace";
      try {
        const me = await bot.api.authTest();
        return { ok: true, detail: `connected to workspace ${me.team} as @${me.user} (${whose})` };
      } catch (err) {
        return { ok: false, detail: `Slack auth.test failed (${whose}): ${slackErrorOf(err)}` };
      }
    },
  };
}
