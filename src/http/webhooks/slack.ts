/**
 * POST /webhooks/slack/interactions: Slack's interactivity Request URL (button clicks, modal
 * submissions), in http mode. The body is read as raw bytes (a content-type parser scoped to this
 * plugin) and its v0 signature checked against the signing secret, timestamp within 5 minutes,
 * in constant time, before any of it is parsed; a missing or stale signature answers 401, a wrong
 * one 403, and nothing changes. A signed request seen before (a replay) is acknowledged and
 * ignored: its signature is claimed in the durable replay guard (Postgres) for twice the timestamp
 * window, so a replay is refused even after the ephemeral store was wiped. The acknowledgement
 * goes out first; replies to the person (ephemeral messages, the TOTP modal) follow it, as Slack
 * asks for an answer within 3 seconds.
 */
import type { FastifyInstance } from 'fastify';
import { createFollowUps, type SlackInteractions } from '../../channels/slack/interactions.js';
import { payloadFromForm } from '../../channels/slack/inbound.js';
import { verifySlackSignature, SLACK_MAX_SKEW_SECONDS } from '../../channels/slack/signature.js';
import type { Clock } from '../../lib/clock.js';
import { sha256Hex } from '../../lib/crypto.js';
import { isDatabaseUnavailable } from '../../lib/db-unavailable.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { ReplayGuard } from '../../features/replay/replay-guard.js';

export const SLACK_INTERACTIONS_PATH = '/webhooks/slack/interactions';
/** A view_submission carries the whole modal; a block_actions the whole message. Both stay small. */
const INTERACTION_BODY_LIMIT = 1024 * 1024;

export interface SlackWebhookOptions {
  readonly interactions: SlackInteractions;
  readonly signingSecret: string;
  readonly clock: Clock;
  readonly replay: ReplayGuard;
  readonly logger: Logger;
}

export async function slackWebhookRoutes(app: FastifyInstance, opts: SlackWebhookOptions): Promise<void> {
  const { interactions, signingSecret, clock, replay, logger } = opts;
  const followUps = createFollowUps(logger);
  app.addHook('onClose', async () => followUps.drain());
  // Slack sends only form bodies here; anything else is 415 before it is read.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'buffer', bodyLimit: INTERACTION_BODY_LIMIT },
    (_req, body, done) => done(null, body),
  );

  app.post(
    SLACK_INTERACTIONS_PATH,
    // bodyLimit on the route too: a 413 states the limit the route enforces (routeOptions.bodyLimit).
    { config: { auth: 'none' }, schema: { hide: true }, bodyLimit: INTERACTION_BODY_LIMIT },
    async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const header = (name: string) => {
        const v = request.headers[name];
        return typeof v === 'string' ? v : undefined;
      };
      const signature = header('x-slack-signature');
      const check = verifySlackSignature(
        signingSecret,
        { signature, timestamp: header('x-slack-request-timestamp') },
        raw,
        clock.now(),
      );
      if (!check.ok) {
        if (check.reason === 'mismatch')
          throw new AppError('forbidden', 'X-Slack-Signature does not match this request');
        throw new AppError(
          'unauthenticated',
          check.reason === 'stale'
            ? `X-Slack-Request-Timestamp is more than ${SLACK_MAX_SKEW_SECONDS} s from now`
            : 'missing or malformed X-Slack-Signature / X-Slack-Request-Timestamp',
        );
      }
      // A valid signature is only valid for 5 minutes; remember it for twice that.
      let fresh: boolean;
      let unavailable = false;
      try {
        fresh = await replay.claim(`slack-sig:${sha256Hex(signature!)}`, 2 * SLACK_MAX_SKEW_SECONDS * 1000);
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
        fresh = false;
        unavailable = true;
      }
      if (!fresh && !unavailable) {
        logger.warn({ channel: 'slack' }, 'replayed Slack interaction ignored');
        return reply.code(200).send();
      }
      const payload = payloadFromForm(raw.toString('utf8'));
      if (payload === undefined)
        throw new AppError('bad_request', 'expected a form body with payload=<JSON>');
      // Without the replay guard nothing is decided: the person is told to try again.
      const result = unavailable ? interactions.unavailable(payload) : await interactions.handle(payload);
      if (!result.ok) throw new AppError('bad_request', 'not a Slack interaction payload ony understands');
      followUps.run(result.followUp);
      if (result.ack === undefined) return reply.code(200).send();
      return reply.code(200).type('application/json').send(result.ack);
    },
  );
}
