import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { deviceOf, memberOf } from '../../http/plugins/auth.js';
import { DateTime, IdParams, NullableDateTime, problemResponses, Uuid } from '../../http/schemas.js';
import type { Device } from './devices.repository.js';
import type { DevicesService } from './devices.service.js';

const DeviceName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const DeviceView = Type.Object({
  id: Uuid,
  name: Type.String(),
  token_hint: Type.String(),
  created_by: Uuid,
  created_at: DateTime,
  last_seen_at: NullableDateTime,
  revoked_at: NullableDateTime,
});
const view = (d: Device) => ({
  id: d.id,
  name: d.name,
  token_hint: d.tokenHint,
  created_by: d.createdBy,
  created_at: d.createdAt.toISOString(),
  last_seen_at: d.lastSeenAt?.toISOString() ?? null,
  revoked_at: d.revokedAt?.toISOString() ?? null,
});

export function devicesRoutes(app: AppInstance, deps: { devices: DevicesService }) {
  const { devices } = deps;
  const tags = ['devices'];

  app.get(
    '/v1/devices',
    {
      config: { auth: 'session', role: 'viewer' },
      schema: {
        tags,
        summary: "The org's device names (for the dashboard's queue and filters; no tokens, no dates)",
        response: {
          200: Type.Array(Type.Object({ id: Uuid, name: Type.String(), revoked: Type.Boolean() })),
          ...problemResponses,
        },
      },
    },
    async (req) =>
      (await devices.list(memberOf(req))).map((d) => ({
        id: d.id,
        name: d.name,
        revoked: d.revokedAt !== null,
      })),
  );

  app.get(
    '/v1/admin/devices',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'Agent devices and when each was last seen',
        response: { 200: Type.Array(DeviceView), ...problemResponses },
      },
    },
    async (req) => (await devices.list(memberOf(req))).map(view),
  );

  app.post(
    '/v1/admin/devices',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary:
          'Create a device; its token and callback signing secret are answered this once and never again',
        body: Type.Object({ name: DeviceName }, { additionalProperties: false }),
        response: {
          201: Type.Object({ device: DeviceView, token: Type.String(), webhook_secret: Type.String() }),
          ...problemResponses,
        },
      },
    },
    async (req, reply) => {
      const r = await devices.create(memberOf(req), req.body.name);
      return reply
        .status(201)
        .send({ device: view(r.device), token: r.token, webhook_secret: r.webhookSecret });
    },
  );

  app.post(
    '/v1/admin/devices/:id/webhook-secret',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: "Replace the secret that signs this device's callbacks (Standard Webhooks); answered once",
        params: IdParams,
        response: { 200: Type.Object({ webhook_secret: Type.String() }), ...problemResponses },
      },
    },
    async (req) => ({ webhook_secret: await devices.rotateWebhookSecret(memberOf(req), req.params.id) }),
  );

  app.patch(
    '/v1/admin/devices/:id',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'Rename a device',
        params: IdParams,
        body: Type.Object({ name: DeviceName }, { additionalProperties: false }),
        response: { 200: DeviceView, ...problemResponses },
      },
    },
    async (req) => view(await devices.rename(memberOf(req), req.params.id, req.body.name)),
  );

  app.delete(
    '/v1/admin/devices/:id',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary:
          'Revoke a device: its token stops working at once, and its open long-polls and event streams close',
        params: IdParams,
        response: { 200: DeviceView, ...problemResponses },
      },
    },
    async (req) => view(await devices.revoke(memberOf(req), req.params.id)),
  );

  app.get(
    '/v1/agent/whoami',
    {
      config: { auth: 'device' },
      schema: {
        tags: ['agent'],
        summary: 'Which device and org a device token belongs to',
        security: [{ deviceToken: [] }],
        response: { 200: Type.Object({ org_id: Uuid, device: DeviceView }), ...problemResponses },
      },
    },
    async (req) => {
      const p = deviceOf(req);
      return { org_id: p.orgId, device: view(await devices.get(p, p.deviceId)) };
    },
  );
}
