/**
 * The `/metrics` exposition (Prometheus text format) and the per-request HTTP metric. Off by
 * default: on the main listener only when ONY_METRICS_TOKEN is set and no separate address is
 * (then a bearer token is required); on ONY_METRICS_LISTEN, a plain node:http server that answers
 * `GET /metrics` only (with the token too when one is set).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { safeEqual } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import type { Metrics } from './metrics.js';

export interface MetricsRouteConfig {
  readonly token: string | undefined;
  readonly listen: { readonly host: string; readonly port: number } | undefined;
}

function bearerOk(header: string | string[] | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  if (typeof header !== 'string') return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m !== null && safeEqual(m[1]!, token);
}

/**
 * Counts every request by route template (one the server registered, else `unmatched`), method
 * and status class. Call before any route is registered, so every template is known.
 */
export function registerHttpMetrics(
  app: FastifyInstance,
  metrics: Pick<Metrics, 'routes' | 'httpRequest'>,
): void {
  app.addHook('onRoute', (route) => {
    metrics.routes.add(route.url);
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.httpRequest(req.method, req.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
  });
}

/** `/metrics` on the main listener, when configured there. */
export function metricsRoutes(
  app: FastifyInstance,
  deps: { metrics: Pick<Metrics, 'render' | 'contentType'>; config: MetricsRouteConfig },
): void {
  const { token, listen } = deps.config;
  if (token === undefined || listen !== undefined) return;
  app.get(
    '/metrics',
    { config: { auth: 'none', rateLimit: false }, schema: { hide: true } },
    async (req, reply) => {
      if (!bearerOk(req.headers.authorization, token)) {
        void reply.header('www-authenticate', 'Bearer realm="metrics"');
        throw new AppError('unauthenticated', 'send the metrics token as Authorization: Bearer <token>');
      }
      return reply.type(deps.metrics.contentType).send(await deps.metrics.render());
    },
  );
}

/** The separate metrics listener (ONY_METRICS_LISTEN); answers the server to close. */
export async function startMetricsListener(
  metrics: Pick<Metrics, 'render' | 'contentType'>,
  config: MetricsRouteConfig & { readonly listen: NonNullable<MetricsRouteConfig['listen']> },
): Promise<Server> {
  const handle = async (req: IncomingMessage): Promise<[number, string, string]> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return [404, 'text/plain; charset=utf-8', 'not found\n'];
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return [405, 'text/plain; charset=utf-8', 'GET only\n'];
    if (!bearerOk(req.headers.authorization, config.token))
      return [401, 'text/plain; charset=utf-8', 'send the metrics token as Authorization: Bearer <token>\n'];
    return [200, metrics.contentType, await metrics.render()];
  };
  const server = createServer((req, res) => {
    handle(req).then(
      ([status, type, body]) => {
        res.writeHead(status, {
          'content-type': type,
          ...(status === 401 && { 'www-authenticate': 'Bearer realm="metrics"' }),
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('metrics unavailable\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
