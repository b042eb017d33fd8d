/**
 * Notification routes (docs/notifications.md): a member's notification levels, the VAPID public key
 * a browser subscribes with, and the member's own Web Push subscriptions. Session only, role member
 * (viewers cannot decide, so nothing notifies them).
 */
import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { problemResponses } from '../../http/schemas.js';
import type { NotificationSettings, PushService } from './push.service.js';

const Level = Type.String({ maxLength: 16 });
const Settings = Type.Object({
  levels: Type.Array(Level),
  web_push: Type.Boolean({
    description:
      'whether this server pushes to phones (ONY_WEB_PUSH); notifications with the tab open work either way',
  }),
  vapid_public_key: Type.String({ description: 'the applicationServerKey to subscribe with (base64url)' }),
  subscriptions: Type.Integer({ description: 'how many browsers of yours receive pushes' }),
});
const Endpoint = Type.String({ minLength: 1, maxLength: 2048 });
const Subscription = Type.Object(
  {
    endpoint: Endpoint,
    expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
    keys: Type.Object(
      {
        p256dh: Type.String({ minLength: 1, maxLength: 200 }),
        auth: Type.String({ minLength: 1, maxLength: 100 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

const view = (s: NotificationSettings) => ({
  levels: [...s.levels],
  web_push: s.webPush,
  vapid_public_key: s.vapidPublicKey,
  subscriptions: s.subscriptions,
});

export function pushRoutes(
  app: AppInstance,
  deps: { push: Pick<PushService, 'settings' | 'setLevels' | 'subscribe' | 'unsubscribe'> },
) {
  const { push } = deps;
  const tags = ['notifications'];
  const config = { auth: 'session', role: 'member' } as const;

  app.get(
    '/v1/me/notifications',
    {
      config,
      schema: {
        tags,
        summary: 'Which risk levels of new handoffs notify you, and the key to subscribe to Web Push with',
        response: { 200: Settings, ...problemResponses },
      },
    },
    async (req) => view(await push.settings(memberOf(req))),
  );

  app.put(
    '/v1/me/notifications',
    {
      config,
      schema: {
        tags,
        summary: 'Choose the risk levels (high, critical) of new handoffs that notify you; [] for none',
        body: Type.Object({ levels: Type.Array(Level, { maxItems: 4 }) }, { additionalProperties: false }),
        response: { 200: Settings, ...problemResponses },
      },
    },
    async (req) => view(await push.setLevels(memberOf(req), req.body.levels)),
  );

  app.post(
    '/v1/me/push-subscriptions',
    {
      config,
      schema: {
        tags,
        summary: "Receive Web Push on this browser (the body is the browser's PushSubscription.toJSON())",
        body: Subscription,
        response: { 201: Type.Object({ id: Type.String() }), ...problemResponses },
      },
    },
    async (req, reply) => {
      const { endpoint, keys } = req.body;
      const created = await push.subscribe(memberOf(req), { endpoint, keys });
      return reply.code(201).send(created);
    },
  );

  app.delete(
    '/v1/me/push-subscriptions',
    {
      config,
      schema: {
        tags,
        summary:
          'Stop Web Push on a browser of yours (by its endpoint); no such subscription is not an error',
        body: Type.Object({ endpoint: Endpoint }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await push.unsubscribe(memberOf(req), req.body.endpoint);
      return reply.code(204).send(null);
    },
  );
}
