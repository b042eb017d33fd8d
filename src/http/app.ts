/**
 * buildApp(deps): the HTTP face. Plugins (security headers, cookies, rate limit, OpenAPI), one
 * error handler, the auth hook, and each feature's routes. No domain services as decorators:
 * routes receive what they use.
 */
import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyBaseLogger, type RouteOptions } from 'fastify';
import type { Container } from '../container.js';
import { auditRoutes } from '../features/audit/audit.routes.js';
import { channelsRoutes } from '../features/channels/channels.routes.js';
import { channelsAdminRoutes } from '../features/channels/channels-admin.routes.js';
import { orgChannelsRoutes } from '../features/org-channels/org-channels.routes.js';
import { authRoutes } from '../features/auth/auth.routes.js';
import { lazyCompilersFactory } from './lazy-schemas.js';
import { RequestLog } from './request-log.js';
import { handoffsRoutes } from '../features/handoffs/handoffs.routes.js';
import { batchDecisionRoutes } from '../features/handoffs/batch.routes.js';
import { policiesRoutes } from '../features/policies/policies.routes.js';
import { claudeCodeRoutes } from '../features/integrations/claude-code.routes.js';
import { devicesRoutes } from '../features/devices/devices.routes.js';
import { exportRoutes } from '../features/export/export.routes.js';
import { erasureRoutes } from '../features/erasure/erasure.routes.js';
import { mailRoutes } from '../features/mail/mail.routes.js';
import { membersRoutes } from '../features/members/members.routes.js';
import { passkeysRoutes } from '../features/passkeys/passkeys.routes.js';
import { metricsRoutes, registerHttpMetrics } from '../features/metrics/metrics.routes.js';
import { retentionRoutes } from '../features/retention/retention.routes.js';
import { insightsRoutes } from '../features/insights/insights.routes.js';
import { setupRoutes } from '../features/setup/setup.routes.js';
import { ssoRoutes } from '../features/sso/sso.routes.js';
import { slackRoutes } from '../features/slack/slack.routes.js';
import { pushRoutes } from '../features/push/push.routes.js';
import { mcpRoutes } from '../integrations/mcp/mcp.routes.js';
import { AppError } from '../lib/errors.js';
import type { AppInstance } from './app-types.js';
import { registerAuth } from './plugins/auth.js';
import { registerErrorHandling } from './plugins/errors.js';
import { registerNulGuard } from './plugins/nul-characters.js';
import { rateLimitStoreFor } from './plugins/rate-limit-store.js';
import { slackWebhookRoutes } from './webhooks/slack.js';
import { telegramWebhookRoutes } from './webhooks/telegram.js';
import { telephonyWebhookRoutes } from './webhooks/telephony.js';
import { telephonyRoutes } from '../features/telephony/telephony.routes.js';
import { registerWeb } from './web.js';
import { Problem } from './schemas.js';

export type AppDeps = Pick<
  Container,
  | 'config'
  | 'logger'
  | 'database'
  | 'store'
  | 'readiness'
  | 'replay'
  | 'auth'
  | 'passkeys'
  | 'members'
  | 'retention'
  | 'insights'
  | 'devices'
  | 'setup'
  | 'revocation'
  | 'mail'
  | 'accountMail'
  | 'sso'
  | 'ssoConfig'
  | 'audit'
  | 'erasure'
  | 'handoffs'
  | 'batchDecisions'
  | 'policies'
  | 'claudeCode'
  | 'channels'
  | 'channelLinks'
  | 'dataExports'
  | 'channelsAdmin'
  | 'orgChannels'
  | 'orgChannelsRuntime'
  | 'channelActions'
  | 'telegramBot'
  | 'slackBolt'
  | 'slackInstallations'
  | 'phoneVerification'
  | 'callRecords'
  | 'telephony'
  | 'clock'
  | 'metrics'
  | 'push'
>;

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

export interface BuildOptions {
  /** Told every route as it is registered (the route catalog of docs/privacy.md). */
  readonly onRoute?: (route: RouteOptions) => void;
}

