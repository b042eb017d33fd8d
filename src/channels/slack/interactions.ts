/**
 * What ony does with a verified Slack interaction, the same for the HTTP route and Socket Mode:
 * a button click asks the one decision service as the linked member; when the policy wants step-up
 * the TOTP modal opens (`views.open` with the click's trigger_id) and its submission decides with
 * the code, a wrong code staying in the modal as an error. Refusals reach the person as an ephemeral
 * message; an unlinked person gets a one-time link to connect their account. The message itself is
 * rewritten by the notify job after the decision, from whichever channel it came.
 *
 * `handle` answers what Slack must get in the acknowledgement (within 3 s) and, separately, the
 * follow-up calls to Slack, which the caller runs after acknowledging.
 */
import type { Logger } from '../../lib/logger.js';
import { UNAVAILABLE_REPLY, type ChannelActions, type InboundDecision } from '../channel.js';
import { slackErrorOf, type SlackApi } from './api.js';
import { parseInteraction, type SlackInteraction } from './inbound.js';
import { renderClaim, renderTotpModal, TOTP_BLOCK_ID, type SlackMessage } from './render.js';

export type ViewAck =
  | { readonly response_action: 'clear' }
  | { readonly response_action: 'errors'; readonly errors: Readonly<Record<string, string>> };

export type InteractionResult =
  | { readonly ok: false }
  | {
      readonly ok: true;
      /** The acknowledgement's body (view_submission answers), or nothing. */
      readonly ack: ViewAck | undefined;
      /** Slack calls to make after acknowledging. */
      readonly followUp: (() => Promise<void>) | undefined;
    };

export interface SlackInteractionsDeps {
  readonly actions: ChannelActions;
  readonly logger: Logger;
}

/** Where one interaction came from: the org its team is routed to (none: the server's default bot), and that bot. */
export interface InteractionContext {
  readonly api: Pick<SlackApi, 'postEphemeral' | 'openView'>;
  /** The org that installed the workspace; undefined: the server's default workspace. */
  readonly orgId: string | undefined;
}

const say = (text: string): SlackMessage => ({ text, blocks: [] });

