/**
 * Passkey routes (docs/passkeys.md): a member's own passkeys (Account page), an admin's reset of a
 * member's passkeys, the first half of a passkey sign-in, and step-up options for a decision.
 * Finishing a sign-in is `POST /v1/auth/login` with `passkey`; approving with a passkey is
 * `POST /v1/handoffs/{id}/decision` with `passkey`.
 */
import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { Email, IdParams, Password, problemResponses } from '../../http/schemas.js';
import type { AuthService } from '../auth/auth.service.js';
import type { HandoffsService } from '../handoffs/handoffs.service.js';
import type { Passkey, PasskeysService, RegistrationResponseJSON } from './passkeys.service.js';
import { PasskeyName, PasskeyView, RegistrationResponse, WebAuthnOptions } from './passkeys.schemas.js';

const view = (k: Passkey) => ({
  id: k.id,
  name: k.name,
  created_at: k.createdAt.toISOString(),
  last_used_at: k.lastUsedAt?.toISOString() ?? null,
  transports: [...k.transports],
});

export function passkeysRoutes(
  app: AppInstance,
  deps: {
    passkeys: Pick<
      PasskeysService,
      'list' | 'registrationOptions' | 'register' | 'rename' | 'remove' | 'reset'
    >;
    auth: Pick<AuthService, 'passkeySignInOptions'>;
    handoffs: Pick<HandoffsService, 'passkeyStepUpOptions'>;
  },
) {
  const { passkeys, auth, handoffs } = deps;
  const tags = ['passkeys'];

  app.get(
    '/v1/me/passkeys',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Your passkeys (names and last use; never a key)',
        response: { 200: Type.Array(PasskeyView), ...problemResponses },
      },
    },
    async (req) => (await passkeys.list(memberOf(req))).map(view),
  );

  app.post(
    '/v1/me/passkeys/options',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Start adding a passkey: WebAuthn creation options with a fresh, single-use challenge',
        response: { 200: WebAuthnOptions, ...problemResponses },
      },
    },
    async (req) => passkeys.registrationOptions(memberOf(req)),
  );

  app.post(
    '/v1/me/passkeys',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: "Finish adding a passkey: the browser's registration answer and a name for it",
        body: Type.Object(
          { name: PasskeyName, response: RegistrationResponse },
          { additionalProperties: false },
        ),
        response: { 201: PasskeyView, ...problemResponses },
      },
    },
    async (req, reply) => {
      const key = await passkeys.register(
        memberOf(req),
        req.body.name.trim(),
        req.body.response as unknown as RegistrationResponseJSON,
      );
      return reply.status(201).send(view(key));
    },
  );

  app.patch(
    '/v1/me/passkeys/:id',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Rename one of your passkeys',
        params: IdParams,
        body: Type.Object({ name: PasskeyName }, { additionalProperties: false }),
        response: { 200: PasskeyView, ...problemResponses },
      },
    },
    async (req) => view(await passkeys.rename(memberOf(req), req.params.id, req.body.name.trim())),
  );

  app.delete(
    '/v1/me/passkeys/:id',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Remove one of your passkeys',
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await passkeys.remove(memberOf(req), req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/admin/members/:id/passkeys-reset',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'Remove every passkey of a member (lost device); audited, and they enrol again',
        params: IdParams,
        response: { 200: Type.Object({ removed: Type.Integer() }), ...problemResponses },
      },
    },
    async (req) => ({ removed: await passkeys.reset(memberOf(req), req.params.id) }),
  );

  app.post(
    '/v1/auth/login/passkey-options',
    {
      config: { auth: 'none' },
      schema: {
        tags,
        summary: 'Sign in with a passkey as the second factor, step 1: the password, then request options',
        description:
          'Checks the email and password (throttled like `POST /v1/auth/login`) and answers WebAuthn request options for your passkeys with a fresh challenge (single use, two minutes). Finish with `POST /v1/auth/login` and the same email and password plus `passkey`: the browser’s answer.',
        body: Type.Object(
          { email: Email, password: Password, org: Type.Optional(Type.String({ maxLength: 63 })) },
          { additionalProperties: false },
        ),
        response: { 200: WebAuthnOptions, ...problemResponses },
      },
    },
    async (req) =>
      auth.passkeySignInOptions({
        email: req.body.email,
        password: req.body.password,
        org: req.body.org,
        ip: req.ip,
      }),
  );

  app.post(
    '/v1/handoffs/:id/passkey-options',
    {
      config: { auth: 'session', role: 'member' },
      schema: {
        tags,
        summary: 'Approve with a passkey, step 1: request options bound to this handoff and option',
        description:
          'The challenge embeds the handoff id and the option, is stored server-side, single use and valid for two minutes. Finish with `POST /v1/handoffs/{id}/decision` and `passkey`: the browser’s answer.',
        params: IdParams,
        body: Type.Object(
          { decision: Type.String({ pattern: '^[a-z0-9_-]{1,32}$' }) },
          { additionalProperties: false },
        ),
        response: { 200: WebAuthnOptions, ...problemResponses },
      },
    },
    async (req) => handoffs.passkeyStepUpOptions(memberOf(req), req.params.id, req.body.decision),
  );
}
