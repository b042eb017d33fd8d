import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { problemResponses } from '../../http/schemas.js';
import type { ChannelsAdminService } from './channels-admin.service.js';

const ChannelStatusView = Type.Object({
  name: Type.String(),
  configured: Type.Boolean(),
  transmits: Type.Array(Type.String()),
  health: Type.Union([Type.Object({ ok: Type.Boolean(), detail: Type.String() }), Type.Null()]),
});

export function channelsAdminRoutes(app: AppInstance, deps: { channelsAdmin: ChannelsAdminService }) {
  const { channelsAdmin } = deps;
  const tags = ['channels'];

  app.get(
    '/v1/admin/channels',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary:
          'Every channel a policy step may name: configured or not, the fields it transmits, its health',
        response: { 200: Type.Array(ChannelStatusView), ...problemResponses },
      },
    },
    async (req) => channelsAdmin.list(memberOf(req).orgId),
  );

  app.post(
    '/v1/admin/channels/:name/test',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary:
          'Send a test message (marked as a test, fake gist, no buttons) to your own identity on this channel only; audited, 5 per 10 minutes',
        params: Type.Object({ name: Type.String({ pattern: '^[a-z0-9_-]{1,32}$' }) }),
        response: {
          200: Type.Object({
            channel: Type.String(),
            ok: Type.Boolean(),
            sent: Type.Integer(),
            detail: Type.String(),
          }),
          ...problemResponses,
        },
      },
    },
    async (req) => channelsAdmin.sendTest(memberOf(req), req.params.name),
  );
}
