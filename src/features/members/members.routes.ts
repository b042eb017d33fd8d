import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf, SESSION_COOKIE } from '../../http/plugins/auth.js';
import {
  DateTime,
  Email,
  IdParams,
  MemberView,
  Name,
  Password,
  problemResponses,
  RoleSchema,
  SessionAnswer,
  Uuid,
} from '../../http/schemas.js';
import { memberView, setSessionCookie } from '../auth/auth.routes.js';
import type { Invite } from './invites.repository.js';
import type { MembersService } from './members.service.js';

const InviteView = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: RoleSchema,
  created_at: DateTime,
  expires_at: DateTime,
});
const inviteView = (i: Invite) => ({
  id: i.id,
  email: i.email,
  role: i.role,
  created_at: i.createdAt.toISOString(),
  expires_at: i.expiresAt.toISOString(),
});

export function membersRoutes(app: AppInstance, deps: { members: MembersService; cookieSecure: boolean }) {
  const { members, cookieSecure } = deps;
  const tags = ['team'];
  const view = (m: Parameters<typeof memberView>[0]) => memberView(m, { ownProfile: false });

  app.get(
    '/v1/admin/members',
    {
      config: { auth: 'session', role: 'viewer' },
      schema: {
        tags,
        summary: 'The team (phone numbers masked)',
        response: { 200: Type.Array(MemberView), ...problemResponses },
      },
    },
    async (req) => (await members.list(memberOf(req))).map(view),
  );

  app.patch(
    '/v1/admin/members/:id',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: "Change a member's role",
        params: IdParams,
        body: Type.Object({ role: RoleSchema }, { additionalProperties: false }),
        response: { 200: MemberView, ...problemResponses },
      },
    },
    async (req) => view(await members.changeRole(memberOf(req), req.params.id, req.body.role)),
  );

  for (const [action, summary] of [
    [
      'deactivate',
      'Deactivate a member: access revoked, sessions ended (their open long-polls and event streams close), row kept',
    ],
    ['reactivate', 'Reactivate a deactivated member'],
  ] as const) {
    app.post(
      `/v1/admin/members/:id/${action}`,
      {
        config: { auth: 'session', role: 'admin' },
        schema: { tags, summary, params: IdParams, response: { 200: MemberView, ...problemResponses } },
      },
      async (req) => view(await members[action](memberOf(req), req.params.id)),
    );
  }

  app.delete(
    '/v1/admin/members/:id',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary:
          'Delete a member: name, email, phone, linked chat and SSO identities, TOTP, sessions (their open long-polls and event streams close) and invites are erased; the id stays as a pseudonym so decisions and the audit chain stay intact',
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await members.erase(memberOf(req), req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/v1/me',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary:
          'Delete yourself from this organization (erased as DELETE /v1/admin/members/{id} does); the last admin cannot',
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await members.eraseSelf(memberOf(req));
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/admin/members/:id/totp-reset',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: "Clear a member's TOTP (lost device); their sessions end and they enrol again",
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await members.resetTotp(memberOf(req), req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/admin/invites',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'Invite someone; answers the single-use link (valid 7 days) to pass on',
        body: Type.Object({ email: Email, role: RoleSchema }, { additionalProperties: false }),
        response: {
          201: Type.Object({ invite: InviteView, url: Type.String(), token: Type.String() }),
          ...problemResponses,
        },
      },
    },
    async (req, reply) => {
      const r = await members.invite(memberOf(req), req.body);
      return reply.status(201).send({ invite: inviteView(r.invite), url: r.url, token: r.token });
    },
  );

  app.get(
    '/v1/admin/invites',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'Open invites',
        response: { 200: Type.Array(InviteView), ...problemResponses },
      },
    },
    async (req) => (await members.listInvites(memberOf(req))).map(inviteView),
  );

  app.delete(
    '/v1/admin/invites/:id',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'Revoke an open invite',
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await members.revokeInvite(memberOf(req), req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/invites/accept',
    {
      config: { auth: 'none' },
      schema: {
        tags,
        summary: 'Accept an invite: choose your name and password; signs you in',
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 200 }), name: Name, password: Password },
          { additionalProperties: false },
        ),
        response: { 201: SessionAnswer, ...problemResponses },
      },
    },
    async (req, reply) => {
      const session = await members.acceptInvite({
        ...req.body,
        userAgent: req.headers['user-agent'] ?? null,
        ip: req.ip,
      });
      return reply.status(201).send(setSessionCookie(reply, session, cookieSecure));
    },
  );
}
