/** JSON schemas of the WebAuthn objects the browser sends (as @simplewebauthn/browser encodes them). */
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, NullableDateTime, Uuid } from '../../http/schemas.js';

const B64url = (max: number) => Type.String({ minLength: 1, maxLength: max, pattern: '^[A-Za-z0-9_-]+$' });

/** Known fields are checked; fields a newer browser adds pass through to the verifier. */
const Extensions = Type.Object({}, { additionalProperties: true, maxProperties: 20 });

export const RegistrationResponse = Type.Object(
  {
    id: B64url(1400),
    rawId: B64url(1400),
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: B64url(4000),
        attestationObject: B64url(20_000),
        transports: Type.Optional(Type.Array(Type.String({ maxLength: 20 }), { maxItems: 8 })),
        authenticatorData: Type.Optional(B64url(4000)),
        publicKey: Type.Optional(B64url(4000)),
        publicKeyAlgorithm: Type.Optional(Type.Integer()),
      },
      { additionalProperties: true, maxProperties: 20 },
    ),
    clientExtensionResults: Extensions,
    authenticatorAttachment: Type.Optional(Type.String({ maxLength: 20 })),
  },
  { additionalProperties: true, maxProperties: 20 },
);

export const AuthenticationResponse = Type.Object(
  {
    id: B64url(1400),
    rawId: B64url(1400),
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: B64url(4000),
        authenticatorData: B64url(4000),
        signature: B64url(2000),
        userHandle: Type.Optional(B64url(200)),
      },
      { additionalProperties: true, maxProperties: 20 },
    ),
    clientExtensionResults: Extensions,
    authenticatorAttachment: Type.Optional(Type.String({ maxLength: 20 })),
  },
  { additionalProperties: true, maxProperties: 20 },
);
export type AuthenticationResponse = Static<typeof AuthenticationResponse>;

/** WebAuthn creation or request options, passed to the browser's `navigator.credentials` as they are. */
export const WebAuthnOptions = Type.Object({ challenge: Type.String() }, { additionalProperties: true });

export const PasskeyName = Type.String({ minLength: 1, maxLength: 64, pattern: '\\S' });

export const PasskeyView = Type.Object({
  id: Uuid,
  name: Type.String(),
  created_at: DateTime,
  last_used_at: NullableDateTime,
  transports: Type.Array(Type.String()),
});
