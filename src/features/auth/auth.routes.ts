import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf, SESSION_COOKIE } from '../../http/plugins/auth.js';
import {
  DateTime,
  Email,
  MemberView,
  Name,
  NullableDateTime,
  Password,
  problemResponses,
  SessionAnswer,
  TotpCode,
  Uuid,
  IdParams,
} from '../../http/schemas.js';
import { AppError } from '../../lib/errors.js';
import { maskPhone } from '../../lib/phone.js';
import type { Member } from '../members/members.repository.js';
import { csrfTokenFor, type AuthService, type NewSession } from './auth.service.js';
import type { MembersService } from '../members/members.service.js';
import { AuthenticationResponse } from '../passkeys/passkeys.schemas.js';
import type { AuthenticationResponseJSON } from '../passkeys/passkeys.service.js';

export const memberView = (m: Member, opts: { ownProfile: boolean }) => ({
  id: m.id,
  email: m.email,
  name: m.name,
  role: m.role,
  status: m.status,
  phone: m.phone === null ? null : opts.ownProfile ? m.phone : maskPhone(m.phone),
  phone_verified: m.phoneVerified,
  totp_enabled: m.totpEnabled,
  created_at: m.createdAt.toISOString(),
  deactivated_at: m.deactivatedAt?.toISOString() ?? null,
  ...(opts.ownProfile && { timezone: m.timezone }),
});

export function setSessionCookie(reply: FastifyReply, session: NewSession, secure: boolean) {
  void reply.setCookie(SESSION_COOKIE, session.token, {
    httpOnly: true,
    secure,
    sameSite: 'lax',
    path: '/',
    expires: session.expiresAt,
  });
  return {
    org_id: session.orgId,
    member_id: session.memberId,
    csrf_token: session.csrfToken,
    expires_at: session.expiresAt.toISOString(),
  };
}

const userAgentOf = (req: FastifyRequest) => req.headers['user-agent'] ?? null;

