/**
 * The browser half of passkeys (docs/passkeys.md): @simplewebauthn/browser runs the WebAuthn
 * ceremony with the options the server issued; this module only moves JSON between the two.
 * Bundled with the dashboard: no third-party origin, the CSP stays as it is.
 */
import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import { api } from './api';

export const passkeysSupported = (): boolean => browserSupportsWebAuthn();

/** A passkey as GET /v1/me/passkeys lists it. */
export interface PasskeyRow {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  transports: string[];
}

/** Creates a passkey on this device and registers it under `name`. */
export async function addPasskey(name: string): Promise<PasskeyRow> {
  const optionsJSON = await api<PublicKeyCredentialCreationOptionsJSON>('POST', '/v1/me/passkeys/options');
  const response = await startRegistration({ optionsJSON });
  return api<PasskeyRow>('POST', '/v1/me/passkeys', { name, response });
}

/** Asks the authenticator to answer request options (sign-in or step-up). */
export function answer(
  optionsJSON: PublicKeyCredentialRequestOptionsJSON,
): Promise<AuthenticationResponseJSON> {
  return startAuthentication({ optionsJSON });
}

/** A cancelled or timed-out browser prompt, said plainly. */
export function ceremonyText(err: unknown): string | null {
  if (err instanceof Error && (err.name === 'NotAllowedError' || err.name === 'AbortError'))
    return 'The passkey prompt was cancelled or timed out. Try again.';
  if (err instanceof Error && err.name === 'InvalidStateError')
    return 'This device already holds one of your passkeys.';
  return null;
}
