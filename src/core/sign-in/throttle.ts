/**
 * Sign-in throttling without lockouts (issue #18 item 3.2), after OWASP's Authentication Cheat
 * Sheet: instead of locking an account (which lets anyone who knows an email lock its owner out),
 * failures slow down the (account, client address) pair that makes them, with an exponentially
 * growing, capped delay, and each client address has a budget of failures across accounts.
 * Pure: the store and the clock live in features/auth/login-throttle.ts.
 */

export interface ThrottlePolicy {
  /** Failures of one (account, address) pair answered without any delay. */
  readonly freeFailures: number;
  /** The first delay, after `freeFailures` failures; each further failure doubles it. */
  readonly baseDelayMs: number;
  /** The longest delay. */
  readonly maxDelayMs: number;
}

/** How long the pair must wait for its next attempt after its `failures`-th failure (0: no wait). */
export function delayAfterFailure(failures: number, policy: ThrottlePolicy): number {
  if (!Number.isFinite(failures) || failures < policy.freeFailures) return 0;
  // 2^40 ms is far beyond any cap; the bound keeps the arithmetic finite.
  const doublings = Math.min(failures - policy.freeFailures, 40);
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** doublings);
}

/** The Retry-After value (whole seconds, at least 1) for a wait that ends at `untilMs`. */
export function retryAfterSeconds(untilMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((untilMs - nowMs) / 1000));
}