export async function buildApp(deps: AppDeps, options: BuildOptions = {}): Promise<AppInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    requestIdHeader: false, // genReqId reads and validates x-request-id itself
    genReqId: (req) => {
      const sent = req.headers['x-request-id'];
      return typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    schemaController: { compilersFactory: lazyCompilersFactory },
    return503OnClosing: true,
    logController: new RequestLog(),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onSend', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });

  registerErrorHandling(app);
  // The API speaks JSON: a text/plain body is refused (415) like one without a content type,
  // instead of reaching the schema as a string ("body must be object").
  app.removeContentTypeParser('text/plain');
  registerNulGuard(app);
  app.addSchema(Problem);
  // Before any route, so every route template is known to the HTTP metric's closed label set.
  registerHttpMetrics(app, deps.metrics);
  if (options.onRoute !== undefined) app.addHook('onRoute', options.onRoute);

  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        // The dashboard's service worker and web app manifest (docs/notifications.md): same origin only.
        workerSrc: ["'self'"],
        manifestSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    strictTransportSecurity: config.publicUrl.startsWith('https:') ? { maxAge: 31_536_000 } : false,
  });
  await app.register(cookie);
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimit.perMinute,
    timeWindow: 60_000,
    store: rateLimitStoreFor(deps.store),
    errorResponseBuilder: (_req, ctx) =>
      new AppError(
        'rate_limited',
        `rate limit of ${ctx.max} requests per minute exceeded; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
      ),
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ony',
        version: '0.1.0',
        description:
          'Human-in-the-loop approvals for AI agents. Errors are application/problem+json (RFC 9457).',
        license: { name: 'AGPL-3.0-only', url: 'https://www.gnu.org/licenses/agpl-3.0.html' },
      },
      components: {
        securitySchemes: {
          deviceToken: { type: 'http', scheme: 'bearer', description: 'an agent device token, ony_dev_…' },
          session: { type: 'apiKey', in: 'cookie', name: 'ony_session' },
        },
      },
      security: [{ session: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (json.$id as string | undefined) ?? `def-${i}`,
    },
  });
  // The swagger-ui plugin's own routes are public documentation.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...(route.config as object), auth: 'none' };
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { deepLinking: false } });

  registerAuth(app, deps);

  app.get('/openapi.json', { config: { auth: 'none' }, schema: { hide: true } }, async () => app.swagger());

  app.get(
    '/healthz',
    {
      config: { auth: 'none', rateLimit: false },
      schema: {
        tags: ['ops'],
        summary: 'Liveness',
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { auth: 'none', rateLimit: false },
      schema: {
        tags: ['ops'],
        summary: 'Readiness: the database and the ephemeral store answer, and the database is migrated',
        security: [],
        response: {
          200: Type.Object({ status: Type.Literal('ready'), database: Type.String(), store: Type.String() }),
          503: Type.Ref('Problem'),
        },
      },
    },
    async () => {
      const readiness = await deps.readiness.check();
      if (!readiness.ready) throw new AppError('not_ready', readiness.reason);
      return { status: 'ready' as const, database: deps.database.kind, store: deps.store.kind };
    },
  );

  metricsRoutes(app, { metrics: deps.metrics, config: config.metrics });

  const cookieSecure = config.cookieSecure;
  setupRoutes(app, { setup: deps.setup, cookieSecure });
  authRoutes(app, { auth: deps.auth, members: deps.members, cookieSecure });
  ssoRoutes(app, { sso: deps.sso, ssoConfig: deps.ssoConfig, cookieSecure });
  membersRoutes(app, { members: deps.members, cookieSecure });
  passkeysRoutes(app, { passkeys: deps.passkeys, auth: deps.auth, handoffs: deps.handoffs });
  pushRoutes(app, { push: deps.push });
  retentionRoutes(app, { retention: deps.retention });
  insightsRoutes(app, { insights: deps.insights });
  mailRoutes(app, { mail: deps.mail, accountMail: deps.accountMail });
  devicesRoutes(app, { devices: deps.devices });
  auditRoutes(app, { audit: deps.audit });
  exportRoutes(app, { exports: deps.dataExports });
  channelsAdminRoutes(app, { channelsAdmin: deps.channelsAdmin });
  orgChannelsRoutes(app, { orgChannels: deps.orgChannels });
  if (deps.slackInstallations !== undefined)
    slackRoutes(app, { slackInstallations: deps.slackInstallations });
  erasureRoutes(app, { erasure: deps.erasure });
  handoffsRoutes(app, {
    handoffs: deps.handoffs,
    db: deps.database.db,
    publicUrl: config.publicUrl,
    revocation: deps.revocation,
  });
  batchDecisionRoutes(app, { batch: deps.batchDecisions });
  policiesRoutes(app, { policies: deps.policies });
  claudeCodeRoutes(app, { claudeCode: deps.claudeCode, hooks: config.hooks });
  mcpRoutes(app, {
    handoffs: deps.handoffs,
    db: deps.database.db,
    publicUrl: config.publicUrl,
    logger: deps.logger,
  });
  telephonyRoutes(app, { verification: deps.phoneVerification, callRecords: deps.callRecords });
  channelsRoutes(app, {
    channels: deps.channelLinks,
    auth: deps.auth,
    telegramBotUsername: config.telegram?.botUsername,
  });
  // Raw-body parsers scoped to the plugin (signature first). The server's account's routes exist
  // only with a telephony provider; orgs' own accounts (docs/telephony.md) have their own paths, verified with their own credentials.
  await app.register(telephonyWebhookRoutes, {
    server: deps.telephony,
    org: (routeId) => deps.orgChannelsRuntime.telephonyForRoute(routeId),
    replay: deps.replay,
    clock: deps.clock,
    config,
  });
  // Only in webhook mode; its JSON parser is scoped to the plugin (the body is read after the secret check).
  // Orgs' own bots (docs/channels.md) have their own paths; in polling mode nothing is delivered.
  const serverBot = config.telegram?.mode === 'webhook' ? deps.telegramBot : undefined;
  const orgBots = config.orgChannels.telegramMode === 'webhook' ? deps.orgChannelsRuntime : undefined;
  if (serverBot !== undefined || orgBots !== undefined)
    await app.register(telegramWebhookRoutes, {
      bot: serverBot,
      orgBot: orgBots && ((routeId) => orgBots.telegramBotForRoute(routeId)),
    });
  // Only in http mode (Socket Mode needs no route); its raw-body parser is scoped to the plugin.
  if (
    deps.slackBolt?.receiver !== undefined &&
    config.slack?.signingSecret !== undefined &&
    config.slack.mode === 'http'
  )
    await app.register(slackWebhookRoutes, {
      bolt: deps.slackBolt.receiver,
      signingSecret: config.slack.signingSecret,
      clock: deps.clock,
      replay: deps.replay,
      logger: deps.logger,
    });
  // The dashboard and its single-page-app fallback (GET paths that are not the API's).
  await registerWeb(app, { webDir: config.webDir, logger: deps.logger });

  return app;
}
