import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { problemResponses } from '../../http/schemas.js';
import type { OrgChannelsService } from './org-channels.service.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Source = Type.Union([Type.Literal('own'), Type.Literal('server'), Type.Literal('none')], {
  description: "own: this org's credentials; server: the operator's configuration (the fallback); none",
});

const OwnChannelsAnswer = Type.Object({
  telegram: Type.Object({
    source: Source,
    bot_username: Nullable(Type.String()),
    mode: Type.Union([Type.Literal('webhook'), Type.Literal('polling')]),
    webhook_url: Nullable(Type.String()),
    updated_at: Nullable(Type.String()),
  }),
  telephony: Type.Object({
    source: Source,
    provider: Nullable(Type.String()),
    from_masked: Nullable(Type.String()),
    sms_webhook_url: Nullable(Type.String()),
    updated_at: Nullable(Type.String()),
  }),
});

const Secret = (description: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: 500, description }));

const TelephonyBody = Type.Object(
  {
    provider: Type.Union(['twilio', 'signalwire', 'telnyx', 'plivo'].map((p) => Type.Literal(p))),
    from: Type.String({ minLength: 1, maxLength: 20, description: 'the caller id and SMS sender, E.164' }),
    account_sid: Secret('twilio'),
    auth_token: Secret('twilio, plivo; write-only'),
    auth_id: Secret('plivo'),
    project_id: Secret('signalwire'),
    api_token: Secret('signalwire; write-only'),
    space: Secret('signalwire: the <space> of <space>.signalwire.com'),
    signing_key: Secret('signalwire; write-only'),
    api_key: Secret('telnyx; write-only'),
    public_key: Secret('telnyx: the base64 Ed25519 public key'),
    texml_app_id: Secret('telnyx'),
    messaging_profile_id: Secret('telnyx, optional'),
  },
  { additionalProperties: false },
);

export function orgChannelsRoutes(app: AppInstance, deps: { orgChannels: OrgChannelsService }) {
  const { orgChannels } = deps;
  const tags = ['channels'];
  const admin = { auth: 'session', role: 'admin' } as const;

  app.get(
    '/v1/admin/channels/own',
    {
      config: admin,
      schema: {
        tags,
        summary:
          "Which Telegram bot and phone account the org uses: its own or the server's (never a credential)",
        response: { 200: OwnChannelsAnswer, ...problemResponses },
      },
    },
    async (req) => orgChannels.view(memberOf(req)),
  );

  app.put(
    '/v1/admin/channels/own/telegram',
    {
      config: admin,
      schema: {
        tags,
        summary:
          "Set or replace the org's own Telegram bot: checked with getMe (and setWebhook in webhook mode) before it is stored encrypted; write-only",
        body: Type.Object(
          {
            bot_token: Type.String({
              minLength: 1,
              maxLength: 200,
              description: 'from @BotFather; write-only',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 200: OwnChannelsAnswer, ...problemResponses },
      },
    },
    async (req) => {
      const p = memberOf(req);
      await orgChannels.setTelegram(p, req.body.bot_token);
      return orgChannels.view(p);
    },
  );

  app.put(
    '/v1/admin/channels/own/telephony',
    {
      config: admin,
      schema: {
        tags,
        summary:
          "Set or replace the org's own telephony account: checked against the provider's account endpoint before it is stored encrypted; write-only",
        body: TelephonyBody,
        response: { 200: OwnChannelsAnswer, ...problemResponses },
      },
    },
    async (req) => {
      const p = memberOf(req);
      await orgChannels.setTelephony(p, req.body);
      return orgChannels.view(p);
    },
  );

  app.delete(
    '/v1/admin/channels/own/:kind',
    {
      config: admin,
      schema: {
        tags,
        summary: "Remove the org's own bot or account: the server's configuration applies again",
        params: Type.Object({ kind: Type.Union([Type.Literal('telegram'), Type.Literal('telephony')]) }),
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      await orgChannels.remove(memberOf(req), req.params.kind);
      return reply.status(204).send(null);
    },
  );
}
