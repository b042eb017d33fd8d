/**
 * WebAuthn challenges, pure (no I/O, no clock). A step-up challenge carries its binding: it is a
 * random nonce followed by SHA-256("ony-step-up\0" handoff id "\0" option), so the authenticator
 * signs over the very handoff and option being approved; the server also keeps the challenge's hash
 * with the same binding, its expiry and its single use (passkeys.repository.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const CHALLENGE_PURPOSES = ['register', 'sign_in', 'step_up'] as const;
export type ChallengePurpose = (typeof CHALLENGE_PURPOSES)[number];

/** How long a challenge may be answered: long enough to touch a key, short enough to be stale soon. */
export const CHALLENGE_TTL_MS = 2 * 60_000;

const NONCE_BYTES = 32;

const bindingOf = (handoffId: string, option: string): Buffer =>
  createHash('sha256').update(`ony-step-up\0${handoffId}\0${option}`, 'utf8').digest();

/** The challenge bytes for a purpose; a step-up challenge embeds its (handoff, option) binding. */
export function challengeBytes(
  nonce: Uint8Array,
  binding?: { readonly handoffId: string; readonly option: string },
): Buffer {
  if (nonce.length !== NONCE_BYTES) throw new Error(`a challenge nonce is ${NONCE_BYTES} bytes`);
  return binding === undefined
    ? Buffer.from(nonce)
    : Buffer.concat([nonce, bindingOf(binding.handoffId, binding.option)]);
}

export const NONCE_LENGTH = NONCE_BYTES;

/** True when a step-up challenge (base64url, as echoed in clientDataJSON) names this handoff and option. */
export function challengeBinds(challengeB64url: string, handoffId: string, option: string): boolean {
  const bytes = Buffer.from(challengeB64url, 'base64url');
  if (bytes.length !== NONCE_BYTES + 32) return false;
  return timingSafeEqual(bytes.subarray(NONCE_BYTES), bindingOf(handoffId, option));
}

/** The stored form of a challenge: its SHA-256 (the challenge itself is never kept). */
export const challengeHash = (challengeB64url: string): Buffer =>
  createHash('sha256').update(challengeB64url, 'utf8').digest();

/** Reads the challenge the browser echoed in clientDataJSON (base64url JSON); undefined if malformed. */
export function challengeOfClientData(clientDataJSON: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const c = (parsed as { challenge?: unknown }).challenge;
    return typeof c === 'string' && /^[A-Za-z0-9_-]{1,200}$/.test(c) ? c : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a stored challenge can still be answered at `now`. */
export function challengeUsable(
  c: { readonly expiresAt: Date; readonly usedAt: Date | null },
  now: Date,
): boolean {
  return c.usedAt === null && c.expiresAt.getTime() > now.getTime();
}
