/**
 * The Slack channel adapter: posts the approval request to the configured channel and/or as a DM to
 * each targeted member who linked Slack, rewrites every posted message once the handoff is decided
 * (buttons removed), and checks the bot token with `auth.test`. One failed destination never stops
 * the others; the step fails only when nothing could be posted. Refs are `<channel id>:<ts>`.
 */
import type { Logger } from '../../lib/logger.js';
import type { ChannelAdapter, SentMessage } from '../channel.js';
import { slackErrorOf, type SlackApi } from './api.js';
import { renderDecided, renderRequest, SLACK_TRANSMITS } from './render.js';

export interface SlackChannelOptions {
  readonly api: SlackApi;
  /** Channel id (or name) every request is posted to; undefined: DMs only. */
  readonly channel: string | undefined;
  /** DM each targeted member whose Slack identity is linked. */
  readonly dm: boolean;
  readonly logger: Logger;
}

/** `<team id>:<user id>` -> the user id to DM. */
function userIdOf(address: string): string | undefined {
  const m = /^[A-Z0-9]+:([A-Z0-9]+)$/.exec(address);
  return m?.[1];
}

export function parseMessageRef(ref: string): { channel: string; ts: string } | undefined {
  const m = /^([A-Z0-9]{2,40}):(\d{1,12}\.\d{1,12})$/.exec(ref);
  return m ? { channel: m[1]!, ts: m[2]! } : undefined;
}

export function createSlackChannel({ api, channel, dm, logger }: SlackChannelOptions): ChannelAdapter {
  return {
    name: 'slack',
    transmits: SLACK_TRANSMITS,

    async send(message, recipients, options) {
      const rendered = renderRequest(message);
      const targets: { memberId: string | null; to: string }[] = [];
      const directOnly = options?.directOnly === true;
      if (channel !== undefined && !directOnly) targets.push({ memberId: null, to: channel });
      if (dm || directOnly) {
        for (const r of recipients) {
          const user = r.address !== null ? userIdOf(r.address) : undefined;
          if (user !== undefined) targets.push({ memberId: r.memberId, to: user });
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

    async update(ref, notice) {
      const where = parseMessageRef(ref);
      if (where === undefined) throw new Error(`not a Slack message ref: ${ref.slice(0, 60)}`);
      await api.update(where.channel, where.ts, renderDecided(notice));
    },

    async health() {
      try {
        const me = await api.authTest();
        return { ok: true, detail: `connected to workspace ${me.team} as @${me.user}` };
      } catch (err) {
        return { ok: false, detail: `Slack auth.test failed: ${slackErrorOf(err)}` };
      }
    },
  };
}
