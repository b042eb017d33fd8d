import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { DateTime, problemResponses, Uuid } from '../../http/schemas.js';
import type { Erasure } from './erasure.repository.js';
import { ERASURE_GRACE_DAYS, type ErasureService } from './erasure.service.js';

const ErasureView = Type.Object({
  id: Uuid,
  requested_by: Uuid,
  requested_at: DateTime,
  erase_at: DateTime,
});
const erasureView = (e: Erasure) => ({
  id: e.id,
  requested_by: e.requestedBy,
  requested_at: e.requestedAt.toISOString(),
  erase_at: e.eraseAt.toISOString(),
});

export function erasureRoutes(app: AppInstance, deps: { erasure: ErasureService }) {
  const { erasure } = deps;
  const tags = ['org'];

  app.get(
    '/v1/admin/org/erasure',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'The scheduled erasure of the organization, if any',
        response: {
          200: Type.Object({ scheduled: Type.Union([ErasureView, Type.Null()]) }),
          ...problemResponses,
        },
      },
    },
    async (req) => {
      const e = await erasure.status(memberOf(req));
      return { scheduled: e === undefined ? null : erasureView(e) };
    },
  );

  app.post(
    '/v1/admin/org/erasure',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: `Schedule the erasure of the whole organization in ${ERASURE_GRACE_DAYS} days (password, TOTP and the org name typed back)`,
        body: Type.Object(
          {
            password: Type.String({ minLength: 1, maxLength: 1024 }),
            totp_code: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            org_name: Type.String({ minLength: 1, maxLength: 200 }),
          },
          { additionalProperties: false },
        ),
        response: { 202: ErasureView, ...problemResponses },
      },
    },
    async (req, reply) => {
      const e = await erasure.request(memberOf(req), {
        password: req.body.password,
        totpCode: req.body.totp_code,
        orgName: req.body.org_name,
      });
      return reply.status(202).send(erasureView(e));
    },
  );

  app.delete(
    '/v1/admin/org/erasure',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'Cancel the scheduled erasure (any admin)',
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await erasure.cancel(memberOf(req));
      return reply.status(204).send(null);
    },
  );
}
