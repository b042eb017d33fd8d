/**
 * Authentication on every route, decided by route config before the body is parsed:
 *   auth: 'none'    public (health, setup, login, invite acceptance)
 *   auth: 'session' the dashboard session cookie; writes also need the X-CSRF-Token header
 *   auth: 'device'  an agent's `Authorization: Bearer ony_dev_…`
 * and `role` (viewer < member < admin) for session routes. A route without config is refused.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Role } from '../../db/schema.js';
import { safeEqual } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { csrfTokenFor, type AuthService } from '../../features/auth/auth.service.js';
import type { DevicesService } from '../../features/devices/devices.service.js';
import { roleAtLeast, type Principal } from '../../features/auth/principal.js';
import { BEARER } from './errors.js';

export const SESSION_COOKIE = 'ony_session';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** 'agent-or-member': a device bearer token when one is sent, else the session cookie. */
    auth?: 'none' | 'session' | 'device' | 'agent-or-member';
    role?: Role;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function registerAuth(
  app: FastifyInstance,
  deps: { auth: Pick<AuthService, 'resolveSession'>; devices: Pick<DevicesService, 'authenticate'> },
): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    // Unknown routes reach the not-found handler, which needs no principal.
    if (request.routeOptions.url === undefined) return;
    const mode =
      config.auth === 'agent-or-member'
        ? request.headers.authorization !== undefined
          ? 'device'
          : 'session'
        : config.auth;
    if (mode === 'none') return;
    if (mode === 'device') {
      const header = request.headers.authorization ?? '';
      const match = /^Bearer (\S+)$/.exec(header);
      if (!match) throw new AppError('unauthenticated', 'send Authorization: Bearer <device token>');
      try {
        request.principal = await deps.devices.authenticate(match[1]!);
      } catch (err) {
        // A token was sent and refused: say so in the challenge (RFC 6750 §3.1), so a client (an
        // MCP client on /mcp, say) knows a new token is needed rather than a missing one.
        if (err instanceof AppError && err.status === 401) {
          void reply.header('www-authenticate', `${BEARER}, error="invalid_token"`);
        }
        throw err;
      }
      return;
    }
    if (mode === 'session') {
      const token = request.cookies[SESSION_COOKIE];
      if (token === undefined || token === '') throw new AppError('unauthenticated', 'sign in first');
      const principal = await deps.auth.resolveSession(token);
      if (!SAFE_METHODS.has(request.method)) {
        const sent = request.headers['x-csrf-token'];
        if (typeof sent !== 'string' || !safeEqual(sent, csrfTokenFor(token))) {
          throw new AppError('csrf_failed', 'send the X-CSRF-Token header from GET /v1/auth/session');
        }
      }
      if (config.role !== undefined && !roleAtLeast(principal.role, config.role)) {
        throw new AppError('forbidden', `this needs the ${config.role} role`);
      }
      request.principal = principal;
      return;
    }
    // Fail closed: a route that forgot to declare its auth is not reachable.
    throw new AppError('internal', `route ${request.routeOptions.url} declares no auth mode`);
  });
}

export function memberOf(request: FastifyRequest): Principal & { kind: 'member' } {
  const p = request.principal;
  if (p === null || p.kind !== 'member') throw new AppError('unauthenticated', 'sign in first');
  return p;
}

export function deviceOf(request: FastifyRequest): Principal & { kind: 'device' } {
  const p = request.principal;
  if (p === null || p.kind !== 'device') throw new AppError('unauthenticated', 'device token required');
  return p;
}
