import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { Email, Name, Password, problemResponses, SessionAnswer } from '../../http/schemas.js';
import { setSessionCookie } from '../auth/auth.routes.js';
import type { SetupService } from './setup.service.js';

export function setupRoutes(app: AppInstance, deps: { setup: SetupService; cookieSecure: boolean }) {
  const { setup, cookieSecure } = deps;
  const tags = ['setup'];

  app.get(
    '/v1/setup',
    {
      config: { auth: 'none' },
      schema: {
        tags,
        summary: 'Whether first-run setup is still needed',
        response: { 200: Type.Object({ needed: Type.Boolean() }) },
      },
    },
    async () => ({ needed: !(await setup.orgExists()) }),
  );

  app.post(
    '/v1/setup',
    {
      config: { auth: 'none', rateLimit: { max: 10, timeWindow: 60_000 } },
      schema: {
        tags,
        summary: 'Create the organization and its first admin with the one-time setup token',
        body: Type.Object(
          {
            setup_token: Type.String({ minLength: 1, maxLength: 200 }),
            org_name: Name,
            org_slug: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' })),
            email: Email,
            name: Name,
            password: Password,
          },
          { additionalProperties: false },
        ),
        response: { 201: SessionAnswer, ...problemResponses },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const session = await setup.setupWithToken(
        b.setup_token,
        {
          orgName: b.org_name,
          slug: b.org_slug,
          admin: { email: b.email, name: b.name, password: b.password },
        },
        req.headers['user-agent'] ?? null,
      );
      return reply.status(201).send(setSessionCookie(reply, session, cookieSecure));
    },
  );
}
