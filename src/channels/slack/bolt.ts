/**
 * Slack's inbound side on Bolt (`@slack/bolt`): one Bolt app, fed either by ony's own Fastify routes
 * through a custom receiver (http mode: ony verifies the signature, timestamp and replay first, then
 * hands the parsed body to `app.processEvent`; no second HTTP server) or by Bolt's
 * SocketModeReceiver (socket mode: the WebSocket authenticated with the app-level token).
 *
 * Bolt's `authorize` routes each request to the org that installed the request's workspace (team),
 * with that org's bot token; a workspace no org installed gets the operator's default bot, or, when
 * there is none, nothing (Bolt acknowledges and no listener runs). Listeners:
 *   - an option button (`ony_vote_<n>`) and the TOTP modal (`ony_totp`): the one decision path,
 *     scoped to the routed org (interactions.ts);
 *   - `app_uninstalled` and `tokens_revoked`: the installation of that workspace is deleted.
 * A global middleware first acknowledges what is not ours or is malformed, so Slack stops
 * redelivering it and nothing else runs.
 */
import {
  App,
  ErrorCode,
  LogLevel,
  SocketModeReceiver,
  type AnyMiddlewareArgs,
  type AuthorizeResult,
  type AuthorizeSourceData,
  type Receiver,
  type ReceiverEvent,
} from '@slack/bolt';
import { isDatabaseUnavailable } from '../../lib/db-unavailable.js';
import type { Logger } from '../../lib/logger.js';
import { createSlackApi, slackLogger, type SlackApi } from './api.js';
import { parseInteraction } from './inbound.js';
import { createFollowUps, type InteractionResult, type SlackInteractions } from './interactions.js';
import { TOTP_CALLBACK_ID, VOTE_ACTION_PREFIX } from './render.js';

/** The org a workspace belongs to, with its bot (from the installation store); undefined: no org. */
export interface RoutedTeam {
  readonly orgId: string;
  readonly botToken: string;
  readonly botUserId: string;
  readonly botId: string | null;
}

export interface SlackBoltOptions {
  readonly interactions: SlackInteractions;
  /** Routing: the org that installed a team (Bolt's authorize). */
  readonly routeTeam: (teamId: string) => Promise<RoutedTeam | undefined>;
  /** Slack told us the installation ended (app_uninstalled, tokens_revoked). */
  readonly removedBySlack: (
    teamId: string,
    reason: 'app_uninstalled' | 'tokens_revoked',
    botUserIds?: readonly string[],
  ) => Promise<boolean>;
  /** The operator's bot, for workspaces no org installed; undefined: those get nothing. */
  readonly defaultBotToken: string | undefined;
  readonly apiUrl: string | undefined;
  readonly logger: Logger;
  /** Socket Mode with this app-level token; undefined: http mode (ony's routes feed the receiver). */
  readonly socketAppToken?: string | undefined;
  /** Built for each request, with the routed bot token (tests need nothing else). */
  readonly apiFor?: (token: string) => SlackApi;
}

/** What ony's HTTP route hands to Bolt, and what it answers Slack. */
export interface SlackDispatch {
  /**
   * Runs the Bolt app on a verified, parsed body; resolves with what to acknowledge once a listener
   * acknowledged (or Bolt finished without one: an empty 200).
   */
  dispatch(
    body: Record<string, unknown>,
    flags?: {
      readonly unavailable?: boolean;
      /** Resolve only once the listeners finished (events: Bolt acknowledges them before they run). */
      readonly untilDone?: boolean;
    },
  ): Promise<unknown>;
}

/** A Bolt receiver fed by ony's Fastify routes (the requests are verified there). */
function createFastifyReceiver(): Receiver & SlackDispatch {
  let app: App | undefined;
  return {
    init(a: App) {
      app = a;
    },
    async start() {},
    async stop() {},
    dispatch(body, flags) {
      if (app === undefined) return Promise.reject(new Error('the Slack app is not initialised'));
      const bolt = app;
      return new Promise((resolve, reject) => {
        let acked = false;
        const event: ReceiverEvent = {
          body,
          ack: async (response?: unknown) => {
            if (acked || flags?.untilDone === true) return;
            acked = true;
            resolve(response);
          },
          customProperties: { onyUnavailable: flags?.unavailable === true },
        };
        bolt.processEvent(event).then(
          () => {
            if (!acked) {
              acked = true;
              resolve(undefined);
            }
          },
          (err: unknown) => {
            if (!acked) {
              acked = true;
              reject(err instanceof Error ? err : new Error(String(err)));
            }
          },
        );
      });
    },
  };
}

/** Bolt's logger over ours: its chatter at debug, never a request body (developerMode stays off). */
function boltLogger(logger: Logger) {
  const base = slackLogger(logger);
  return { ...base, getLevel: () => LogLevel.INFO };
}

/**
 * Bolt's App, acknowledging what no listener acknowledged once it is done (an envelope Bolt cannot
 * type, a button that is not ours), as the previous socket listener did, so Slack stops redelivering.
 * An error still propagates unacknowledged.
 */
class AcknowledgingApp extends App {
  override async processEvent(event: ReceiverEvent): Promise<void> {
    let acked = false;
    const ack = event.ack;
    await super.processEvent({
      ...event,
      ack: async (response?: unknown) => {
        acked = true;
        return (ack as (r?: unknown) => Promise<void>)(response);
      },
    });
    if (!acked) await ack();
  }
}

const INTERACTIVE = new Set([
  'block_actions',
  'view_submission',
  'view_closed',
  'shortcut',
  'message_action',
]);

