/**
 * Slack's Request URLs in http mode, feeding the Bolt app through its custom receiver (bolt.ts):
 *   POST /webhooks/slack/interactions  interactivity (button clicks, modal submissions), form body
 *   POST /webhooks/slack/events        Events API (app_uninstalled, tokens_revoked), JSON body
 * The body is read as raw bytes (content-type parsers scoped to this plugin) and its v0 signature
 * checked against the signing secret, timestamp within 5 minutes, in constant time, before any of it
 * is parsed; a missing or stale signature answers 401, a wrong one 403, and nothing changes. A signed
 * request seen before (a replay) is acknowledged and ignored: its signature is claimed in the durable
 * replay guard (Postgres) for twice the timestamp window, so a replay is refused even after the
 * ephemeral store was wiped. Bolt acknowledges first; replies to the person (ephemeral messages, the
 * TOTP modal) follow it, as Slack asks for an answer within 3 seconds.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SlackDispatch } from '../../channels/slack/bolt.js';
import { parseInteraction, payloadFromForm } from '../../channels/slack/inbound.js';
import { verifySlackSignature, SLACK_MAX_SKEW_SECONDS } from '../../channels/slack/signature.js';
import type { Clock } from '../../lib/clock.js';
import { sha256Hex } from '../../lib/crypto.js';
import { isDatabaseUnavailable } from '../../lib/db-unavailable.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { ReplayGuard } from '../../features/replay/replay-guard.js';

export const SLACK_INTERACTIONS_PATH = '/webhooks/slack/interactions';
export const SLACK_EVENTS_PATH = '/webhooks/slack/events';
/** A view_submission carries the whole modal; a block_actions the whole message. Both stay small. */
const INTERACTION_BODY_LIMIT = 1024 * 1024;

export interface SlackWebhookOptions {
  readonly bolt: SlackDispatch;
  readonly signingSecret: string;
  readonly clock: Clock;
  readonly replay: ReplayGuard;
  readonly logger: Logger;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function slackWebhookRoutes(app: FastifyInstance, opts: SlackWebhookOptions): Promise<void> {
  const { bolt, signingSecret, clock, replay, logger } = opts;
  // Slack sends form bodies (interactions) and JSON (events) here; anything else is 415 before it is read.
  app.removeAllContentTypeParsers();
  for (const type of ['application/x-www-form-urlencoded', 'application/json'])
    app.addContentTypeParser(
      type,
      { parseAs: 'buffer', bodyLimit: INTERACTION_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );

  /**
   * Verifies the signature and claims it once. Answers the raw body, and whether the replay guard
   * was unavailable (then nothing may be decided); undefined for a replay (acknowledge, ignore).
   */
  async function verified(
    request: FastifyRequest,
  ): Promise<{ raw: Buffer; unavailable: boolean } | undefined> {
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
    try {
      const fresh = await replay.claim(
        `slack-sig:${sha256Hex(signature!)}`,
        2 * SLACK_MAX_SKEW_SECONDS * 1000,
      );
      if (!fresh) {
        logger.warn({ channel: 'slack' }, 'replayed Slack interaction ignored');
        return undefined;
      }
      return { raw, unavailable: false };
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      return { raw, unavailable: true };
    }
  }

  app.post(
    SLACK_INTERACTIONS_PATH,
    // bodyLimit on the route too: a 413 states the limit the route enforces (routeOptions.bodyLimit).
    { config: { auth: 'none' }, schema: { hide: true }, bodyLimit: INTERACTION_BODY_LIMIT },
    async (request, reply) => {
      if (request.headers['content-type']?.startsWith('application/x-www-form-urlencoded') !== true)
        throw new AppError('unsupported_media_type', 'Slack interactions are form bodies (payload=<JSON>)');
      const v = await verified(request);
      if (v === undefined) return reply.code(200).send();
      const payload = payloadFromForm(v.raw.toString('utf8'));
      if (payload === undefined)
        throw new AppError('bad_request', 'expected a form body with payload=<JSON>');
      if (!isObj(payload) || parseInteraction(payload) === undefined)
        throw new AppError('bad_request', 'not a Slack interaction payload ony understands');
      const ack = await bolt.dispatch(payload, { unavailable: v.unavailable });
      if (ack === undefined) return reply.code(200).send();
      return reply.code(200).type('application/json').send(ack);
    },
  );

  app.post(
    SLACK_EVENTS_PATH,
    { config: { auth: 'none' }, schema: { hide: true }, bodyLimit: INTERACTION_BODY_LIMIT },
    async (request, reply) => {
      if (request.headers['content-type']?.startsWith('application/json') !== true)
        throw new AppError('unsupported_media_type', 'Slack events are JSON bodies');
      const v = await verified(request);
      if (v === undefined) return reply.code(200).send();
      let body: unknown;
      try {
        body = JSON.parse(v.raw.toString('utf8'));
      } catch {
        throw new AppError('bad_request', 'expected a JSON body');
      }
      if (!isObj(body) || typeof body.type !== 'string')
        throw new AppError('bad_request', 'not a Slack event ony understands');
      // Slack checks the Request URL with a challenge when an admin saves it in the app settings.
      if (body.type === 'url_verification') {
        if (typeof body.challenge !== 'string' || body.challenge.length > 200)
          throw new AppError('bad_request', 'url_verification without a challenge');
        return reply.code(200).type('application/json').send({ challenge: body.challenge });
      }
      if (body.type !== 'event_callback') return reply.code(200).send();
      if (v.unavailable) throw new AppError('unavailable', 'the database is unavailable; Slack retries');
      // Answered once the installation is gone (Slack retries a failed delivery).
      await bolt.dispatch(body, { untilDone: true });
      return reply.code(200).send();
    },
  );
}
