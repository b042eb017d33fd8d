import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { problemResponses } from '../../http/schemas.js';
import type { RetentionService } from './retention.service.js';

const RetentionView = Type.Object({ payload_retention_days: Type.Integer() });

export function retentionRoutes(app: AppInstance, deps: { retention: RetentionService }) {
  const { retention } = deps;
  const tags = ['privacy'];

  app.get(
    '/v1/admin/retention',
    {
      config: { auth: 'session', role: 'viewer' },
      schema: {
        tags,
        summary: 'How long decided and expired handoffs keep their payload (days; 0: never stored)',
        response: { 200: RetentionView, ...problemResponses },
      },
    },
    async (req) => retention.getSetting(memberOf(req)),
  );

  app.put(
    '/v1/admin/retention',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'Set the payload retention window: a whole number of days from 0 to 365 (422 otherwise)',
        // The range is checked by the service so that an out-of-range value is a 422, not a 400.
        body: Type.Object({ payload_retention_days: Type.Unknown() }, { additionalProperties: false }),
        response: { 200: RetentionView, ...problemResponses },
      },
    },
    async (req) => retention.setSetting(memberOf(req), req.body.payload_retention_days),
  );
}
