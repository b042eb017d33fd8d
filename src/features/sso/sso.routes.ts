import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { DateTime, RoleSchema, Uuid, problemResponses } from '../../http/schemas.js';
import { setSessionCookie } from '../auth/auth.routes.js';
import type { SsoConfigService, SsoConfigView } from './sso-config.service.js';
import { SSO_FLOW_COOKIE, SSO_FLOW_TTL_SECONDS, type SsoService } from './sso.service.js';

const RoleMapping = Type.Array(
  Type.Object(
    { group: Type.String({ minLength: 1, maxLength: 200 }), role: RoleSchema },
    { additionalProperties: false },
  ),
  { maxItems: 100 },
);

const SsoConfigAnswer = Type.Object({
  issuer: Type.String(),
  client_id: Type.String(),
  /** Always true: the secret is write-only and never answered back. */
  client_secret_set: Type.Literal(true),
  display_name: Type.String(),
  allowed_domains: Type.Array(Type.String()),
  groups_claim: Type.String(),
  role_mapping: RoleMapping,
  default_role: Type.Union([RoleSchema, Type.Null()]),
  jit_provisioning: Type.Boolean(),
  require_sso: Type.Boolean(),
  break_glass_admins: Type.Array(Uuid),
  redirect_uri: Type.String({ description: 'register this redirect URI at the identity provider' }),
  updated_at: DateTime,
});

const SsoConfigBody = Type.Object(
  {
    issuer: Type.String({ minLength: 8, maxLength: 500, description: 'OpenID issuer URL (discovery)' }),
    client_id: Type.String({ minLength: 1, maxLength: 255 }),
    client_secret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1000,
        description: 'write-only; required the first time, omit to keep the stored one',
      }),
    ),
    display_name: Type.String({ minLength: 1, maxLength: 60, pattern: '\\S' }),
    allowed_domains: Type.Array(Type.String({ minLength: 1, maxLength: 254 }), { minItems: 1, maxItems: 50 }),
    groups_claim: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    role_mapping: Type.Optional(RoleMapping),
    default_role: Type.Optional(Type.Union([RoleSchema, Type.Null()])),
    jit_provisioning: Type.Optional(Type.Boolean()),
    require_sso: Type.Optional(Type.Boolean()),
    break_glass_admins: Type.Optional(Type.Array(Uuid, { maxItems: 20 })),
  },
  { additionalProperties: false },
);

const view = (c: SsoConfigView) => ({
  issuer: c.issuer,
  client_id: c.clientId,
  client_secret_set: true as const,
  display_name: c.displayName,
  allowed_domains: [...c.allowedDomains],
  groups_claim: c.groupsClaim,
  role_mapping: c.roleMapping.map((m) => ({ group: m.group, role: m.role })),
  default_role: c.defaultRole,
  jit_provisioning: c.jitProvisioning,
  require_sso: c.requireSso,
  break_glass_admins: [...c.breakGlassAdmins],
  redirect_uri: c.redirectUri,
  updated_at: c.updatedAt.toISOString(),
});

const SlugParams = Type.Object({ slug: Type.String({ minLength: 1, maxLength: 63 }) });

export function ssoRoutes(
  app: AppInstance,
  deps: { sso: SsoService; ssoConfig: SsoConfigService; cookieSecure: boolean },
) {
  const { sso, ssoConfig, cookieSecure } = deps;
  const tags = ['sso'];

  app.get(
    '/v1/admin/sso',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary:
          "The org's OpenID Connect single sign-on configuration (the client secret is never answered)",
        response: { 200: SsoConfigAnswer, ...problemResponses },
      },
    },
    async (req) => view(await ssoConfig.get(memberOf(req))),
  );

  app.put(
    '/v1/admin/sso',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'Configure single sign-on (checked with OpenID discovery before it is saved)',
        body: SsoConfigBody,
        response: { 200: SsoConfigAnswer, ...problemResponses },
      },
    },
    async (req) => {
      const b = req.body;
      return view(
        await ssoConfig.put(memberOf(req), {
          issuer: b.issuer,
          clientId: b.client_id,
          clientSecret: b.client_secret,
          displayName: b.display_name,
          allowedDomains: b.allowed_domains,
          groupsClaim: b.groups_claim ?? 'groups',
          roleMapping: b.role_mapping ?? [],
          defaultRole: b.default_role ?? null,
          jitProvisioning: b.jit_provisioning ?? false,
          requireSso: b.require_sso ?? false,
          breakGlassAdmins: b.break_glass_admins ?? [],
        }),
      );
    },
  );

  app.delete(
    '/v1/admin/sso',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'Remove single sign-on (password sign-in is open to everyone again)',
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await ssoConfig.remove(memberOf(req));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/auth/sso/callback',
    {
      config: { auth: 'none' },
      schema: {
        tags,
        summary: 'Where the identity provider sends the browser back: signs in and redirects to /',
        security: [],
        querystring: Type.Object(
          {
            code: Type.Optional(Type.String({ maxLength: 4096 })),
            state: Type.Optional(Type.String({ maxLength: 1024 })),
            iss: Type.Optional(Type.String({ maxLength: 500 })),
            error: Type.Optional(Type.String({ maxLength: 200 })),
            error_description: Type.Optional(Type.String({ maxLength: 1000 })),
            session_state: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: { 302: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
      const cookie = req.cookies[SSO_FLOW_COOKIE];
      // The flow cookie is single-use whatever happens next.
      void reply.clearCookie(SSO_FLOW_COOKIE, { path: '/v1/auth/sso' });
      const session = await sso.callback({
        query,
        cookie,
        userAgent: req.headers['user-agent'] ?? null,
        ip: req.ip,
      });
      setSessionCookie(reply, session, cookieSecure);
      return reply.redirect('/', 302);
    },
  );

  app.get(
    '/v1/auth/sso/:slug',
    {
      config: { auth: 'none' },
      schema: {
        tags,
        summary: 'Whether an org signs in with SSO, and the provider name for the "Sign in with" button',
        security: [],
        params: SlugParams,
        response: {
          200: Type.Object({
            configured: Type.Boolean(),
            display_name: Type.Union([Type.String(), Type.Null()]),
            required: Type.Boolean(),
            start_url: Type.Union([Type.String(), Type.Null()]),
          }),
          ...problemResponses,
        },
      },
    },
    async (req) => {
      const info = await sso.publicInfo(req.params.slug);
      return info === undefined
        ? { configured: false, display_name: null, required: false, start_url: null }
        : {
            configured: true,
            display_name: info.displayName,
            required: info.required,
            start_url: `/v1/auth/sso/${encodeURIComponent(req.params.slug)}/start`,
          };
    },
  );

  app.get(
    '/v1/auth/sso/:slug/start',
    {
      config: { auth: 'none' },
      schema: {
        tags,
        summary: "Start signing in with the org's identity provider (redirects there)",
        security: [],
        params: SlugParams,
        response: { 302: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      const { url, cookie } = await sso.start(req.params.slug);
      void reply.setCookie(SSO_FLOW_COOKIE, cookie, {
        httpOnly: true,
        secure: cookieSecure,
        // Lax: the provider's redirect back is a top-level GET navigation, which carries it.
        sameSite: 'lax',
        path: '/v1/auth/sso',
        maxAge: SSO_FLOW_TTL_SECONDS,
      });
      return reply.redirect(url, 302);
    },
  );
}
