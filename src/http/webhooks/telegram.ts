/**
 * POST /webhooks/telegram: where Telegram delivers updates in webhook mode; POST
 * /webhooks/telegram/o/<route id>: where an org's own bot's updates arrive (docs/channels.md), each
 * with that bot's own secret token. An unknown route id answers like a wrong secret (403), so the
 * path tells nobody which orgs have a bot. The
 * X-Telegram-Bot-Api-Secret-Token header is compared in constant time with the configured secret
 * before the body is even read (an onRequest hook); a missing header answers 401, a wrong one 403,
 * and nothing is parsed or changed. The body is parsed here (a content-type parser scoped to this
 * plugin), so a malformed one answers 400 without touching the rest of the app.
 */
import type { FastifyInstance } from 'fastify';
import { WEBHOOK_PATH, type TelegramBot } from '../../channels/telegram/bot.js';
import { SECRET_HEADER, secretTokenMatches } from '../../channels/telegram/secret.js';
import { AppError } from '../../lib/errors.js';

/** Telegram updates are small; a photo caption or a long message is well under this. */
const UPDATE_BODY_LIMIT = 256 * 1024;

type Bot = Pick<TelegramBot, 'handleUpdate' | 'webhookSecret'>;

export async function telegramWebhookRoutes(
  app: FastifyInstance,
  opts: {
    /** The server-wide bot (ONY_TELEGRAM_*), when configured in webhook mode. */
    bot?: Bot | undefined;
    /** Each org's own bot by the route id in its webhook path. */
    orgBot?: ((routeId: string) => Promise<Bot | undefined>) | undefined;
  },
): Promise<void> {
  // JSON only (what Telegram sends), kept as text until the handler parses it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: UPDATE_BODY_LIMIT },
    (_req, body, done) => done(null, body),
  );

  const botOf = new WeakMap<object, Bot>();

  function register(path: string, find: (routeId: string | undefined) => Promise<Bot | undefined>) {
    app.post(
      path,
      {
        config: { auth: 'none' },
        schema: { hide: true },
        bodyLimit: UPDATE_BODY_LIMIT, // as its parser's: the limit a 413 states (routeOptions.bodyLimit)
        onRequest: async (request) => {
          const sent = request.headers[SECRET_HEADER];
          if (sent === undefined)
            throw new AppError('unauthenticated', 'missing X-Telegram-Bot-Api-Secret-Token header');
          const routeId = (request.params as { routeId?: string } | undefined)?.routeId;
          const bot = await find(routeId);
          if (bot === undefined || !secretTokenMatches(bot.webhookSecret, sent))
            throw new AppError('forbidden', 'X-Telegram-Bot-Api-Secret-Token does not match');
          botOf.set(request, bot);
        },
      },
      async (request, reply) => {
        const bot = botOf.get(request)!;
        let update: unknown;
        try {
          update = JSON.parse(typeof request.body === 'string' ? request.body : '');
        } catch {
          throw new AppError('bad_request', 'the body is not JSON');
        }
        const outcome = await bot.handleUpdate(update);
        if (outcome === 'malformed') throw new AppError('bad_request', 'the body is not a Telegram update');
        // No `method` field: Telegram reads a webhook answer with one as a Bot API call.
        return reply.code(200).send({ ok: true });
      },
    );
  }

  const { bot, orgBot } = opts;
  if (bot !== undefined) register(WEBHOOK_PATH, async () => bot);
  if (orgBot !== undefined)
    register(`${WEBHOOK_PATH}/o/:routeId`, async (routeId) =>
      routeId === undefined ? undefined : orgBot(routeId),
    );
}
