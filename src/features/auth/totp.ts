/** TOTP (RFC 6238) through otplib: 6 digits, 30 s, ±1 step tolerance, replay refused by time step. */
import { generateSecret, generateURI, verifySync } from 'otplib';

const PERIOD = 30;

export const newTotpSecret = (): string => generateSecret();

export const totpUri = (secret: string, issuer: string, label: string): string =>
  generateURI({ issuer, label, secret });

/**
 * Checks a code at `now`; answers the time step it matched, or undefined. A step at or before
 * `lastStep` is refused, so a code cannot be used twice.
 */
export function checkTotp(
  secret: string,
  code: string,
  now: Date,
  lastStep: number | null,
): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const epoch = Math.floor(now.getTime() / 1000);
  const currentStep = Math.floor(epoch / PERIOD);
  const result = verifySync({
    secret,
    token: code,
    epoch,
    period: PERIOD,
    epochTolerance: PERIOD,
    // otplib refuses an afterTimeStep beyond the window; a stored step that far ahead means no code passes.
    ...(lastStep !== null && lastStep <= currentStep + 1 ? { afterTimeStep: lastStep } : {}),
  });
  if (!result.valid || !('timeStep' in result)) return undefined;
  if (lastStep !== null && result.timeStep <= lastStep) return undefined;
  return result.timeStep;
}
