/** Password hashing with argon2id (@node-rs/argon2). */
import { hash, verify } from '@node-rs/argon2';
import { AppError } from '../../lib/errors.js';

// @node-rs/argon2 defaults to argon2id; these are OWASP's minimum parameters (19 MiB, t=2, p=1).
const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

export function assertPasswordPolicy(password: string): void {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new AppError(
      'validation_failed',
      `password must be between ${PASSWORD_MIN} and ${PASSWORD_MAX} characters`,
    );
  }
}

export const hashPassword = (password: string): Promise<string> => hash(password, OPTIONS);

/** A hash of a random password: verifying against it costs the same as a real one (no timing oracle). */
let dummyHash: Promise<string> | undefined;

export async function verifyPassword(storedHash: string | null, password: string): Promise<boolean> {
  if (storedHash === null) {
    dummyHash ??= hashPassword(`dummy-${Math.random()}`);
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  return verify(storedHash, password).catch(() => false);
}
