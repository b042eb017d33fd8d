/**
 * Retries for calls to a chat provider (Slack, Telegram): on 429 and 5xx answers and network
 * errors, with exponential backoff and jitter, honouring the provider's Retry-After, and bounded
 * both in attempts and in total time, so an outage delays a job by seconds, never blocks it. Each
 * provider says which of its errors are worth retrying (`classify`); everything else fails at once
 * (a 4xx, `msg_too_long`, `channel_not_found`: trying again cannot help).
 */

export interface RetryPolicy {
  /** Calls in all, the first included. */
  readonly attempts: number;
  /** Backoff before the second call; doubled each time, with jitter. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** No wait may end later than this after the first call started; a longer Retry-After gives up. */
  readonly maxTotalMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  attempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxTotalMs: 30_000,
});

/** What a provider error means for a retry: not at all, or after the provider's own delay if it gave one. */
export type RetryVerdict = { readonly retry: false } | { readonly retry: true; readonly afterMs?: number };

export interface RetryHooks {
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** In [0, 1); jitter scales the backoff by 0.5–1. */
  readonly random?: () => number;
  /** Told before each wait (for logs and metrics). */
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retry-After as an HTTP header gives it: delta-seconds or an HTTP date. Undefined when unusable. */
export function parseRetryAfter(
  value: string | number | undefined | null,
  nowMs: number,
): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** The usual verdict for an HTTP status: 429 and 5xx are worth another try, nothing else is. */
export function verdictForStatus(status: number, retryAfterMs?: number): RetryVerdict {
  if (status === 429 || status >= 500) {
    return retryAfterMs === undefined ? { retry: true } : { retry: true, afterMs: retryAfterMs };
  }
  return { retry: false };
}

export async function withRetry<T>(
  call: (attempt: number) => Promise<T>,
  classify: (error: unknown) => RetryVerdict,
  policy: RetryPolicy = DEFAULT_RETRY,
  hooks: RetryHooks = {},
): Promise<T> {
  const sleep = hooks.sleep ?? defaultSleep;
  const now = hooks.now ?? Date.now;
  const random = hooks.random ?? Math.random;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt);
    } catch (error) {
      if (attempt >= policy.attempts) throw error;
      const verdict = classify(error);
      if (!verdict.retry) throw error;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const jittered = Math.round(backoff * (0.5 + random() / 2));
      // The provider's Retry-After is a floor: calling earlier only earns another 429.
      const delayMs = Math.max(jittered, verdict.afterMs ?? 0);
      if (now() - started + delayMs > policy.maxTotalMs) throw error;
      hooks.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}
