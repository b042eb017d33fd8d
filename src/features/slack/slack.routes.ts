/**
 * The org's own Slack workspace (docs/channels.md): its status (own installation or the server's
 * default bot), "Add to Slack" (Slack's OAuth v2 install, state bound to the admin's session), the
 * callback Slack sends the browser back to, and uninstall. The bot token is never answered back.
 */
import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { DateTime, problemResponses } from '../../http/schemas.js';
import {
  SLACK_OAUTH_CALLBACK_PATH,
  type SlackInstallationsService,
  type SlackInstallationStatus,
} from './slack-installations.service.js';

const StatusView = Type.Object({
  source: Type.Union([Type.Literal('own'), Type.Literal('server'), Type.Literal('none')]),
  team_id: Type.Union([Type.String(), Type.Null()]),
  team_name: Type.Union([Type.String(), Type.Null()]),
  channel_id: Type.Union([Type.String(), Type.Null()]),
  installed_at: Type.Union([DateTime, Type.Null()]),
  install_available: Type.Boolean(),
});

const view = (s: SlackInstallationStatus) => ({
  source: s.source,
  team_id: s.teamId,
  team_name: s.teamName,
  channel_id: s.channelId,
  installed_at: s.installedAt?.toISOString() ?? null,
  install_available: s.installAvailable,
});

export function slackRoutes(app: AppInstance, deps: { slackInstallations: SlackInstallationsService }) {
  const { slackInstallations } = deps;
  const tags = ['channels'];

  app.get(
    '/v1/admin/channels/slack/installation',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: "Whether this org uses its own Slack workspace or the server's default bot (never a token)",
        response: { 200: StatusView, ...problemResponses },
      },
    },
    async (req) => view(await slackInstallations.status(memberOf(req))),
  );

  app.post(
    '/v1/admin/channels/slack/install',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary:
          'Start "Add to Slack": answers Slack\'s authorize URL, with a single-use state bound to this session (10 minutes)',
        response: {
          200: Type.Object({ url: Type.String(), expires_at: DateTime }),
          ...problemResponses,
        },
      },
    },
    async (req) => {
      const r = await slackInstallations.startInstall(memberOf(req));
      return { url: r.url, expires_at: r.expiresAt.toISOString() };
    },
  );

  app.get(
    SLACK_OAUTH_CALLBACK_PATH,
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary:
          'Where Slack sends the admin back after the install: stores the installation, then redirects to the channels page',
        querystring: Type.Object(
          {
            code: Type.Optional(Type.String({ maxLength: 500 })),
            state: Type.Optional(Type.String({ maxLength: 200 })),
            error: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 302: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await slackInstallations.completeInstall(memberOf(req), req.query);
      return reply.redirect('/admin/channels?slack=installed', 302);
    },
  );

  app.delete(
    '/v1/admin/channels/slack/installation',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary:
          "Uninstall the org's own Slack workspace (its bot token is revoked and deleted); the server default applies again",
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await slackInstallations.uninstall(memberOf(req));
      return reply.status(204).send(null);
    },
  );
}