export function createSlackBolt(options: SlackBoltOptions) {
  const { interactions, routeTeam, removedBySlack, defaultBotToken, apiUrl, logger } = options;
  const apiFor = options.apiFor ?? ((token: string) => createSlackApi({ token, apiUrl, logger }));
  const followUps = createFollowUps(logger);

  async function authorize(source: AuthorizeSourceData<boolean>): Promise<AuthorizeResult> {
    const teamId = source.teamId;
    if (teamId !== undefined) {
      let routed: RoutedTeam | undefined;
      try {
        routed = await routeTeam(teamId);
      } catch (err) {
        // No database: nothing can be decided; the default bot (if any) tells the person to retry.
        if (isDatabaseUnavailable(err) && defaultBotToken !== undefined)
          return { botToken: defaultBotToken, onyOrgId: undefined, onyUnavailable: true };
        throw err;
      }
      if (routed !== undefined)
        return {
          botToken: routed.botToken,
          botUserId: routed.botUserId,
          ...(routed.botId !== null && { botId: routed.botId }),
          teamId,
          onyOrgId: routed.orgId,
        };
    }
    if (defaultBotToken !== undefined) return { botToken: defaultBotToken, onyOrgId: undefined };
    throw new Error('no ony organization installed this Slack workspace');
  }

  const receiver = options.socketAppToken === undefined ? createFastifyReceiver() : undefined;
  const socketReceiver =
    options.socketAppToken !== undefined
      ? new SocketModeReceiver({
          appToken: options.socketAppToken,
          logger: boltLogger(logger),
          ...(apiUrl !== undefined && { installerOptions: { clientOptions: { slackApiUrl: apiUrl } } }),
          // A malformed envelope Bolt could not even read is acknowledged (so Slack stops redelivering);
          // a listener that failed is not: Slack tells the person the action failed.
          processEventErrorHandler: async ({ error, event }) => {
            const type = (event.body as { type?: unknown }).type;
            if (
              typeof type === 'string' &&
              INTERACTIVE.has(type) &&
              parseInteraction(event.body) === undefined
            ) {
              logger.warn({ channel: 'slack' }, 'malformed Slack interaction ignored');
              return true;
            }
            logger.error({ err: error, channel: 'slack' }, 'slack interaction failed');
            return false;
          },
        })
      : undefined;

  const app = new AcknowledgingApp({
    receiver: receiver ?? socketReceiver,
    authorize,
    logger: boltLogger(logger),
    ...(apiUrl !== undefined && { clientOptions: { slackApiUrl: apiUrl } }),
    // Our replies use our own client (bounded retries); Bolt's per-request client is not used.
    ignoreSelf: false,
  });

  // What is not ours, or malformed, is acknowledged here and goes no further.
  app.use(async (args) => {
    const { body, next } = args;
    const ack = (args as AnyMiddlewareArgs & { ack?: (r?: unknown) => Promise<void> }).ack;
    const type = (body as { type?: unknown }).type;
    if (typeof type === 'string' && INTERACTIVE.has(type)) {
      const i = parseInteraction(body);
      if (i === undefined) logger.warn({ channel: 'slack' }, 'malformed Slack interaction ignored');
      if (i === undefined || i.kind === 'ignored') {
        await ack?.();
        return;
      }
    }
    await next();
  });

  const respond = async (
    ack: (r?: never) => Promise<void>,
    context: Record<string, unknown>,
    body: unknown,
  ): Promise<void> => {
    const api = apiFor(String(context.botToken));
    const orgId = typeof context.onyOrgId === 'string' ? context.onyOrgId : undefined;
    const r: InteractionResult =
      context.onyUnavailable === true
        ? interactions.unavailable(body, { api })
        : await interactions.handle(body, { api, orgId });
    if (!r.ok) {
      await ack();
      return;
    }
    await (ack as (r?: unknown) => Promise<void>)(r.ack);
    followUps.run(r.followUp);
  };

  app.action(new RegExp(`^${VOTE_ACTION_PREFIX}\\d{1,4}$`), async ({ ack, context, body }) =>
    respond(ack as (r?: never) => Promise<void>, context, body),
  );
  app.view(TOTP_CALLBACK_ID, async ({ ack, context, body }) =>
    respond(ack as (r?: never) => Promise<void>, context, body),
  );

  app.event('app_uninstalled', async ({ body }) => {
    if (typeof body.team_id === 'string') await removedBySlack(body.team_id, 'app_uninstalled');
  });
  app.event('tokens_revoked', async ({ body, event }) => {
    const bots = (event as { tokens?: { bot?: unknown } }).tokens?.bot;
    const ids = Array.isArray(bots) ? bots.filter((b): b is string => typeof b === 'string') : [];
    if (typeof body.team_id === 'string' && ids.length > 0)
      await removedBySlack(body.team_id, 'tokens_revoked', ids);
  });

  // A workspace no org installed (and no default bot): acknowledged, nothing runs. Any other error
  // fails the request (http: 500; socket mode: not acknowledged), so Slack shows the action failed.
  app.error(async (err) => {
    if (err.code === ErrorCode.AuthorizationError) {
      logger.warn({ channel: 'slack' }, 'slack request from a workspace no organization installed ignored');
      return;
    }
    throw err;
  });

  return {
    /** http mode: ony's routes hand verified bodies here; undefined in socket mode. */
    receiver,
    async start(): Promise<void> {
      if (socketReceiver === undefined) return;
      await app.start();
      logger.info({ channel: 'slack' }, 'slack socket mode connected');
    },
    async stop(): Promise<void> {
      if (socketReceiver !== undefined) await app.stop();
      await followUps.drain();
    },
    /** Waits for the replies sent after acknowledgements (server shutdown). */
    drain: () => followUps.drain(),
  };
}

export type SlackBolt = ReturnType<typeof createSlackBolt>;
