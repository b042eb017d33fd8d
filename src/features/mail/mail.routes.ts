import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import {
  DateTime,
  Email,
  MemberView,
  NullableDateTime,
  Password,
  problemResponses,
  Uuid,
} from '../../http/schemas.js';
import { MAIL_KINDS } from '../../core/mail/templates.js';
import { MAIL_ERROR_CLASSES } from '../../channels/email/transport.js';
import { memberView } from '../auth/auth.routes.js';
import type { AccountMailService } from './account-mail.service.js';
import { DELIVERY_STATUSES, type MailDelivery } from './mail.repository.js';
import type { MailService } from './mail.service.js';

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

const DeliveryView = Type.Object({
  id: Uuid,
  kind: literals(MAIL_KINDS),
  member_id: Type.Union([Uuid, Type.Null()]),
  recipient: Type.String({ description: 'the address, masked' }),
  status: literals(DELIVERY_STATUSES),
  attempts: Type.Integer(),
  max_attempts: Type.Integer(),
  last_error: Type.Union([literals(MAIL_ERROR_CLASSES), Type.Null()]),
  created_at: DateTime,
  updated_at: DateTime,
  sent_at: NullableDateTime,
});

const deliveryView = (d: MailDelivery) => ({
  id: d.id,
  kind: d.kind,
  member_id: d.memberId,
  recipient: d.recipient,
  status: d.status,
  attempts: d.attempts,
  max_attempts: d.maxAttempts,
  last_error: d.lastError,
  created_at: d.createdAt.toISOString(),
  updated_at: d.updatedAt.toISOString(),
  sent_at: d.sentAt?.toISOString() ?? null,
});

/** The one answer to every password reset request, whatever the address. */
export const RESET_ANSWER = {
  status: 'accepted',
  detail: 'If this address belongs to an account, a reset link is on its way. It works once, for 30 minutes.',
} as const;

export function mailRoutes(
  app: AppInstance,
  deps: { mail: Pick<MailService, 'enabled' | 'list'>; accountMail: AccountMailService },
) {
  const { mail, accountMail } = deps;

  app.get(
    '/v1/admin/mail',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags: ['team'],
        summary: 'Mail deliveries of the org (state only: no subject, no body, addresses masked)',
        querystring: Type.Object(
          {
            status: Type.Optional(literals(DELIVERY_STATUSES)),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ enabled: Type.Boolean(), deliveries: Type.Array(DeliveryView) }),
          ...problemResponses,
        },
      },
    },
    async (req) => ({
      enabled: mail.enabled,
      deliveries: (await mail.list(memberOf(req), req.query)).map(deliveryView),
    }),
  );

  app.post(
    '/v1/auth/password-reset',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['auth'],
        summary: 'Ask for a password reset link by mail (the same answer for every address)',
        security: [],
        body: Type.Object(
          { email: Email, org: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })) },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ status: Type.Literal('accepted'), detail: Type.String() }),
          ...problemResponses,
        },
      },
    },
    async (req, reply) => {
      await accountMail.requestPasswordReset({ email: req.body.email, org: req.body.org, ip: req.ip });
      return reply.status(202).send(RESET_ANSWER);
    },
  );

  app.post(
    '/v1/auth/password-reset/confirm',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['auth'],
        summary:
          'Choose a new password with the link from the reset mail (ends every session, closes their open streams, and clears the sign-in throttle of the account)',
        security: [],
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 200 }), password: Password },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await accountMail.confirmPasswordReset(req.body);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/me/email',
    {
      config: { auth: 'session' },
      schema: {
        tags: ['auth'],
        summary: 'Change your sign-in address: sends a confirmation link to the new address',
        body: Type.Object({ email: Email }, { additionalProperties: false }),
        response: {
          202: Type.Object({ sent_to: Type.String(), expires_at: DateTime }),
          ...problemResponses,
        },
      },
    },
    async (req, reply) => {
      const r = await accountMail.requestEmailChange(memberOf(req), req.body.email);
      return reply.status(202).send({ sent_to: r.sentTo, expires_at: r.expiresAt.toISOString() });
    },
  );

  app.post(
    '/v1/me/email/confirm',
    {
      config: { auth: 'session' },
      schema: {
        tags: ['auth'],
        summary: 'Confirm your new address with the link it received (signed in as yourself)',
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 200 }) },
          { additionalProperties: false },
        ),
        response: { 200: MemberView, ...problemResponses },
      },
    },
    async (req) =>
      memberView(await accountMail.confirmEmailChange(memberOf(req), req.body.token), { ownProfile: true }),
  );
}
