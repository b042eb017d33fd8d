import { parse as parseForm } from 'node:querystring';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf, SESSION_COOKIE } from '../../http/plugins/auth.js';
import { DateTime, problemResponses, Uuid } from '../../http/schemas.js';
import { safeEqual } from '../../lib/crypto.js';
import { escapeHtml } from '../../core/html.js';
import { AppError } from '../../lib/errors.js';
import { csrfTokenFor, type AuthService } from '../auth/auth.service.js';
import type { ChannelLink } from './channels.repository.js';
import type { ChannelsService } from './channels.service.js';

const LinkView = Type.Object({
  id: Uuid,
  member_id: Uuid,
  channel: Type.Union([Type.Literal('slack'), Type.Literal('telegram')]),
  external_id: Type.String(),
  label: Type.String(),
  created_at: DateTime,
});
const view = (l: ChannelLink) => ({
  id: l.id,
  member_id: l.memberId,
  channel: l.channel,
  external_id: l.externalId,
  label: l.label,
  created_at: l.createdAt.toISOString(),
});
const LinkParams = Type.Object({ id: Uuid });
const MemberLinkParams = Type.Object({ id: Uuid, linkId: Uuid });
const ChannelName = Type.Union([Type.Literal('slack'), Type.Literal('telegram')]);

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · ony</title></head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;

export function channelsRoutes(
  app: AppInstance,
  deps: {
    channels: ChannelsService;
    auth: Pick<AuthService, 'resolveSession'>;
    telegramBotUsername: string | undefined;
  },
) {
  const { channels, auth } = deps;
  const tags = ['channel links'];

  app.get(
    '/v1/me/channel-links',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'The chat identities linked to my account (Slack, Telegram)',
        response: { 200: Type.Array(LinkView), ...problemResponses },
      },
    },
    async (req) => (await channels.listLinks(memberOf(req))).map(view),
  );

  app.post(
    '/v1/me/channel-links/codes',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'A one-time code (15 minutes) to link a chat identity: send `/start <code>` to the bot',
        body: Type.Object({ channel: ChannelName }, { additionalProperties: false }),
        response: {
          201: Type.Object({
            channel: ChannelName,
            code: Type.String(),
            expires_at: DateTime,
            /** Telegram, when the bot's username is configured: opens the bot with `/start <code>`. */
            deep_link: Type.Union([Type.String(), Type.Null()]),
          }),
          ...problemResponses,
        },
      },
    },
    async (req, reply) => {
      const c = await channels.createLinkCode(memberOf(req), req.body.channel);
      reply.code(201);
      const bot = deps.telegramBotUsername;
      return {
        channel: c.channel,
        code: c.code,
        expires_at: c.expiresAt.toISOString(),
        deep_link:
          c.channel === 'telegram' && bot !== undefined ? `https://t.me/${bot}?start=${c.code}` : null,
      };
    },
  );

  app.delete(
    '/v1/me/channel-links/:id',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Unlink one of my chat identities',
        params: LinkParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      const p = memberOf(req);
      await channels.unlink(p, p.memberId, req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/admin/members/:id/channel-links',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: "A member's linked chat identities",
        params: LinkParams,
        response: { 200: Type.Array(LinkView), ...problemResponses },
      },
    },
    async (req) => (await channels.listLinks(memberOf(req), req.params.id)).map(view),
  );

  app.delete(
    '/v1/admin/members/:id/channel-links/:linkId',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: "Unlink a member's chat identity",
        params: MemberLinkParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await channels.unlink(memberOf(req), req.params.id, req.params.linkId);
      return reply.status(204).send(null);
    },
  );

  // The one-time claim link a bot gives an unlinked person: a plain page (no script) where the
  // signed-in member confirms with a form; the form carries the session's CSRF token.
  void app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_req, body, done) => done(null, parseForm(body as string)),
    );
    const Token = Type.Object({ token: Type.String({ minLength: 1, maxLength: 100 }) });

    scope.get(
      '/link/:token',
      { config: { auth: 'none' }, schema: { hide: true, params: Token } },
      async (req, reply) => {
        reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
        const claim = await channels.peekClaim(req.params.token);
        if (claim === undefined) {
          reply.code(410);
          return page(
            'Link expired',
            '<p>This link is unknown, expired or already used. Ask the bot again.</p>',
          );
        }
        const session = req.cookies[SESSION_COOKIE];
        const who =
          session !== undefined ? await auth.resolveSession(session).catch(() => undefined) : undefined;
        const what = `${claim.channel === 'slack' ? 'Slack' : 'Telegram'} account ${escapeHtml(claim.label)}`;
        if (who === undefined || session === undefined) {
          return page(
            'Sign in first',
            `<p>Sign in to ony in this browser, then open this link again to connect the ${what}.</p>`,
          );
        }
        return page(
          'Connect your account',
          `<p>Connect the ${what} to your ony account? Approvals you make there will be recorded as yours.</p>` +
            `<form method="post" action="/link/${escapeHtml(req.params.token)}">` +
            `<input type="hidden" name="csrf" value="${escapeHtml(csrfTokenFor(session))}">` +
            `<button type="submit">Connect</button></form>`,
        );
      },
    );

    scope.post(
      '/link/:token',
      {
        config: { auth: 'none' },
        bodyLimit: 4096, // as its parser's: the limit a 413 states
        schema: {
          hide: true,
          params: Token,
          body: Type.Object({ csrf: Type.String({ maxLength: 200 }) }),
        },
      },
      async (req, reply) => {
        reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
        const session = req.cookies[SESSION_COOKIE];
        if (session === undefined) throw new AppError('unauthenticated', 'sign in first');
        const p = await auth.resolveSession(session);
        if (!safeEqual(req.body.csrf, csrfTokenFor(session))) throw new AppError('csrf_failed');
        const link = await channels.confirmClaim(p, req.params.token);
        return page(
          'Connected',
          `<p>Your ${link.channel === 'slack' ? 'Slack' : 'Telegram'} account ${escapeHtml(link.label)} is now linked. You can close this page.</p>`,
        );
      },
    );
  });
}