export function authRoutes(
  app: AppInstance,
  deps: { auth: AuthService; members: Pick<MembersService, 'updateProfile'>; cookieSecure: boolean },
) {
  const { auth, members, cookieSecure } = deps;
  const tags = ['auth'];

  app.post(
    '/v1/auth/login',
    {
      config: { auth: 'none' },
      schema: {
        tags,
        summary:
          'Sign in with email and password (and a TOTP code, a recovery code or a passkey when enrolled)',
        description:
          'Failed sign-ins are throttled per (account, client address) and per client address, never per account alone (no lockout): after a few failures from one address, each further attempt must wait a growing, capped delay, and an address that failed on many accounts is refused for a while. While held, the answer is 429 problem+json with `Retry-After` (and `retry_after` in the body) and no password is checked. A successful sign-in clears its own (account, address) throttle; a password reset clears the account at every address.',
        body: Type.Object(
          {
            email: Email,
            password: Password,
            totp_code: Type.Optional(TotpCode),
            recovery_code: Type.Optional(Type.String({ minLength: 8, maxLength: 40 })),
            passkey: Type.Optional(AuthenticationResponse),
            org: Type.Optional(Type.String({ maxLength: 63 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: SessionAnswer, ...problemResponses },
      },
    },
    async (req, reply) => {
      const session = await auth
        .login({
          email: req.body.email,
          password: req.body.password,
          totpCode: req.body.totp_code,
          recoveryCode: req.body.recovery_code,
          passkey: req.body.passkey as AuthenticationResponseJSON | undefined,
          org: req.body.org,
          ip: req.ip,
          userAgent: userAgentOf(req),
        })
        .catch((err: unknown) => {
          // A throttled sign-in says how long to wait (the error handler keeps this header).
          const retry = err instanceof AppError ? err.extra?.retry_after : undefined;
          if (typeof retry === 'number') void reply.header('retry-after', String(retry));
          throw err;
        });
      return setSessionCookie(reply, session, cookieSecure);
    },
  );

  app.post(
    '/v1/auth/logout',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Sign out (ends this session and closes its open long-polls and event streams)',
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      await auth.logout(memberOf(req));
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/auth/session',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'The current session, with the CSRF token to send on writes',
        response: {
          200: Type.Object({ csrf_token: Type.String(), org_id: Uuid, member: MemberView }),
          ...problemResponses,
        },
      },
    },
    async (req) => {
      const p = memberOf(req);
      const me = await auth.me(p);
      return {
        csrf_token: csrfTokenFor(req.cookies[SESSION_COOKIE]!),
        org_id: p.orgId,
        member: memberView(me, { ownProfile: true }),
      };
    },
  );

  app.get(
    '/v1/auth/session/state',
    {
      config: { auth: 'none' },
      schema: {
        tags,
        summary:
          'Whether this browser is signed in, answered 200 either way (the dashboard probes it on load); when signed in, the same as GET /v1/auth/session',
        response: {
          200: Type.Union([
            Type.Object({ signed_in: Type.Literal(false) }),
            Type.Object({
              signed_in: Type.Literal(true),
              csrf_token: Type.String(),
              org_id: Uuid,
              member: MemberView,
            }),
          ]),
          ...problemResponses,
        },
      },
    },
    async (req) => {
      const token = req.cookies[SESSION_COOKIE];
      if (token === undefined || token === '') return { signed_in: false as const };
      let p;
      try {
        p = await auth.resolveSession(token);
      } catch (err) {
        // Signed out, expired or deactivated: all read as "not signed in"; anything else is an error.
        if (err instanceof AppError && err.status === 401) return { signed_in: false as const };
        throw err;
      }
      const me = await auth.me(p);
      return {
        signed_in: true as const,
        csrf_token: csrfTokenFor(token),
        org_id: p.orgId,
        member: memberView(me, { ownProfile: true }),
      };
    },
  );

  app.get(
    '/v1/me',
    {
      config: { auth: 'session' },
      schema: { tags, summary: 'Your own profile', response: { 200: MemberView, ...problemResponses } },
    },
    async (req) => memberView(await auth.me(memberOf(req)), { ownProfile: true }),
  );

  app.patch(
    '/v1/me',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: "Change your name, phone number (E.164) or timezone (IANA name; null = the browser's)",
        body: Type.Object(
          {
            name: Type.Optional(Name),
            phone: Type.Optional(Type.Union([Type.String({ maxLength: 16 }), Type.Null()])),
            timezone: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: MemberView, ...problemResponses },
      },
    },
    async (req) => memberView(await members.updateProfile(memberOf(req), req.body), { ownProfile: true }),
  );

  app.post(
    '/v1/me/password',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Change your password (ends your other sessions and closes their open streams)',
        body: Type.Object(
          { current_password: Password, new_password: Password },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await auth.changePassword(memberOf(req), req.body.current_password, req.body.new_password);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/me/totp',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Start TOTP enrolment: answers the secret and an otpauth:// URI (shown once)',
        response: {
          200: Type.Object({ secret: Type.String(), otpauth_uri: Type.String() }),
          ...problemResponses,
        },
      },
    },
    async (req) => {
      const r = await auth.startTotpEnrolment(memberOf(req));
      return { secret: r.secret, otpauth_uri: r.otpauthUri };
    },
  );

  app.post(
    '/v1/me/totp/confirm',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Finish TOTP enrolment with a first code; answers recovery codes (shown once)',
        body: Type.Object({ code: TotpCode }, { additionalProperties: false }),
        response: { 200: Type.Object({ recovery_codes: Type.Array(Type.String()) }), ...problemResponses },
      },
    },
    async (req) => ({ recovery_codes: await auth.confirmTotp(memberOf(req), req.body.code) }),
  );

  app.post(
    '/v1/me/totp/disable',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Turn your TOTP off (needs a current code or a recovery code)',
        body: Type.Object(
          {
            totp_code: Type.Optional(TotpCode),
            recovery_code: Type.Optional(Type.String({ minLength: 8, maxLength: 40 })),
          },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await auth.disableTotp(memberOf(req), {
        ...(req.body.totp_code !== undefined && { totpCode: req.body.totp_code }),
        ...(req.body.recovery_code !== undefined && { recoveryCode: req.body.recovery_code }),
      });
      return reply.status(204).send(null);
    },
  );

  const SessionView = Type.Object({
    id: Uuid,
    current: Type.Boolean(),
    created_at: DateTime,
    last_seen_at: DateTime,
    expires_at: DateTime,
    user_agent: Type.Union([Type.String(), Type.Null()]),
    revoked_at: NullableDateTime,
  });

  app.get(
    '/v1/me/sessions',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Your active sessions',
        response: { 200: Type.Array(SessionView), ...problemResponses },
      },
    },
    async (req) => {
      const p = memberOf(req);
      return (await auth.listSessions(p)).map((s) => ({
        id: s.id,
        current: s.id === p.sessionId,
        created_at: s.createdAt.toISOString(),
        last_seen_at: s.lastSeenAt.toISOString(),
        expires_at: (s.idleExpiresAt < s.absoluteExpiresAt
          ? s.idleExpiresAt
          : s.absoluteExpiresAt
        ).toISOString(),
        user_agent: s.userAgent,
        revoked_at: s.revokedAt?.toISOString() ?? null,
      }));
    },
  );

  app.delete(
    '/v1/me/sessions/:id',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Revoke one of your sessions (its open long-polls and event streams close)',
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await auth.revokeSession(memberOf(req), req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/me/sessions/revoke-others',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Sign out everywhere else (the open long-polls and event streams of those sessions close)',
        response: { 200: Type.Object({ revoked: Type.Integer() }), ...problemResponses },
      },
    },
    async (req) => ({ revoked: await auth.revokeOtherSessions(memberOf(req)) }),
  );
}