export function createSlackInteractions({ actions, logger }: SlackInteractionsDeps) {
  const log = (i: Exclude<SlackInteraction, { kind: 'ignored' }>, r: InboundDecision) =>
    logger.info(
      {
        channel: 'slack',
        interaction: i.kind,
        handoff_id: i.handoffId,
        result: r.ok ? r.outcome : r.reason,
      },
      'slack interaction',
    );

  const ephemeral =
    (api: InteractionContext['api'], channelId: string | null, userId: string, message: SlackMessage) =>
    async () => {
      if (channelId === null) return;
      try {
        await api.postEphemeral(channelId, userId, message);
      } catch (err) {
        logger.warn({ channel: 'slack', error: slackErrorOf(err) }, 'slack ephemeral reply failed');
      }
    };

  async function vote(
    i: Extract<SlackInteraction, { kind: 'vote' }>,
    { api, orgId }: InteractionContext,
  ): Promise<InteractionResult> {
    const scope = orgId !== undefined ? { orgId } : undefined;
    const r = await actions.decide('slack', i.person.identity, i.handoffId, { option: i.option }, scope);
    log(i, r);
    if (r.ok) {
      const followUp =
        r.outcome === 'recorded'
          ? ephemeral(
              api,
              i.channelId,
              i.person.userId,
              say('Your answer was recorded; it needs more approvers.'),
            )
          : r.outcome === 'replay'
            ? ephemeral(api, i.channelId, i.person.userId, say('You already answered this; nothing changed.'))
            : undefined;
      return { ok: true, ack: undefined, followUp };
    }
    switch (r.reason) {
      case 'not_linked':
        return {
          ok: true,
          ack: undefined,
          followUp: async () => {
            const url = await actions.claimUrl('slack', i.person.identity, i.person.label, scope);
            await ephemeral(api, i.channelId, i.person.userId, renderClaim(url))();
          },
        };
      case 'totp_required':
        return {
          ok: true,
          ack: undefined,
          followUp: async () => {
            try {
              await api.openView(
                i.triggerId,
                renderTotpModal({ handoffId: i.handoffId, option: i.option, channelId: i.channelId }, null),
              );
            } catch (err) {
              logger.warn({ channel: 'slack', error: slackErrorOf(err) }, 'slack TOTP modal did not open');
              await ephemeral(
                api,
                i.channelId,
                i.person.userId,
                say('This needs your TOTP code, but the code window could not open. Click the button again.'),
              )();
            }
          },
        };
      default:
        return {
          ok: true,
          ack: undefined,
          followUp: ephemeral(api, i.channelId, i.person.userId, say(r.message)),
        };
    }
  }

  async function totp(
    i: Extract<SlackInteraction, { kind: 'totp' }>,
    { api, orgId }: InteractionContext,
  ): Promise<InteractionResult> {
    const code = i.code.trim();
    if (!/^\d{6}$/.test(code)) {
      return {
        ok: true,
        ack: { response_action: 'errors', errors: { [TOTP_BLOCK_ID]: 'Enter the 6 digits your app shows.' } },
        followUp: undefined,
      };
    }
    const r = await actions.decide(
      'slack',
      i.person.identity,
      i.handoffId,
      { option: i.option, totpCode: code },
      orgId !== undefined ? { orgId } : undefined,
    );
    log(i, r);
    if (!r.ok) {
      return {
        ok: true,
        ack: { response_action: 'errors', errors: { [TOTP_BLOCK_ID]: r.message } },
        followUp: undefined,
      };
    }
    return {
      ok: true,
      ack: { response_action: 'clear' },
      followUp:
        r.outcome === 'recorded'
          ? ephemeral(
              api,
              i.channelId,
              i.person.userId,
              say('Your answer was recorded; it needs more approvers.'),
            )
          : undefined,
    };
  }

  return {
    /**
     * A verified payload that cannot be handled because the database (the replay guard) is
     * unavailable: nothing is decided; the person is told to try again.
     */
    unavailable(payload: unknown, { api }: Pick<InteractionContext, 'api'>): InteractionResult {
      const i = parseInteraction(payload);
      if (i === undefined) return { ok: false };
      switch (i.kind) {
        case 'ignored':
          return { ok: true, ack: undefined, followUp: undefined };
        case 'vote':
          return {
            ok: true,
            ack: undefined,
            followUp: ephemeral(api, i.channelId, i.person.userId, say(UNAVAILABLE_REPLY)),
          };
        case 'totp':
          return {
            ok: true,
            ack: { response_action: 'errors', errors: { [TOTP_BLOCK_ID]: UNAVAILABLE_REPLY } },
            followUp: undefined,
          };
      }
    },
    /** A verified payload in; what to acknowledge and what to do next out. */
    async handle(payload: unknown, ctx: InteractionContext): Promise<InteractionResult> {
      const i = parseInteraction(payload);
      if (i === undefined) return { ok: false };
      switch (i.kind) {
        case 'ignored':
          return { ok: true, ack: undefined, followUp: undefined };
        case 'vote':
          return vote(i, ctx);
        case 'totp':
          return totp(i, ctx);
      }
    },
  };
}

export type SlackInteractions = ReturnType<typeof createSlackInteractions>;

/** Runs follow-ups after the acknowledgement, logging failures; `drain` waits for those in flight. */
export function createFollowUps(logger: Logger) {
  const pending = new Set<Promise<void>>();
  return {
    run(followUp: (() => Promise<void>) | undefined): void {
      if (followUp === undefined) return;
      const p = followUp()
        .catch((err: unknown) =>
          logger.warn({ channel: 'slack', error: slackErrorOf(err) }, 'slack follow-up failed'),
        )
        .finally(() => pending.delete(p));
      pending.add(p);
    },
    async drain(): Promise<void> {
      await Promise.allSettled([...pending]);
    },
  };
}
