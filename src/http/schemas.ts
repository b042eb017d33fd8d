/** Shared TypeBox schemas for the HTTP API (also the OpenAPI document). */
import { Type, type Static } from '@sinclair/typebox';
import { ROLES } from '../db/schema.js';

export const Uuid = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Uuid });
export type IdParams = Static<typeof IdParams>;

export const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
export const Password = Type.String({ minLength: 1, maxLength: 256 });
export const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
export const TotpCode = Type.String({ pattern: '^[0-9]{6}$' });
export const DateTime = Type.String({ format: 'date-time' });
export const NullableDateTime = Type.Union([DateTime, Type.Null()]);

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    code: Type.String(),
  },
  { additionalProperties: true, $id: 'Problem' },
);

export const problemResponses = {
  400: Type.Ref('Problem'),
  401: Type.Ref('Problem'),
  403: Type.Ref('Problem'),
  404: Type.Ref('Problem'),
  409: Type.Ref('Problem'),
  410: Type.Ref('Problem'),
  422: Type.Ref('Problem'),
  429: Type.Ref('Problem'),
  /** Any route: the database is briefly unreachable (code `unavailable`, with Retry-After). */
  503: Type.Ref('Problem', {
    description:
      'Temporarily unavailable (code `unavailable`): the database cannot be reached right now. Nothing was ' +
      'changed; send the request again after the Retry-After header (seconds).',
  }),
};

/** A member as the team view shows them: phone masked (DESIGN.md §3.7). */
export const MemberView = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  status: Type.Union([Type.Literal('active'), Type.Literal('deactivated')]),
  phone: Type.Union([Type.String(), Type.Null()]),
  /** The number was proved with a code; calls and SMS reach only a verified number. */
  phone_verified: Type.Boolean(),
  totp_enabled: Type.Boolean(),
  created_at: DateTime,
  deactivated_at: NullableDateTime,
  /** Only on your own profile: the IANA timezone the dashboard shows times in; null = the browser's. */
  timezone: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});

export const SessionAnswer = Type.Object({
  org_id: Uuid,
  member_id: Uuid,
  csrf_token: Type.String(),
  expires_at: DateTime,
});
