/**
 * Socket Mode, for self-hosters without a public URL: the server opens a WebSocket to Slack
 * (`apps.connections.open` with the app-level token) and receives the same interactivity payloads
 * as envelopes, acknowledging each one (with the modal's answer when there is one). Slack
 * authenticates the connection, so there is no request signature to check here. Uses the official
 * `@slack/socket-mode` client (reconnects, ping/pong).
 */
import { SocketModeClient } from '@slack/socket-mode';
import type { Logger } from '../../lib/logger.js';
import { slackLogger } from './api.js';
import { createFollowUps, type SlackInteractions } from './interactions.js';

export interface SlackSocketModeOptions {
  /** The app-level token (`xapp-…`) with the connections:write scope. */
  readonly appToken: string;
  readonly apiUrl?: string | undefined;
  readonly interactions: SlackInteractions;
  readonly logger: Logger;
}

interface InteractiveEvent {
  readonly body: unknown;
  readonly envelope_id?: string;
  readonly ack: (response?: Record<string, unknown>) => Promise<void>;
}

export function createSlackSocketMode({ appToken, apiUrl, interactions, logger }: SlackSocketModeOptions) {
  const client = new SocketModeClient({
    appToken,
    logger: slackLogger(logger),
    ...(apiUrl !== undefined && { clientOptions: { slackApiUrl: apiUrl } }),
  });
  const followUps = createFollowUps(logger);

  client.on('interactive', (event: InteractiveEvent) => {
    void (async () => {
      try {
        const r = await interactions.handle(event.body);
        if (!r.ok) {
          logger.warn(
            { channel: 'slack', envelope_id: event.envelope_id },
            'malformed Slack interaction ignored',
          );
          await event.ack();
          return;
        }
        await event.ack(r.ack);
        followUps.run(r.followUp);
      } catch (err) {
        // No ack: Slack tells the person the action failed, which is the truth.
        logger.error({ err, channel: 'slack' }, 'slack interaction failed');
      }
    })();
  });

  return {
    async start(): Promise<void> {
      await client.start();
      logger.info({ channel: 'slack' }, 'slack socket mode connected');
    },
    async stop(): Promise<void> {
      await client.disconnect();
      await followUps.drain();
    },
  };
}

export type SlackSocketMode = ReturnType<typeof createSlackSocketMode>;
