/**
 * The dashboard (src/web, built by Vite to dist/web) on the same server: hashed assets with a year
 * of cache, index.html never cached, and index.html for every other GET that is not an API path
 * (the single-page app routes on the client). API, webhook and tool paths never fall back: an
 * unknown /v1/… answers the usual problem+json 404.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../lib/errors.js';

/** Paths that belong to the server, never to the single-page app. */
const SERVER_PATHS = /^\/(v1|webhooks|mcp|link|docs|openapi\.json|healthz|readyz|metrics|assets)(\/|$)/;

export const isSpaPath = (url: string): boolean => !SERVER_PATHS.test(url.split('?')[0] ?? '');

const ASSET_CACHE = 'public, max-age=31536000, immutable';

export async function registerWeb(
  app: FastifyInstance,
  deps: { webDir: string; logger: { warn(msg: string): void } },
): Promise<void> {
  const { webDir } = deps;
  const built = existsSync(join(webDir, 'index.html'));
  await app.register(async (web) => {
    // Everything here is public (the app asks the API who is signed in) and not part of the API.
    web.addHook('onRoute', (route) => {
      route.config = { ...(route.config as object), auth: 'none' };
      route.schema = { ...route.schema, hide: true };
    });
    if (!built) {
      deps.logger.warn(`no dashboard in ${webDir}: run \`npm run build\` (the API works without it)`);
      web.get('/', async () => {
        throw new AppError('not_found', 'the dashboard is not built: run `npm run build`');
      });
      return;
    }
    await web.register(fastifyStatic, {
      root: webDir,
      wildcard: false, // one route per built file; the SPA fallback below handles the rest
      index: false,
      cacheControl: false,
      setHeaders: (res, path) => {
        res.setHeader('cache-control', path.includes('/assets/') ? ASSET_CACHE : 'no-store');
      },
    });
    const sendIndex = (reply: FastifyReply) => {
      void reply.header('cache-control', 'no-store');
      return reply.sendFile('index.html', { cacheControl: false });
    };
    web.get('/', async (_req, reply) => sendIndex(reply));
    web.get('/*', async (req, reply) => {
      if (!isSpaPath(req.url)) throw new AppError('not_found', `no route for GET ${req.url.split('?')[0]}`);
      return sendIndex(reply);
    });
  });
}
