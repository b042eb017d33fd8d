/**
 * Phone ownership (`/v1/me/phone/verification`) and a handoff's call records
 * (`/v1/handoffs/{id}/calls`). The provider webhooks are in `http/webhooks/telephony.ts`.
 */
import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { DateTime, MemberView, problemResponses, Uuid } from '../../http/schemas.js';
import { memberView } from '../auth/auth.routes.js';
import type { CallRecordsService } from './call-records.service.js';
import type { PhoneVerificationService } from './phone-verification.service.js';

const CallView = Type.Object({
  id: Uuid,
  member_id: Uuid,
  provider: Type.String(),
  provider_call_id: Type.String(),
  phone: Type.String({ description: 'masked, e.g. +1•••••••4567' }),
  status: Type.String({ description: 'completed, busy, no_answer, failed or canceled' }),
  duration_s: Type.Union([Type.Integer(), Type.Null()]),
  outcome: Type.String({
    description:
      'approved, denied, recorded (a quorum vote), refused, no_input, voicemail, totp_failed, hung_up or not_answered',
  }),
  ended_at: DateTime,
});

export function telephonyRoutes(
  app: AppInstance,
  deps: {
    verification: PhoneVerificationService;
    callRecords: CallRecordsService;
  },
) {
  const { verification, callRecords } = deps;
  const tags = ['phone'];

  app.post(
    '/v1/me/phone/verification',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary:
          'Send a 6-digit code to my phone number by SMS or a call (valid 15 minutes, at most one a minute)',
        body: Type.Object(
          { via: Type.Union([Type.Literal('sms'), Type.Literal('call')]) },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ via: Type.String(), expires_at: DateTime }),
          ...problemResponses,
        },
      },
    },
    async (req, reply) => {
      const { expiresAt } = await verification.request(memberOf(req), req.body.via);
      return reply.status(202).send({ via: req.body.via, expires_at: expiresAt.toISOString() });
    },
  );

  app.post(
    '/v1/me/phone/verification/confirm',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Prove my phone number with the code; calls and SMS reach only a verified number',
        body: Type.Object(
          { code: Type.String({ pattern: '^[0-9]{6}$', description: 'the 6-digit code' }) },
          { additionalProperties: false },
        ),
        response: { 200: MemberView, ...problemResponses },
      },
    },
    async (req) => memberView(await verification.confirm(memberOf(req), req.body.code), { ownProfile: true }),
  );

  app.get(
    '/v1/handoffs/:id/calls',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'The phone calls made for a handoff: masked number, status, duration, outcome (no audio)',
        params: Type.Object({ id: Uuid }),
        response: { 200: Type.Array(CallView), ...problemResponses },
      },
    },
    async (req) => {
      const calls = await callRecords.forHandoff(memberOf(req), req.params.id);
      return calls.map((c) => ({
        id: c.id,
        member_id: c.memberId,
        provider: c.provider,
        provider_call_id: c.providerCallId,
        phone: c.phoneMasked,
        status: c.status,
        duration_s: c.durationS,
        outcome: c.outcome,
        ended_at: c.endedAt.toISOString(),
      }));
    },
  );
}
